//! One submission in the review queue: what it is and who sent it, its
//! flags in words, the fence drawing of a flagged clock-in, a lead's note
//! and photos (thumbnails, "downloading" or "missing"), and the decision
//! buttons its state allows.

use dioxus::prelude::*;
use redvest_proto::records::PhotoRef;
use redvest_proto::review::{Action, ReviewState, Reviewer};
use redvest_proto::wire::{Member, Site};
use redvest_proto::RecordBody;
use uuid::Uuid;

use crate::backend::QueueItem;
use crate::components::{FenceMap, FlagList, PhotoSlot, PhotoStrip, RejectForm};
use crate::error_text::error_text;
use crate::i18n::Msg;
use crate::screens::review::{item_kind, offered_actions, ActionKind};
use crate::state::use_app;

/// One queued submission with its valid actions.
#[component]
pub fn ReviewCard(
    item: QueueItem,
    reviewer: Reviewer,
    selected: bool,
    site: Option<Site>,
    members: Vec<Member>,
    on_toggle: EventHandler<Uuid>,
    on_decided: EventHandler<()>,
) -> Element {
    let app = use_app();
    let mut error = use_signal(|| None::<String>);
    let subject_id = item.record.id;
    let mut flags = use_signal(|| item.review.flags.clone());
    if *flags.peek() != item.review.flags {
        flags.set(item.review.flags.clone());
    }
    let offered = offered_actions(item.review.state, reviewer);

    let decide = move |action: Action| {
        spawn(async move {
            match app.backend().decide(subject_id, action).await {
                Ok(decision_id) => {
                    tracing::info!(%subject_id, %decision_id, "decision queued");
                    on_decided.call(());
                }
                Err(decide_error) => error.set(Some(error_text((app.lang)(), &decide_error))),
            }
            app.refresh_sync().await;
        });
    };

    rsx! {
        article { class: if selected { "card selected" } else { "card" }, "data-state": item.review.state.as_str(),
            strong { {app.t(item_kind(&item))} }
            p { {app.tf(Msg::SubmittedBy, &[("name", item.owner_name.clone())])} }
            if offered.contains(&ActionKind::Approve) {
                button {
                    id: "select-{subject_id}",
                    class: if selected { "big select active" } else { "big select" },
                    "aria-pressed": "{selected}",
                    onclick: move |_| on_toggle.call(subject_id),
                    {app.t(Msg::SelectItem)}
                }
            }
            SubjectDetail { item: item.clone(), site }
            FlagList { flags }
            if offered.is_empty() {
                p { class: "waiting",
                    if item.review.state == ReviewState::Escalated { {app.t(Msg::AwaitingBrigade)} } else { {app.t(Msg::AwaitingAssignee)} }
                }
            }
            if offered.contains(&ActionKind::Approve) {
                button { id: "approve-{subject_id}", class: "big primary approve", onclick: move |_| decide(Action::Approve), {app.t(Msg::Approve)} }
            }
            if offered.contains(&ActionKind::Reject) {
                RejectForm { on_reject: move |reason| decide(Action::Reject { reason }) }
            }
            if offered.contains(&ActionKind::Escalate) {
                button { id: "escalate-{subject_id}", class: "big escalate", onclick: move |_| decide(Action::Escalate { reason: None }), {app.t(Msg::Escalate)} }
            }
            if offered.contains(&ActionKind::Assign) {
                AssignForm { members, on_assign: move |(member_id, note)| decide(Action::Assign { member_id, note }) }
            }
            if offered.contains(&ActionKind::Resolve) {
                ResolveForm { on_resolve: move |note| decide(Action::Resolve { note, photo_sha256: None }) }
            }
            if let Some(message) = error() {
                p { class: "error", role: "alert", {message} }
            }
        }
    }
}

/// What the submission is about: a flagged clock-in's fence drawing, or a
/// lead's note, address and photos.
#[component]
fn SubjectDetail(item: QueueItem, site: Option<Site>) -> Element {
    let app = use_app();
    let missing = item.photos_received < item.photos_total;
    // The sync run downloads a lead's photos only once the server has all
    // of them, so until then an absent photo is "not downloaded".
    let absent = if missing {
        Msg::PhotoNotDownloaded
    } else {
        Msg::PhotoDownloading
    };

    match &item.record.body {
        RecordBody::ClockIn(clock_in) if !item.review.flags.is_empty() => match site {
            Some(site) => {
                rsx! { FenceMap { fence: site.fence.clone(), fix: clock_in.fix.clone() } }
            }
            None => rsx! { p { class: "warning", {app.t(Msg::SiteUnknown)} } },
        },
        RecordBody::Lead(lead) => rsx! {
            if !lead.note.is_empty() {
                p { class: "note", {lead.note.clone()} }
            }
            if let Some(address) = lead.address.clone() {
                p { class: "address", {app.tf(Msg::LeadAddress, &[("address", address)])} }
            }
            if !lead.photos.is_empty() {
                PhotoStrip { photos: photo_slots(&lead.photos, absent) }
            }
            if missing {
                p { class: "warning photos-missing",
                    {app.tf(Msg::PhotosMissing, &[("received", item.photos_received.to_string()), ("total", item.photos_total.to_string())])}
                }
            }
        },
        _ => rsx! {},
    }
}

/// Builds the strip's slots for a lead's photos, all with the same placeholder.
fn photo_slots(photos: &[PhotoRef], absent: Msg) -> Vec<PhotoSlot> {
    photos
        .iter()
        .map(|photo| PhotoSlot {
            sha256: photo.sha256.clone(),
            absent,
            dimmed: false,
        })
        .collect()
}

/// Picks a squad member for a follow-up, with an optional note.
#[component]
fn AssignForm(members: Vec<Member>, on_assign: EventHandler<(Uuid, Option<String>)>) -> Element {
    let app = use_app();
    let mut note = use_signal(String::new);

    if members.is_empty() {
        return rsx! { p { class: "warning", {app.t(Msg::NoMembers)} } };
    }
    rsx! {
        div { class: "assign-form",
            p { class: "form-title", {app.t(Msg::AssignTo)} }
            input {
                class: "note",
                placeholder: app.t(Msg::AssignNote),
                value: "{note}",
                oninput: move |event| note.set(event.value()),
            }
            div { class: "chips",
                for member in members {
                    button {
                        key: "{member.id}",
                        class: "chip big assign",
                        onclick: move |_| {
                            let text = note.read().trim().to_owned();
                            on_assign.call((member.id, (!text.is_empty()).then_some(text)));
                        },
                        {member.name.clone()}
                    }
                }
            }
        }
    }
}

/// A resolution note and the resolve button, which refuses an empty note.
#[component]
fn ResolveForm(on_resolve: EventHandler<String>) -> Element {
    let app = use_app();
    let mut note = use_signal(String::new);
    let mut missing = use_signal(|| false);

    let submit = move |_| {
        let text = note.read().trim().to_owned();
        missing.set(text.is_empty());
        if !text.is_empty() {
            on_resolve.call(text);
        }
    };

    rsx! {
        div { class: "resolve-form",
            input {
                class: "note",
                placeholder: app.t(Msg::ResolveNote),
                value: "{note}",
                oninput: move |event| note.set(event.value()),
            }
            if missing() {
                p { class: "error", role: "alert", {app.t(Msg::NoteRequired)} }
            }
            button { class: "big primary resolve", onclick: submit, {app.t(Msg::Resolve)} }
        }
    }
}
