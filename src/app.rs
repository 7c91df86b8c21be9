//! The root component: provides the app state, restores a saved sign-in,
//! watches the server's reachability and shows sign-in or home.

use std::time::Duration;

use dioxus::prelude::*;

use crate::platform::{self, Connectivity};
use crate::screens::{Home, SignIn};
use crate::state::{use_app_provider, Tab};

/// The style sheet, inlined so that no asset path has to resolve at run time.
pub const STYLE: &str = include_str!("../assets/redvest.css");

/// How often the sync badge is reloaded from the store the sync loop writes.
const BADGE_INTERVAL: Duration = Duration::from_secs(2);

/// How often the server's reachability is checked.
const REACHABILITY_INTERVAL: Duration = Duration::from_secs(10);

#[component]
pub fn App() -> Element {
    let mut app = use_app_provider();

    use_future(move || async move {
        let Some(member) = app.backend().restore_session().await else {
            return;
        };
        app.tab.set(Tab::for_role(member.role)[0]);
        app.member.set(Some(member));
        app.refresh_sync().await;
    });

    use_future(move || async move {
        loop {
            let probe = platform::connectivity(&app.backend().server_url());
            let reachable = probe.check().await;
            let was = *app.reachable.peek();
            app.reachable.set(Some(reachable));
            if reachable && was != Some(true) && app.member.peek().is_some() {
                tracing::info!("server reachable again, syncing");
                app.backend().sync_now().await;
            }
            tokio::time::sleep(REACHABILITY_INTERVAL).await;
        }
    });

    use_future(move || async move {
        loop {
            tokio::time::sleep(BADGE_INTERVAL).await;
            if app.member.peek().is_some() {
                if let Err(error) = app.backend().close_overdue_shift().await {
                    tracing::warn!(%error, "could not close an overdue shift");
                }
                app.refresh_sync().await;
            }
        }
    });

    rsx! {
        style { {STYLE} }
        div { class: "app", lang: (app.lang)().tag(),
            if (app.member)().is_some() {
                Home {}
            } else {
                SignIn {}
            }
        }
    }
}
