//! The home screen: header, sync bar and the tabs of the member's role.

use dioxus::prelude::*;
use redvest_proto::wire::Role;

use crate::components::{LangSwitch, SyncBar};
use crate::i18n::Msg;
use crate::screens::{
    duty::Duty, lead::LeadCapture, patrol::Patrol, review::ReviewQueue, submissions::Submissions,
};
use crate::state::{use_app, Tab};

fn role_label(role: Role) -> Msg {
    match role {
        Role::Volunteer => Msg::RoleVolunteer,
        Role::SquadLeader => Msg::RoleSquadLeader,
        Role::Brigade => Msg::RoleBrigade,
    }
}

#[component]
pub fn Home() -> Element {
    let mut app = use_app();
    let Some(member) = (app.member)() else {
        return rsx! {};
    };
    let role = member.role;
    let tabs = Tab::for_role(role);
    let current = if tabs.contains(&(app.tab)()) {
        (app.tab)()
    } else {
        tabs[0]
    };

    let sign_out = move |_| async move {
        if let Err(error) = app.backend().sign_out().await {
            tracing::warn!(%error, "sign-out failed");
        }
        app.member.set(None);
    };

    rsx! {
        header { class: "top",
            h1 { {app.t(Msg::AppTitle)} }
            span { class: "who", "{member.name} · " {app.t(role_label(role))} }
            LangSwitch {}
            button { class: "sign-out", onclick: sign_out, {app.t(Msg::SignOut)} }
        }
        if let Some(notice) = (app.notice)() {
            p { class: "notice", role: "alert", {notice} }
        }
        SyncBar {}
        nav { class: "tabs",
            for tab in tabs.iter().copied() {
                button {
                    key: "{tab:?}",
                    class: if tab == current { "tab active" } else { "tab" },
                    onclick: move |_| app.tab.set(tab),
                    {app.t(tab.label(role))}
                }
            }
        }
        main { class: "screen",
            match current {
                Tab::Duty => rsx! { Duty {} },
                Tab::Patrol => rsx! { Patrol {} },
                Tab::Lead => rsx! { LeadCapture {} },
                Tab::Mine => rsx! { Submissions {} },
                Tab::Review => rsx! { ReviewQueue {} },
            }
        }
    }
}
