//! Headless component tests: each case builds a `VirtualDom` around one
//! screen or component with a real backend on a temporary folder, renders
//! it with `dioxus-ssr` and dispatches events the way the web view would.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use dioxus::html::{
    PlatformEventData, SerializedFormData, SerializedHtmlEventConverter, SerializedMouseData,
};
use dioxus::prelude::*;
use dioxus_core::{AttributeValue, ElementId, Mutation, Mutations};
use redvest::backend::Backend;
use redvest::backend::{ConflictView, PatrolTrack};
use redvest::components::{ConflictNotice, FenceMap, FlagList, RejectForm, TrackMap};
use redvest::config::Config;
use redvest::i18n::{explain_flag, Lang, Msg};
use redvest::screens::review::{offered_actions, ReviewQueue, APPROVE_SELECTED_ID};
use redvest::screens::SignIn;
use redvest::state::{use_app_provider, BackendHandle};
use redvest_core::Store;
use redvest_proto::geo::Fix;
use redvest_proto::records::{Lead, LeadCategory, PhotoRef, PositionSource};
use redvest_proto::review::{ReviewState, Reviewer};
use redvest_proto::track::TrackPoint;
use redvest_proto::wire::{
    Change, ChangesResponse, DecisionConflict, Entity, Fence, Member, ReviewInfo, Role, Submission,
};
use redvest_proto::{Record, RecordBody, Stamp};
use uuid::Uuid;

/// A rendered tree with its event listeners in creation order, and the
/// elements that have a dynamic `id` attribute.
struct Harness {
    dom: VirtualDom,
    listeners: Vec<(String, ElementId)>,
    ids: HashMap<String, ElementId>,
    runtime: tokio::runtime::Runtime,
    _data: tempfile::TempDir,
}

impl Harness {
    fn new(root: fn() -> Element) -> Self {
        Self::seeded(root, |_| {})
    }

    /// Builds the tree after `seed` has written to the database file the
    /// backend is about to open.
    fn seeded(root: fn() -> Element, seed: impl FnOnce(&Path)) -> Self {
        set_event_converter(Box::new(SerializedHtmlEventConverter));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        seed(&data.path().join("redvest.sqlite3"));
        let config = Config {
            server_url: "http://127.0.0.1:9".into(),
            data_dir: data.path().to_owned(),
            gpx: None,
            gpx_speed: 1.0,
        };
        let backend = Backend::open(config).unwrap();
        let mut dom = VirtualDom::new(root).with_root_context(BackendHandle(Arc::new(backend)));
        let mutations = {
            let _entered = runtime.enter();
            dom.rebuild_to_vec()
        };
        let listeners = mutations
            .edits
            .iter()
            .filter_map(|edit| match edit {
                Mutation::NewEventListener { name, id } => Some((name.clone(), *id)),
                _ => None,
            })
            .collect();
        let mut harness = Self {
            dom,
            listeners,
            ids: HashMap::new(),
            runtime,
            _data: data,
        };
        harness.note_ids(mutations);
        harness
    }

    /// Remembers the element of every dynamic `id` attribute in `mutations`.
    fn note_ids(&mut self, mutations: Mutations) {
        for edit in mutations.edits {
            if let Mutation::SetAttribute {
                name: "id",
                value: AttributeValue::Text(text),
                id,
                ..
            } = edit
            {
                self.ids.insert(text, id);
            }
        }
    }

