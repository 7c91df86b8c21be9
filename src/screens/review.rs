//! The review queue: a squad leader's submissions to decide, or the
//! brigade's escalated ones. Approve, or reject with a reason.

use dioxus::prelude::*;
use redvest_proto::review::Action;

use crate::backend::QueueItem;
use crate::components::{FlagList, RejectForm};
use crate::i18n::Msg;
use crate::screens::submissions::kind_label;
use crate::state::use_app;

#[component]
pub fn ReviewQueue() -> Element {
    let app = use_app();
    let mut refresh = use_signal(|| 0u32);
    let items = use_resource(move || async move {
        let _ = (refresh(), (app.sync)());
        app.backend().review_queue().await
    });

    let rows = match &*items.read() {
        None => Vec::new(),
        Some(Ok(list)) => list
            .iter()
            .filter(|item| item.pending_decision.is_none())
            .cloned()
            .collect(),
        Some(Err(error)) => {
            return rsx! { p { class: "error", {app.tf(Msg::ActionFailed, &[("error", error.to_string())])} } }
        }
    };
    rsx! {
        section { class: "review",
            if rows.is_empty() {
                p { {app.t(Msg::QueueEmpty)} }
            }
            for item in rows {
                ReviewCard { key: "{item.record.id}", item, on_decided: move |_| refresh += 1 }
            }
        }
    }
}

/// One submission with approve and reject.
#[component]
fn ReviewCard(item: QueueItem, on_decided: EventHandler<()>) -> Element {
    let app = use_app();
    let mut error = use_signal(|| None::<String>);
    let subject_id = item.record.id;
    let flags = use_signal(|| item.review.flags.clone());

    let decide = move |action: Action| {
        spawn(async move {
            match app.backend().decide(subject_id, action).await {
                Ok(_) => on_decided.call(()),
                Err(decide_error) => error.set(Some(
                    app.tf(Msg::ActionFailed, &[("error", decide_error.to_string())]),
                )),
            }
            app.refresh_sync().await;
        });
    };

    rsx! {
        article { class: "card",
            strong { {app.t(kind_label(&item.record.body))} }
            p { {app.tf(Msg::SubmittedBy, &[("name", item.owner_name.clone())])} }
            FlagList { flags }
            button { class: "big primary approve", onclick: move |_| decide(Action::Approve), {app.t(Msg::Approve)} }
            RejectForm { on_reject: move |reason| decide(Action::Reject { reason }) }
            if let Some(message) = error() {
                p { class: "error", role: "alert", {message} }
            }
        }
    }
}
