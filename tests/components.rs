//! Headless component tests: each case builds a `VirtualDom` around one
//! screen or component with a real backend on a temporary folder, renders
//! it with `dioxus-ssr` and dispatches events the way the web view would.

use std::any::Any;
use std::rc::Rc;
use std::sync::Arc;

use dioxus::html::{
    PlatformEventData, SerializedFormData, SerializedHtmlEventConverter, SerializedMouseData,
};
use dioxus::prelude::*;
use dioxus_core::{ElementId, Mutation, NoOpMutations};
use redvest::backend::Backend;
use redvest::components::{FlagList, RejectForm};
use redvest::config::Config;
use redvest::i18n::{explain_flag, Lang, Msg};
use redvest::screens::SignIn;
use redvest::state::{use_app_provider, BackendHandle};

/// A rendered tree with its event listeners in creation order.
struct Harness {
    dom: VirtualDom,
    listeners: Vec<(String, ElementId)>,
    _data: tempfile::TempDir,
}

impl Harness {
    fn new(root: fn() -> Element) -> Self {
        set_event_converter(Box::new(SerializedHtmlEventConverter));
        let data = tempfile::tempdir().unwrap();
        let config = Config {
            server_url: "http://127.0.0.1:9".into(),
            data_dir: data.path().to_owned(),
            gpx: None,
            gpx_speed: 1.0,
        };
        let backend = Backend::open(config).unwrap();
        let mut dom = VirtualDom::new(root).with_root_context(BackendHandle(Arc::new(backend)));
        let listeners = dom
            .rebuild_to_vec()
            .edits
            .into_iter()
            .filter_map(|edit| match edit {
                Mutation::NewEventListener { name, id } => Some((name, id)),
                _ => None,
            })
            .collect();
        Self {
            dom,
            listeners,
            _data: data,
        }
    }

    fn html(&self) -> String {
        dioxus_ssr::render(&self.dom)
    }

    /// Returns the `index`-th listener of an event. Listeners of the outer
    /// template come first, then those of loops and child components.
    fn listener(&self, name: &str, index: usize) -> ElementId {
        let ids: Vec<ElementId> = self
            .listeners
            .iter()
            .filter(|(event, _)| event == name)
            .map(|(_, id)| *id)
            .collect();
        ids[index]
    }

    /// Runs spawned tasks, such as async event handlers, until they wait.
    fn settle(&mut self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(200),
                self.dom.wait_for_work(),
            )
            .await;
        });
        self.dom.render_immediate(&mut NoOpMutations);
    }

    fn dispatch(&mut self, name: &str, id: ElementId, data: Box<dyn Any>) {
        let event = Event::new(Rc::new(PlatformEventData::new(data)) as Rc<dyn Any>, true);
        self.dom.runtime().handle_event(name, event, id);
        self.dom.render_immediate(&mut NoOpMutations);
    }

    fn click(&mut self, index: usize) {
        let id = self.listener("click", index);
        self.dispatch("click", id, Box::<SerializedMouseData>::default());
    }

    fn input(&mut self, index: usize, value: &str) {
        let id = self.listener("input", index);
        self.dispatch(
            "input",
            id,
            Box::new(SerializedFormData::new(value.to_owned(), Vec::new())),
        );
    }
}

fn sign_in_root() -> Element {
    use_app_provider();
    rsx! { SignIn {} }
}

#[test]
fn sign_in_defaults_to_chinese() {
    let harness = Harness::new(sign_in_root);
    let html = harness.html();

    assert!(html.contains(Lang::Zh.t(Msg::Phone)), "{html}");
    assert!(html.contains(Lang::Zh.t(Msg::Password)), "{html}");
    assert!(!html.contains(Lang::En.t(Msg::Password)), "{html}");
}

#[test]
fn sign_in_switches_to_english() {
    let mut harness = Harness::new(sign_in_root);

    // The sign-in button comes first, then the language switch: Chinese, English.
    harness.click(2);
    let html = harness.html();

    assert!(html.contains(Lang::En.t(Msg::Phone)), "{html}");
    assert!(html.contains(Lang::En.t(Msg::SignInButton)), "{html}");
    assert!(!html.contains(Lang::Zh.t(Msg::Phone)), "{html}");
}

#[test]
fn sign_in_prefills_server() {
    let harness = Harness::new(sign_in_root);

    assert!(harness.html().contains("http://127.0.0.1:9"));
}

#[test]
fn sign_in_empty_fields_explained() {
    let mut harness = Harness::new(sign_in_root);

    harness.input(1, "");
    harness.click(0);
    harness.settle();
    let html = harness.html();

    assert!(html.contains(Lang::Zh.t(Msg::FieldsMissing)), "{html}");
}

fn flags_root() -> Element {
    use_app_provider();
    let flags = use_signal(|| {
        vec![
            "outside_fence".to_owned(),
            "mock_location".to_owned(),
            "new_rule".to_owned(),
        ]
    });
    rsx! { FlagList { flags } }
}

#[test]
fn flags_render_explanations() {
    let harness = Harness::new(flags_root);
    let html = harness.html();

    assert!(html.contains(Lang::Zh.t(Msg::FlagOutsideFence)), "{html}");
    assert!(html.contains(Lang::Zh.t(Msg::FlagMockLocation)), "{html}");
    assert!(html.contains(&explain_flag(Lang::Zh, "new_rule")), "{html}");
    assert!(html.contains("new_rule"), "{html}");
    assert!(html.contains(Lang::Zh.t(Msg::FlagsTitle)), "{html}");
}

fn no_flags_root() -> Element {
    use_app_provider();
    let flags = use_signal(Vec::<String>::new);
    rsx! { FlagList { flags } }
}

#[test]
fn no_flags_render_nothing() {
    let harness = Harness::new(no_flags_root);

    assert!(!harness.html().contains(Lang::Zh.t(Msg::FlagsTitle)));
}

fn reject_root() -> Element {
    use_app_provider();
    let mut sent = use_signal(Vec::<String>::new);
    rsx! {
        RejectForm { on_reject: move |reason| sent.write().push(reason) }
        p { id: "sent", "sent={sent.read().len()}:{sent.read().join(\"|\")}" }
    }
}

#[test]
fn reject_requires_reason() {
    let mut harness = Harness::new(reject_root);

    harness.click(0);
    let html = harness.html();

    assert!(html.contains(Lang::Zh.t(Msg::ReasonRequired)), "{html}");
    assert!(html.contains("sent=0:"), "{html}");
}

#[test]
fn reject_whitespace_reason_refused() {
    let mut harness = Harness::new(reject_root);

    harness.input(0, "   ");
    harness.click(0);
    let html = harness.html();

    assert!(html.contains(Lang::Zh.t(Msg::ReasonRequired)), "{html}");
    assert!(html.contains("sent=0:"), "{html}");
}

#[test]
fn reject_sends_typed_reason() {
    let mut harness = Harness::new(reject_root);

    harness.input(0, "  路灯不亮，请复查  ");
    harness.click(0);
    let html = harness.html();

    assert!(html.contains("sent=1:路灯不亮，请复查"), "{html}");
    assert!(!html.contains(Lang::Zh.t(Msg::ReasonRequired)), "{html}");
}

#[test]
fn reject_sends_picked_reason() {
    let mut harness = Harness::new(reject_root);

    // The reject button comes first, then the reason chips in order.
    harness.click(2);
    harness.click(0);
    let html = harness.html();

    assert!(
        html.contains(&format!("sent=1:{}", Lang::Zh.t(Msg::ReasonDuplicate))),
        "{html}"
    );
}
