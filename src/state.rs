//! App-wide state shared through one Dioxus context: the language, the
//! signed-in member, the open tab, the sync badge and the backend handle.
//! Components read it with [`use_app`].

use std::sync::Arc;

use dioxus::prelude::*;
use redvest_proto::wire::{Member, Role};

use crate::backend::{Backend, SyncStatus};
use crate::i18n::{Lang, Msg};

/// The backend, shared by every component; equal when it is the same instance.
#[derive(Clone)]
pub struct BackendHandle(pub Arc<Backend>);

impl PartialEq for BackendHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A tab of the home screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Duty,
    Patrol,
    Lead,
    Mine,
    Review,
}

impl Tab {
    /// Returns the tabs a role sees, in display order.
    pub fn for_role(role: Role) -> &'static [Tab] {
        match role {
            Role::Volunteer => &[Tab::Duty, Tab::Patrol, Tab::Lead, Tab::Mine],
            Role::SquadLeader => &[Tab::Duty, Tab::Patrol, Tab::Lead, Tab::Mine, Tab::Review],
            Role::Brigade => &[Tab::Review, Tab::Lead, Tab::Mine],
        }
    }

    /// Returns the tab's label; the brigade's review tab lists escalated submissions.
    pub fn label(self, role: Role) -> Msg {
        match (self, role) {
            (Tab::Duty, _) => Msg::TabDuty,
            (Tab::Patrol, _) => Msg::TabPatrol,
            (Tab::Lead, _) => Msg::TabLead,
            (Tab::Mine, _) => Msg::TabMine,
            (Tab::Review, Role::Brigade) => Msg::TabEscalated,
            (Tab::Review, _) => Msg::TabReview,
        }
    }
}

/// State every screen reads.
#[derive(Clone, Copy)]
pub struct AppState {
    pub lang: Signal<Lang>,
    pub member: Signal<Option<Member>>,
    pub tab: Signal<Tab>,
    /// A warning that stays visible, such as "no secure storage".
    pub notice: Signal<Option<String>>,
    pub sync: Signal<SyncStatus>,
    /// Whether the server answered the last reachability check.
    pub reachable: Signal<Option<bool>>,
    backend: Signal<BackendHandle>,
}

impl AppState {
    /// Looks up a message in the current language.
    pub fn t(&self, key: Msg) -> &'static str {
        (self.lang)().t(key)
    }

    /// Looks up a message and fills its placeholders.
    pub fn tf(&self, key: Msg, args: &[(&str, String)]) -> String {
        (self.lang)().tf(key, args)
    }

    pub fn backend(&self) -> Arc<Backend> {
        Arc::clone(&self.backend.peek().0)
    }

    /// Reloads the sync badge from the store.
    pub async fn refresh_sync(mut self) {
        match self.backend().sync_status().await {
            Ok(status) => self.sync.set(status),
            Err(error) => tracing::warn!(%error, "cannot read sync status"),
        }
    }
}

/// Creates the app state from the backend in the root context.
pub fn use_app_provider() -> AppState {
    let handle = use_context::<BackendHandle>();
    use_context_provider(|| AppState {
        lang: Signal::new(Lang::default()),
        member: Signal::new(None),
        tab: Signal::new(Tab::Duty),
        notice: Signal::new(None),
        sync: Signal::new(SyncStatus::default()),
        reachable: Signal::new(None),
        backend: Signal::new(handle),
    })
}

/// Returns the app state provided by the root component.
pub fn use_app() -> AppState {
    use_context::<AppState>()
}
