//! Buttons that switch the display language.

use dioxus::prelude::*;

use crate::i18n::{Lang, Msg};
use crate::state::use_app;

/// One button per language, each labelled in its own language.
#[component]
pub fn LangSwitch() -> Element {
    let mut app = use_app();
    let current = (app.lang)();

    rsx! {
        div { class: "lang-switch",
            for lang in Lang::ALL {
                button {
                    key: "{lang.tag()}",
                    class: if lang == current { "lang active" } else { "lang" },
                    "data-lang": lang.tag(),
                    onclick: move |_| app.lang.set(lang),
                    {lang.t(Msg::LanguageName)}
                }
            }
        }
    }
}
