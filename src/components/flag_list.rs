//! A list of verdict flags, each explained in words from the catalogue.

use dioxus::prelude::*;

use crate::i18n::{explain_flag, Msg};
use crate::state::use_app;

/// Explains why a clock-in goes to the squad leader; renders nothing without flags.
#[component]
pub fn FlagList(flags: ReadSignal<Vec<String>>) -> Element {
    let app = use_app();
    let lang = (app.lang)();

    if flags.read().is_empty() {
        return rsx! {};
    }
    rsx! {
        div { class: "flags",
            p { class: "flags-title", {app.t(Msg::FlagsTitle)} }
            ul {
                for code in flags.read().iter() {
                    li { key: "{code}", class: "flag", "data-flag": "{code}", {explain_flag(lang, code)} }
                }
            }
        }
    }
}
