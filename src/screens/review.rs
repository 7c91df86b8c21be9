//! The review queue: a squad leader's submissions to decide, or the
//! brigade's escalated ones. Filters by kind, flags and state; batch
//! approval, one decision per selected item; and per item only the actions
//! `redvest_proto::review::transition` allows: approve, reject with a
//! reason, escalate, assign to a member, resolve. Decision conflicts are
//! shown to both reviewers.

use std::collections::BTreeSet;

use dioxus::prelude::*;
use redvest_proto::review::{transition, Action, ReviewState, Reviewer};
use redvest_proto::wire::{Member, Role, Site};
use redvest_proto::RecordBody;
use uuid::Uuid;

use crate::backend::QueueItem;
use crate::components::ConflictNotice;
use crate::error_text::error_text;
use crate::i18n::Msg;
use crate::screens::review_card::ReviewCard;
use crate::screens::submissions::kind_label;
use crate::state::{use_app, AppState};

/// The id of the batch approve button.
pub const APPROVE_SELECTED_ID: &str = "approve-selected";

/// A kind of submission the queue can be narrowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindFilter {
    Lead,
    ClockIn,
    Patrol,
}

impl KindFilter {
    pub const ALL: [KindFilter; 3] = [KindFilter::Lead, KindFilter::ClockIn, KindFilter::Patrol];

    fn matches(self, body: &RecordBody) -> bool {
        matches!(
            (self, body),
            (KindFilter::Lead, RecordBody::Lead(_))
                | (KindFilter::ClockIn, RecordBody::ClockIn(_))
                | (KindFilter::Patrol, RecordBody::PatrolStop(_))
        )
    }

    fn label(self) -> Msg {
        match self {
            KindFilter::Lead => Msg::KindLead,
            KindFilter::ClockIn => Msg::KindClockIn,
            KindFilter::Patrol => Msg::KindPatrol,
        }
    }
}

/// The queue's filters; `None` lets everything through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueFilter {
    pub kind: Option<KindFilter>,
    pub flagged_only: bool,
    pub state: Option<ReviewState>,
}

impl QueueFilter {
    /// Tells whether an item passes every filter.
    pub fn accepts(&self, item: &QueueItem) -> bool {
        let kind_ok = self.kind.is_none_or(|kind| kind.matches(&item.record.body));
        let flag_ok = !self.flagged_only || !item.review.flags.is_empty();
        let state_ok = self.state.is_none_or(|state| state == item.review.state);
        kind_ok && flag_ok && state_ok
    }
}

/// The kind of a decision, without its reason or note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Approve,
    Reject,
    Escalate,
    Assign,
    Resolve,
}

impl ActionKind {
    const ALL: [ActionKind; 5] = [
        ActionKind::Approve,
        ActionKind::Reject,
        ActionKind::Escalate,
        ActionKind::Assign,
        ActionKind::Resolve,
    ];

    /// Builds a sample action of this kind that passes the text checks, so
    /// that only the state and the reviewer decide whether it is allowed.
    fn sample(self) -> Action {
        match self {
            ActionKind::Approve => Action::Approve,
            ActionKind::Reject => Action::Reject { reason: "-".into() },
            ActionKind::Escalate => Action::Escalate { reason: None },
            ActionKind::Assign => Action::Assign {
                member_id: Uuid::nil(),
                note: None,
            },
            ActionKind::Resolve => Action::Resolve {
                note: "-".into(),
                photo_sha256: None,
            },
        }
    }
}

/// Returns the actions a reviewer may take on a submission in `state`.
pub fn offered_actions(state: ReviewState, reviewer: Reviewer) -> Vec<ActionKind> {
    ActionKind::ALL
        .into_iter()
        .filter(|kind| transition(state, &kind.sample(), reviewer).is_ok())
        .collect()
}

/// Returns the role a member reviews an item in, as the store judges it.
pub fn reviewer_for(member: &Member, item: &QueueItem) -> Reviewer {
    if item.review.assignee_id == Some(member.id) {
        return Reviewer::Assignee;
    }
    match member.role {
        Role::SquadLeader => Reviewer::SquadLeader,
        Role::Brigade => Reviewer::Brigade,
        Role::Volunteer => Reviewer::Assignee,
    }
}

/// Names a decision's action (`approve`, `reject`, …) in the display language.
pub fn action_label(app: &AppState, action: &str) -> String {
    let key = match action {
        "approve" => Msg::Approve,
        "reject" => Msg::Reject,
        "escalate" => Msg::Escalate,
        "assign" => Msg::Assign,
        "resolve" => Msg::Resolve,
        other => return other.to_owned(),
    };
    app.t(key).to_owned()
}

