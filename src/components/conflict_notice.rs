//! The notice a reviewer sees when two decisions on one submission met: the
//! loser reads who decided first, and the winner reads whose later decision
//! the server kept aside.

use dioxus::prelude::*;
use redvest_core::store::ConflictView;

use crate::i18n::Msg;
use crate::screens::review::action_label;
use crate::state::use_app;

/// Explains the conflicts of one submission in words.
#[component]
pub fn ConflictNotice(conflict: ConflictView) -> Element {
    let app = use_app();

    rsx! {
        div { class: "conflict", role: "alert",
            p { class: "conflict-who", {app.tf(Msg::ConflictOn, &[("name", conflict.owner_name.clone())])} }
            if let Some(reason) = conflict.own_lost_reason.clone() {
                p { class: "conflict-lost", {app.tf(Msg::ConflictDecidedFirst, &[("reason", reason)])} }
            }
            for item in conflict.conflicts.iter() {
                p { key: "{item.decision_id}", class: "conflict-later",
                    {app.tf(Msg::ConflictLaterDecision, &[("name", item.reviewer_name.clone()), ("action", action_label(&app, &item.action)), ("reason", item.reason.clone())])}
                }
            }
        }
    }
}
