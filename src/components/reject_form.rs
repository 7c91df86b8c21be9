//! The reviewer's reject form: a reason picked from common ones or typed,
//! and a reject button that refuses to send an empty reason.

use dioxus::prelude::*;

use crate::i18n::Msg;
use crate::state::use_app;

/// Reasons a leader picks most often.
pub const COMMON_REASONS: [Msg; 4] = [
    Msg::ReasonBlurry,
    Msg::ReasonDuplicate,
    Msg::ReasonWrongPlace,
    Msg::ReasonNotHazard,
];

/// Calls `on_reject` with the trimmed reason, or shows that a reason is required.
#[component]
pub fn RejectForm(on_reject: EventHandler<String>) -> Element {
    let app = use_app();
    let mut reason = use_signal(String::new);
    let mut missing = use_signal(|| false);

    let submit = move |_| {
        let text = reason.read().trim().to_owned();
        if text.is_empty() {
            missing.set(true);
            return;
        }
        missing.set(false);
        on_reject.call(text);
    };

    rsx! {
        div { class: "reject-form",
            div { class: "chips",
                for key in COMMON_REASONS {
                    button {
                        class: "chip",
                        onclick: move |_| reason.set(app.t(key).to_owned()),
                        {app.t(key)}
                    }
                }
            }
            input {
                class: "reason",
                placeholder: app.t(Msg::RejectReason),
                value: "{reason}",
                oninput: move |event| reason.set(event.value()),
            }
            if missing() {
                p { class: "error", role: "alert", {app.t(Msg::ReasonRequired)} }
            }
            button { class: "big danger reject", onclick: submit, {app.t(Msg::Reject)} }
        }
    }
}