#[component]
pub fn ReviewQueue() -> Element {
    let app = use_app();
    let mut refresh = use_signal(|| 0u32);
    let filter = use_signal(QueueFilter::default);
    let mut selected = use_signal(BTreeSet::<Uuid>::new);
    let mut message = use_signal(|| None::<(bool, String)>);
    let items = use_resource(move || async move {
        let _ = (refresh(), (app.sync)());
        app.backend().review_queue().await
    });
    let conflicts = use_resource(move || async move {
        let _ = (refresh(), (app.sync)());
        app.backend().review_conflicts().await.unwrap_or_default()
    });
    let members = use_resource(move || async move {
        let _ = (app.sync)();
        app.backend().assignable_members().await.unwrap_or_default()
    });
    let sites = use_resource(move || async move {
        let _ = (app.sync)();
        app.backend().sites().await.unwrap_or_default()
    });
    let Some(member) = (app.member)() else {
        return rsx! {};
    };

    let approve_selected = move |_| async move {
        let chosen: Vec<Uuid> = selected.read().iter().copied().collect();
        let mut approved = 0;
        for subject_id in chosen {
            match app.backend().decide(subject_id, Action::Approve).await {
                Ok(decision_id) => {
                    approved += 1;
                    tracing::info!(%subject_id, %decision_id, "approved in a batch");
                }
                Err(error) => {
                    tracing::warn!(%subject_id, %error, "batch approval failed");
                    message.set(Some((false, error_text((app.lang)(), &error))));
                }
            }
        }
        selected.write().clear();
        if approved > 0 {
            let count = ("count", approved.to_string());
            message.set(Some((true, app.tf(Msg::BatchApproved, &[count]))));
        }
        refresh += 1;
        app.refresh_sync().await;
    };

    let rows: Vec<QueueItem> = match &*items.read() {
        None => Vec::new(),
        Some(Ok(list)) => list
            .iter()
            .filter(|item| item.pending_decision.is_none() && filter.read().accepts(item))
            .cloned()
            .collect(),
        Some(Err(error)) => return rsx! { p { class: "error", {error_text((app.lang)(), error)} } },
    };
    let members = members.read().clone().unwrap_or_default();
    let sites: Vec<Site> = sites.read().clone().unwrap_or_default();
    let conflicts = conflicts.read().clone().unwrap_or_default();
    let count = selected.read().len();

    rsx! {
        section { class: "review",
            QueueFilters { filter }
            for conflict in conflicts {
                ConflictNotice { key: "{conflict.subject_id}", conflict }
            }
            if let Some((ok, text)) = message() {
                p { class: if ok { "ok" } else { "error" }, role: "status", {text} }
            }
            if count > 0 {
                button { id: "{APPROVE_SELECTED_ID}", class: "big primary batch", onclick: approve_selected,
                    {app.tf(Msg::ApproveSelected, &[("count", count.to_string())])}
                }
            }
            if rows.is_empty() {
                p { {app.t(Msg::QueueEmpty)} }
            }
            for item in rows {
                ReviewCard {
                    key: "{item.record.id}",
                    reviewer: reviewer_for(&member, &item),
                    selected: selected.read().contains(&item.record.id),
                    site: site_of(&sites, &item),
                    members: members.clone(),
                    on_toggle: move |id: Uuid| {
                        let mut chosen = selected.write();
                        if !chosen.remove(&id) {
                            chosen.insert(id);
                        }
                    },
                    on_decided: move |_| refresh += 1,
                    item,
                }
            }
        }
    }
}

/// Returns the duty site of a clock-in, when this phone knows it.
fn site_of(sites: &[Site], item: &QueueItem) -> Option<Site> {
    let RecordBody::ClockIn(clock_in) = &item.record.body else {
        return None;
    };
    sites
        .iter()
        .find(|site| site.id == clock_in.site_id)
        .cloned()
}

/// The filter chips: kind, flagged only and state, each a large button.
#[component]
fn QueueFilters(filter: Signal<QueueFilter>) -> Element {
    let app = use_app();
    let current = filter();
    let states = [
        ReviewState::Submitted,
        ReviewState::Escalated,
        ReviewState::Assigned,
    ];

    rsx! {
        div { class: "filters",
            span { class: "filter-title", {app.t(Msg::FilterKind)} }
            div { class: "chips",
                button {
                    class: if current.kind.is_none() { "chip active" } else { "chip" },
                    onclick: move |_| filter.write().kind = None,
                    {app.t(Msg::FilterAll)}
                }
                for kind in KindFilter::ALL {
                    button {
                        key: "{kind:?}",
                        class: if current.kind == Some(kind) { "chip active" } else { "chip" },
                        onclick: move |_| filter.write().kind = Some(kind),
                        {app.t(kind.label())}
                    }
                }
            }
            span { class: "filter-title", {app.t(Msg::FilterState)} }
            div { class: "chips",
                button {
                    class: if current.state.is_none() { "chip active" } else { "chip" },
                    onclick: move |_| filter.write().state = None,
                    {app.t(Msg::FilterAll)}
                }
                for state in states {
                    button {
                        key: "{state:?}",
                        class: if current.state == Some(state) { "chip active" } else { "chip" },
                        onclick: move |_| filter.write().state = Some(state),
                        {app.t(state_label(state))}
                    }
                }
            }
            button {
                class: if current.flagged_only { "chip big active" } else { "chip big" },
                "aria-pressed": "{current.flagged_only}",
                onclick: move |_| {
                    let flagged_only = !filter.read().flagged_only;
                    filter.write().flagged_only = flagged_only;
                },
                {app.t(Msg::FilterFlagged)}
            }
        }
    }
}

/// Names an open review state for the state filter.
fn state_label(state: ReviewState) -> Msg {
    match state {
        ReviewState::Escalated => Msg::StateEscalated,
        ReviewState::Assigned => Msg::StateAssigned,
        _ => Msg::StateSubmitted,
    }
}

/// Names the kind of a queued record, for the card title.
pub fn item_kind(item: &QueueItem) -> Msg {
    kind_label(&item.record.body)
}