    fn render(&mut self) {
        let mutations = {
            let _entered = self.runtime.enter();
            self.dom.render_immediate_to_vec()
        };
        self.note_ids(mutations);
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

    /// Runs spawned tasks and resources, such as async event handlers and
    /// store reads, rendering after each, until nothing is left to do.
    fn settle(&mut self) {
        for _ in 0..20 {
            let dom = &mut self.dom;
            let worked = self.runtime.block_on(async {
                tokio::time::timeout(std::time::Duration::from_millis(200), dom.wait_for_work())
                    .await
                    .is_ok()
            });
            self.render();
            if !worked {
                break;
            }
        }
    }

    fn dispatch(&mut self, name: &str, id: ElementId, data: Box<dyn Any>) {
        let event = Event::new(Rc::new(PlatformEventData::new(data)) as Rc<dyn Any>, true);
        {
            let _entered = self.runtime.enter();
            self.dom.runtime().handle_event(name, event, id);
        }
        self.render();
    }

    /// Clicks the element whose dynamic `id` attribute is `element_id`.
    fn click_id(&mut self, element_id: &str) {
        let id = *self
            .ids
            .get(element_id)
            .unwrap_or_else(|| panic!("no element with id {element_id}"));
        self.dispatch("click", id, Box::<SerializedMouseData>::default());
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

fn fence_root() -> Element {
    use_app_provider();
    let fence = Fence::Circle {
        lat: 36.6432,
        lon: 117.9661,
        radius_m: 100.0,
    };
    let fix = Fix::new(36.6452, 117.9661, Some(30.0), chrono::Utc::now(), "gps");
    rsx! { FenceMap { fence, fix: Some(fix) } }
}

#[test]
fn fence_map_draws_circle_and_fix() {
    let harness = Harness::new(fence_root);
    let html = harness.html();

    assert!(html.contains(r#"data-shape="circle""#), "{html}");
    assert!(html.contains(r#"class="fix""#), "{html}");
    assert!(html.contains(r#"class="accuracy""#), "{html}");
    assert!(html.contains("<svg"), "{html}");
}

#[test]
fn fence_map_states_distance() {
    let harness = Harness::new(fence_root);
    let html = harness.html();

    // The fix lies about 222 m north of the centre, so 122 m outside a 100 m circle.
    assert!(html.contains("122"), "{html}");
}

fn segment(first_lat: f64, points: usize) -> Vec<TrackPoint> {
    let start = chrono::Utc::now();
    (0..points)
        .map(|index| {
            let at = start + chrono::TimeDelta::seconds(index as i64 * 5);
            TrackPoint::new(
                at,
                first_lat + index as f64 * 1e-4,
                117.97 + index as f64 * 1e-4,
            )
        })
        .collect()
}

fn track_root() -> Element {
    use_app_provider();
    let track = PatrolTrack {
        segments: vec![segment(36.64, 3), segment(36.65, 2)],
        rejected: vec![(segment(36.66, 1)[0], "low_accuracy")],
    };
    rsx! { TrackMap { track } }
}

/// Returns the `points` attribute of every polyline in `html`.
fn polylines(html: &str) -> Vec<String> {
    html.split("<polyline")
        .skip(1)
        .filter_map(|rest| rest.split_once(r#"points=""#))
        .filter_map(|(_, rest)| rest.split_once('"'))
        .map(|(points, _)| points.to_owned())
        .collect()
}

#[test]
fn track_map_one_polyline_per_segment() {
    let harness = Harness::new(track_root);
    let lines = polylines(&harness.html());

    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0].split(' ').count(), 3, "{lines:?}");
    assert_eq!(lines[1].split(' ').count(), 2, "{lines:?}");
}

#[test]
fn track_map_hides_rejected_until_asked() {
    let mut harness = Harness::new(track_root);
    let before = harness.html();

    // The only listener is the rejected-fixes toggle.
    harness.click(0);
    let after = harness.html();

    assert!(!before.contains(r#"class="rejected""#), "{before}");
    assert!(after.contains(r#"data-reason="low_accuracy""#), "{after}");
    assert_eq!(polylines(&after).len(), 2, "{after}");
}

fn conflict_root() -> Element {
    use_app_provider();
    let conflict = ConflictView {
        subject_id: Uuid::now_v7(),
        owner_name: "王芳".to_owned(),
        state: ReviewState::Approved,
        conflicts: vec![DecisionConflict {
            decision_id: Uuid::now_v7(),
            reviewer_id: Uuid::now_v7(),
            reviewer_name: "赵敏".to_owned(),
            action: "reject".to_owned(),
            based_on_version: 1,
            reason: "approved first by 李强".to_owned(),
        }],
        own_lost_reason: Some("approved first by 李强".to_owned()),
    };
    rsx! { ConflictNotice { conflict } }
}

#[test]
fn conflict_notice_renders() {
    let harness = Harness::new(conflict_root);
    let html = harness.html();
    let lost = Lang::Zh.tf(
        Msg::ConflictDecidedFirst,
        &[("reason", "approved first by 李强".to_owned())],
    );

    assert!(html.contains(&lost), "{html}");
    assert!(html.contains("赵敏"), "{html}");
    assert!(html.contains(Lang::Zh.t(Msg::Reject)), "{html}");
}

#[test]
fn escalated_item_offers_leader_nothing() {
    assert!(offered_actions(ReviewState::Escalated, Reviewer::SquadLeader).is_empty());
}

#[test]
fn escalated_item_offers_brigade_four() {
    let offered = offered_actions(ReviewState::Escalated, Reviewer::Brigade);

    assert_eq!(offered.len(), 4, "{offered:?}");
}

thread_local! {
    /// The reviewer the queue tests sign in as, read by their root component.
    static REVIEWER: RefCell<Option<Member>> = const { RefCell::new(None) };
}

fn leader() -> Member {
    Member {
        id: Uuid::now_v7(),
        name: "李强".to_owned(),
        role: Role::SquadLeader,
        brigade_id: Uuid::now_v7(),
        squad_id: Some(Uuid::now_v7()),
    }
}

fn queued_lead(state: ReviewState) -> Submission {
    let record = Record {
        id: Uuid::now_v7(),
        member_id: Uuid::now_v7(),
        captured_at: Stamp::now_local(),
        body: RecordBody::Lead(Lead {
            category: LeadCategory::FireHazard,
            note: "消防通道堵塞".to_owned(),
            position: None,
            position_source: PositionSource::Address,
            address: Some("幸福小区东门".to_owned()),
            photos: vec![],
            patrol_id: None,
        }),
    };
    Submission {
        review: ReviewInfo {
            subject_id: record.id,
            state,
            version: 1,
            flags: vec![],
            last_reason: None,
            assignee_id: None,
            conflicts: vec![],
        },
        record,
        owner_name: "王芳".to_owned(),
        received_at: chrono::Utc::now(),
        photos_total: 3,
        photos_received: 2,
    }
}

/// Signs `member` in on the database at `path` and queues `submissions`.
fn seed_queue(path: &Path, member: &Member, submissions: &[Submission]) {
    let store = Store::open(path).unwrap();
    store.set_session(member, "http://127.0.0.1:9").unwrap();
    let changes = submissions
        .iter()
        .enumerate()
        .map(|(index, submission)| Change {
            seq: index as i64 + 1,
            entity: Entity::Submission(submission.clone()),
        })
        .collect();
    let page = ChangesResponse {
        epoch: Uuid::nil(),
        changes,
        cursor: submissions.len() as i64,
        more: false,
    };
    store.apply_changes(&page).unwrap();
}

fn queue_root() -> Element {
    let mut app = use_app_provider();
    use_hook(|| {
        app.member
            .set(REVIEWER.with(|member| member.borrow().clone()))
    });
    rsx! { ReviewQueue {} }
}

fn decided_subjects(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut statement = conn
        .prepare("SELECT subject_id FROM decisions ORDER BY subject_id")
        .unwrap();
    let rows = statement.query_map([], |row| row.get(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn batch_approve_one_decision_each() {
    let member = leader();
    REVIEWER.with(|slot| *slot.borrow_mut() = Some(member.clone()));
    let leads: Vec<Submission> = (0..3)
        .map(|_| queued_lead(ReviewState::Submitted))
        .collect();
    let mut harness = Harness::seeded(queue_root, |path| seed_queue(path, &member, &leads));
    harness.settle();

    harness.click_id(&format!("select-{}", leads[0].record.id));
    harness.click_id(&format!("select-{}", leads[2].record.id));
    harness.settle();
    harness.click_id(APPROVE_SELECTED_ID);
    harness.settle();
    let mut expected = vec![
        leads[0].record.id.to_string(),
        leads[2].record.id.to_string(),
    ];
    expected.sort();

    assert_eq!(
        decided_subjects(&harness._data.path().join("redvest.sqlite3")),
        expected
    );
}

#[test]
fn escalated_card_has_no_buttons_for_leader() {
    let member = leader();
    REVIEWER.with(|slot| *slot.borrow_mut() = Some(member.clone()));
    let escalated = queued_lead(ReviewState::Escalated);
    let subject = escalated.record.id;
    let mut harness = Harness::seeded(queue_root, |path| seed_queue(path, &member, &[escalated]));
    harness.settle();
    let html = harness.html();

    assert!(html.contains(Lang::Zh.t(Msg::AwaitingBrigade)), "{html}");
    assert!(!html.contains(&format!("approve-{subject}")), "{html}");
    assert!(!html.contains(&format!("select-{subject}")), "{html}");
    assert!(!html.contains(Lang::Zh.t(Msg::ReasonRequired)), "{html}");
    assert!(!html.contains(r#"class="big danger reject""#), "{html}");
}

#[test]
fn missing_photo_shown_to_leader() {
    let member = leader();
    REVIEWER.with(|slot| *slot.borrow_mut() = Some(member.clone()));
    let lead = queued_lead(ReviewState::Submitted);
    let mut harness = Harness::seeded(queue_root, |path| seed_queue(path, &member, &[lead]));
    harness.settle();
    let html = harness.html();
    let missing = Lang::Zh.tf(
        Msg::PhotosMissing,
        &[("received", "2".to_owned()), ("total", "3".to_owned())],
    );

    assert!(html.contains(&missing), "{html}");
}

/// Encodes a small real JPEG, as the sync run would have downloaded it.
fn small_jpeg() -> Vec<u8> {
    let image =
        image::RgbImage::from_fn(16, 12, |x, y| image::Rgb([x as u8 * 16, y as u8 * 20, 90]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut std::io::Cursor::new(&mut bytes), 80)
        .encode_image(&image)
        .unwrap();
    bytes
}

/// A queued lead naming one photo, of which the server has `received`.
fn lead_with_photo(sha256: &str, received: u32) -> Submission {
    let mut submission = queued_lead(ReviewState::Submitted);
    if let RecordBody::Lead(lead) = &mut submission.record.body {
        lead.photos = vec![PhotoRef {
            sha256: sha256.to_owned(),
            bytes: 600,
            width: 16,
            height: 12,
        }];
    }
    submission.photos_total = 1;
    submission.photos_received = received;
    submission
}

/// Renders the queue of `member` with `lead`, after writing `photo` into the
/// photo folder when given.
fn queue_with_photo(member: &Member, lead: Submission, photo: Option<(&str, &[u8])>) -> Harness {
    let mut harness = Harness::seeded(queue_root, |path| {
        seed_queue(path, member, &[lead]);
        if let Some((sha256, bytes)) = photo {
            let photos_dir = path.parent().unwrap().join("photos");
            std::fs::create_dir_all(&photos_dir).unwrap();
            std::fs::write(photos_dir.join(format!("{sha256}.jpg")), bytes).unwrap();
        }
    });
    harness.settle();
    harness
}

#[test]
fn queue_card_shows_downloaded_photo() {
    let member = leader();
    REVIEWER.with(|slot| *slot.borrow_mut() = Some(member.clone()));
    let bytes = small_jpeg();
    let sha256 = "ab".repeat(32);
    let lead = lead_with_photo(&sha256, 1);
    let mut harness = queue_with_photo(&member, lead, Some((&sha256, &bytes)));
    let html = harness.html();

    assert!(html.contains(r#"<img class="thumb""#), "{html}");
    assert!(html.contains("src=\"data:image/jpeg;base64,"), "{html}");
    assert!(!html.contains(Lang::Zh.t(Msg::PhotoDownloading)), "{html}");
    assert!(!html.contains("photo-full"), "{html}");

    harness.click_id(&format!("photo-{sha256}"));
    harness.settle();
    let opened = harness.html();

    assert!(opened.contains(r#"class="photo-full""#), "{opened}");
    assert!(opened.contains(Lang::Zh.t(Msg::PhotoCloseFull)), "{opened}");
}

#[test]
fn queue_card_photo_placeholders() {
    let member = leader();
    REVIEWER.with(|slot| *slot.borrow_mut() = Some(member.clone()));
    let sha256 = "cd".repeat(32);
    let missing = Lang::Zh.tf(
        Msg::PhotosMissing,
        &[("received", "0".to_owned()), ("total", "1".to_owned())],
    );
    // Name, photos the server has, the placeholder and whether "missing" shows.
    let cases = [
        ("server has it", 1, Msg::PhotoDownloading, false),
        ("server lacks it", 0, Msg::PhotoNotDownloaded, true),
    ];

    for (name, received, placeholder, shows_missing) in cases {
        let harness = queue_with_photo(&member, lead_with_photo(&sha256, received), None);
        let html = harness.html();

        assert!(!html.contains("<img"), "{name}: {html}");
        assert!(html.contains(Lang::Zh.t(placeholder)), "{name}: {html}");
        assert_eq!(html.contains(&missing), shows_missing, "{name}: {html}");
    }
}

fn lead_root() -> Element {
    let mut app = use_app_provider();
    use_hook(|| {
        app.member
            .set(REVIEWER.with(|member| member.borrow().clone()))
    });
    rsx! { redvest::screens::lead::LeadCapture {} }
}

fn draft_notes(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut statement = conn.prepare("SELECT note FROM lead_drafts").unwrap();
    let rows = statement.query_map([], |row| row.get(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn lead_form_restores_saved_draft() {
    let member = leader();
    REVIEWER.with(|slot| *slot.borrow_mut() = Some(member.clone()));
    let fields = redvest_core::store::DraftFields {
        category: Some(LeadCategory::FireHazard),
        note: "楼道里堆满了纸箱".to_owned(),
        photos: Vec::new(),
        position: None,
        position_source: None,
        address: Some("般阳路 12 号".to_owned()),
        patrol_id: None,
    };
    let mut harness = Harness::seeded(lead_root, |path| {
        let store = Store::open(path).unwrap();
        store.set_session(&member, "http://127.0.0.1:9").unwrap();
        store.save_draft(Uuid::now_v7(), &fields).unwrap();
    });
    harness.settle();
    let html = harness.html();

    assert!(html.contains("楼道里堆满了纸箱"), "{html}");
    assert!(html.contains("般阳路 12 号"), "{html}");
    assert!(html.contains(r#"class="chip big active""#), "{html}");
}

#[test]
fn lead_form_saves_typed_note() {
    let member = leader();
    REVIEWER.with(|slot| *slot.borrow_mut() = Some(member.clone()));
    let mut harness = Harness::seeded(lead_root, |path| {
        let store = Store::open(path).unwrap();
        store.set_session(&member, "http://127.0.0.1:9").unwrap();
    });
    harness.settle();

    harness.click_id("category-FireHazard");
    harness.input(0, "消防通道被电动车堵住");
    harness.settle();

    assert_eq!(
        draft_notes(&harness._data.path().join("redvest.sqlite3")),
        vec!["消防通道被电动车堵住".to_owned()]
    );
}
