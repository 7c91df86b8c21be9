//! The sign-in screen: server address, phone number and password.

use dioxus::prelude::*;

use crate::components::LangSwitch;
use crate::error_text::error_words;
use crate::i18n::Msg;
use crate::state::{use_app, Tab};

#[component]
pub fn SignIn() -> Element {
    let mut app = use_app();
    let mut server = use_signal(|| app.backend().server_url());
    let mut phone = use_signal(String::new);
    let mut password = use_signal(String::new);
    let mut busy = use_signal(|| false);
    let mut error = use_signal(|| None::<String>);

    let submit = move |_| async move {
        if server.read().trim().is_empty()
            || phone.read().trim().is_empty()
            || password.read().is_empty()
        {
            error.set(Some(app.t(Msg::FieldsMissing).to_owned()));
            return;
        }
        busy.set(true);
        let result = app
            .backend()
            .sign_in(&server.read(), &phone.read(), &password.read())
            .await;
        busy.set(false);
        match result {
            Ok(signed_in) => {
                error.set(None);
                password.set(String::new());
                if signed_in.secret_store_warning.is_some() {
                    app.notice.set(Some(app.t(Msg::NoSecretStore).to_owned()));
                }
                app.tab.set(Tab::for_role(signed_in.member.role)[0]);
                app.member.set(Some(signed_in.member));
                app.refresh_sync().await;
            }
            Err(sign_in_error) => {
                tracing::warn!(error = %sign_in_error, "sign-in failed");
                error.set(Some(app.tf(
                    Msg::SignInFailed,
                    &[("error", error_words((app.lang)(), &sign_in_error))],
                )));
            }
        }
    };

    rsx! {
        main { class: "sign-in",
            LangSwitch {}
            h1 { {app.t(Msg::AppTitle)} }
            h2 { {app.t(Msg::SignInTitle)} }
            label { {app.t(Msg::ServerAddress)}
                input { id: "server", r#type: "url", value: "{server}", oninput: move |event| server.set(event.value()) }
            }
            // Phone and password are uncontrolled inputs: a re-render between two
            // fast keystrokes would otherwise overwrite the newer one.
            label { {app.t(Msg::Phone)}
                input { id: "phone", r#type: "tel", oninput: move |event| phone.set(event.value()) }
            }
            label { {app.t(Msg::Password)}
                input { id: "password", r#type: "password", oninput: move |event| password.set(event.value()) }
            }
            if let Some(message) = error() {
                p { class: "error", role: "alert", {message} }
            }
            button { id: "sign-in", class: "big primary", disabled: busy(), onclick: submit,
                if busy() { {app.t(Msg::SigningIn)} } else { {app.t(Msg::SignInButton)} }
            }
        }
    }
}
