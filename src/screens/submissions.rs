//! "My submissions": each record with its local and review state, the
//! server's reason, conflicts and how many photos were sent, with a details
//! button that opens its history, photos or track.

use dioxus::prelude::*;
use redvest_proto::review::ReviewState;
use redvest_proto::RecordBody;

use crate::backend::{LocalState, SubmissionView};
use crate::i18n::{Lang, Msg};
use crate::screens::submission_detail::SubmissionDetail;
use crate::state::use_app;

/// Returns the catalogue key naming a record kind.
pub fn kind_label(body: &RecordBody) -> Msg {
    match body {
        RecordBody::Lead(_) => Msg::KindLead,
        RecordBody::PatrolStop(_) | RecordBody::PatrolStart(_) | RecordBody::TrackChunk(_) => {
            Msg::KindPatrol
        }
        RecordBody::ClockIn(_) | RecordBody::ClockOut(_) => Msg::KindClockIn,
    }
}

/// Describes where a submission stands, in words.
pub fn state_text(lang: Lang, item: &SubmissionView) -> String {
    let local_reason = item.local_reason.clone().unwrap_or_default();
    match (item.local_state, &item.review) {
        (LocalState::Rejected, _) => lang.tf(Msg::StateNotStored, &[("reason", local_reason)]),
        (LocalState::Conflict, _) => lang.tf(Msg::StateConflict, &[("reason", local_reason)]),
        (LocalState::Queued, _) => lang.t(Msg::StateQueued).to_owned(),
        (LocalState::Sent, None) => lang.t(Msg::StateSent).to_owned(),
        (LocalState::Sent, Some(review)) => review_text(lang, review.state, review.reason.clone()),
    }
}

fn review_text(lang: Lang, state: ReviewState, reason: Option<String>) -> String {
    let key = match state {
        ReviewState::Accepted => Msg::StateAccepted,
        ReviewState::Submitted => Msg::StateSubmitted,
        ReviewState::Approved => Msg::StateApproved,
        ReviewState::Rejected => Msg::StateRejected,
        ReviewState::Escalated => Msg::StateEscalated,
        ReviewState::Assigned => Msg::StateAssigned,
        ReviewState::Resolved => Msg::StateResolved,
    };
    lang.tf(key, &[("reason", reason.unwrap_or_default())])
}

#[component]
pub fn Submissions() -> Element {
    let app = use_app();
    let items = use_resource(move || async move {
        let _ = (app.sync)();
        app.backend().my_submissions().await
    });
    let lang = (app.lang)();
    let open = use_signal(|| None::<uuid::Uuid>);

    let rows = match &*items.read() {
        None => Vec::new(),
        Some(Ok(list)) => list.clone(),
        Some(Err(error)) => {
            return rsx! { p { class: "error", {app.tf(Msg::ActionFailed, &[("error", error.to_string())])} } }
        }
    };
    rsx! {
        section { class: "submissions",
            if rows.is_empty() {
                p { {app.t(Msg::NothingYet)} }
            }
            ul {
                for item in rows {
                    li { key: "{item.record.id}", class: "submission",
                        strong { {app.t(kind_label(&item.record.body))} }
                        span { class: "when", {item.record.captured_at.local().format(" %m-%d %H:%M ").to_string()} }
                        span { class: "state", {state_text(lang, &item)} }
                        if item.photos_total > 0 {
                            span { class: "photos",
                                {app.tf(Msg::PhotosSent, &[("sent", item.photos_sent.to_string()), ("total", item.photos_total.to_string())])}
                            }
                        }
                        if let Some(review) = &item.review {
                            for conflict in review.conflicts.iter() {
                                p { class: "warning", {app.tf(Msg::StateConflict, &[("reason", format!("{} ({})", conflict.reason, conflict.reviewer_name))])} }
                            }
                        }
                        DetailToggle { id: item.record.id, open }
                        if open() == Some(item.record.id) {
                            SubmissionDetail { item: item.clone() }
                        }
                    }
                }
            }
        }
    }
}

/// Opens or closes the detail of one submission; one is open at a time.
#[component]
fn DetailToggle(id: uuid::Uuid, open: Signal<Option<uuid::Uuid>>) -> Element {
    let app = use_app();
    let is_open = open() == Some(id);

    rsx! {
        button {
            class: "big details",
            "aria-expanded": "{is_open}",
            onclick: move |_| open.set(if is_open { None } else { Some(id) }),
            if is_open { {app.t(Msg::HideDetails)} } else { {app.t(Msg::ShowDetails)} }
        }
    }
}
