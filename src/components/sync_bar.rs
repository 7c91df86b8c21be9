//! The sync status bar: pending count, last success, last error, a "sign in
//! again" prompt when the server refused the token, and a "sync now" button.

use dioxus::prelude::*;

use crate::error_text::sync_error_text;
use crate::i18n::Msg;
use crate::state::use_app;

#[component]
pub fn SyncBar() -> Element {
    let app = use_app();
    let status = (app.sync)();

    let sync_now = move |_| async move {
        app.backend().sync_now().await;
        app.refresh_sync().await;
    };

    let last = match status.last_success {
        Some(at) => app.tf(
            Msg::SyncLastSuccess,
            &[(
                "time",
                at.with_timezone(&chrono::Local).format("%H:%M").to_string(),
            )],
        ),
        None => app.t(Msg::SyncNever).to_owned(),
    };
    rsx! {
        div { class: "sync-bar",
            span { class: "pending", {app.tf(Msg::SyncPending, &[("count", status.pending.to_string())])} }
            span { class: "last", {last} }
            if (app.reachable)() == Some(false) {
                span { class: "offline", {app.t(Msg::Offline)} }
            }
            if let Some(error) = status.last_error.clone() {
                span { class: "error", {sync_error_text((app.lang)(), &error)} }
            }
            if status.needs_sign_in {
                span { class: "error", {app.t(Msg::SyncSignInAgain)} }
            }
            button { class: "sync-now", onclick: sync_now, {app.t(Msg::SyncNow)} }
        }
    }
}
