//! Sync tests: the phone's store and sync client against a real server on
//! 127.0.0.1 port 0, with a fault-injecting proxy where a fault is needed.

mod support;

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use image::codecs::jpeg::JpegEncoder;
use redvest_core::store::{LeadDraft, LeadPhoto, LocalState, Store};
use redvest_core::sync::client::MAX_DOWNLOAD_BYTES;
use redvest_core::sync::downloads::{fetch_review_photos, photo_path};
use redvest_core::sync::run::SIGN_IN_MESSAGE;
use redvest_core::sync::{sync_once, SyncClient, SyncEngine, SyncError, TokenSource};
use redvest_proto::records::{Lead, LeadCategory, PatrolMode, PhotoRef, PositionSource};
use redvest_proto::review::{Action, ReviewState};
use redvest_proto::wire::{Entity, ReviewInfo, Role, Site, Submission};
use redvest_proto::{Record, RecordBody};
use sha2::{Digest, Sha256};
use support::{
    fix, page, Fault, FaultProxy, TestServer, TestStore, DEMO_PASSWORD, LEADER_PHONE,
    VOLUNTEER_PHONE,
};

/// A volunteer of the demo's second squad, whom the first squad's leader does not review.
const OTHER_SQUAD_VOLUNTEER_PHONE: &str = "13800000006";

/// A phone: a store signed in to the server at `url`, its client and token.
struct Phone {
    test: TestStore,
    client: SyncClient,
    token: String,
}

impl Phone {
    async fn sign_in(url: &str, phone: &str) -> Self {
        let test = TestStore::new();
        let client = SyncClient::new(url).unwrap();
        let device_id = test.store.device_id().unwrap();
        let session = client
            .sign_in(phone, DEMO_PASSWORD, device_id)
            .await
            .unwrap();
        test.store.set_session(&session.member, url).unwrap();
        Self {
            test,
            client,
            token: session.token,
        }
    }

    fn store(&self) -> &Store {
        &self.test.store
    }

    async fn sync(&self) -> Result<redvest_core::sync::SyncReport, SyncError> {
        sync_once(self.store(), &self.client, &self.token).await
    }

    /// The first demo site, pulled from the server on first sync.
    async fn first_site(&self) -> Site {
        self.sync().await.unwrap();
        self.store()
            .sites()
            .unwrap()
            .into_iter()
            .next()
            .expect("server sent no sites")
    }

    fn site_centre(site: &Site) -> (f64, f64) {
        match &site.fence {
            redvest_proto::wire::Fence::Circle { lat, lon, .. } => (*lat, *lon),
            redvest_proto::wire::Fence::Polygon { ring } => ring[0],
        }
    }

    /// Captures a lead with one noisy JPEG of about `side` pixels square.
    fn capture_lead(&self, side: u32) -> (uuid::Uuid, String, u64) {
        let bytes = noisy_jpeg(side);
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let path = self.test.photo_file(&format!("{sha256}.jpg"), &bytes);
        let draft = LeadDraft {
            category: LeadCategory::FireHazard,
            note: "楼道堆放杂物".to_owned(),
            position: Some(fix(36.6512, 117.1201)),
            position_source: PositionSource::Fix,
            address: None,
            photos: vec![LeadPhoto {
                photo: PhotoRef {
                    sha256: sha256.clone(),
                    bytes: bytes.len() as u64,
                    width: side,
                    height: side,
                },
                path,
            }],
            patrol_id: None,
        };
        (
            self.store().capture_lead(draft).unwrap(),
            sha256,
            bytes.len() as u64,
        )
    }
}

/// Encodes a JPEG of pseudo-random pixels, which compresses badly on purpose.
fn noisy_jpeg(side: u32) -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9;
    let image = image::RgbImage::from_fn(side, side, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [r, g, b, _] = state.to_le_bytes();
        image::Rgb([r, g, b])
    });
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut Cursor::new(&mut bytes), 90)
        .encode_image(&image)
        .unwrap();
    bytes
}

fn record_row(test: &TestStore, id: &str) -> (String, String, Option<String>) {
    test.raw()
        .query_row(
            "SELECT json, state, reason FROM records WHERE id = ?1",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap()
}

#[tokio::test]
async fn push_stores_clock_in_once() {
    let server = TestServer::start().await;
    let phone = Phone::sign_in(&server.url, VOLUNTEER_PHONE).await;
    let site = phone.first_site().await;
    let (lat, lon) = Phone::site_centre(&site);
    let receipt = phone
        .store()
        .clock_in(site.id, Some(fix(lat, lon)), None, None)
        .unwrap();

    let report = phone.sync().await.unwrap();
    let again = phone.sync().await.unwrap();

    assert_eq!(report.stored, 1);
    assert_eq!(again.stored, 0);
    let id = receipt.shift_id.to_string();
    assert_eq!(
        server.count("SELECT COUNT(*) FROM records WHERE id = ?1", &id),
        1
    );
    assert_eq!(record_row(&phone.test, &id).1, "sent");
    assert_eq!(phone.store().sync_status().unwrap().pending, 0);
}

#[tokio::test]
async fn server_error_leaves_record_queued() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(&server.url).await;
    let phone = Phone::sign_in(&proxy.url, VOLUNTEER_PHONE).await;
    let site = phone.first_site().await;
    let receipt = phone.store().clock_in(site.id, None, None, None).unwrap();
    let id = receipt.shift_id.to_string();
    let before = record_row(&phone.test, &id);
    proxy.inject("/v1/push", Fault::Status(500));

    let result = phone.sync().await;

    let error = result.expect_err("a 500 must fail the run");
    assert!(error.is_transient(), "{error}");
    assert_eq!(record_row(&phone.test, &id), before);
    assert_eq!(
        phone
            .test
            .count("SELECT COUNT(*) FROM outbox WHERE kind = 'record'"),
        1
    );
    assert_eq!(
        server.count("SELECT COUNT(*) FROM records WHERE id = ?1", &id),
        0
    );
}

#[tokio::test]
async fn unauthorized_stops_after_one_request() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(&server.url).await;
    let mut phone = Phone::sign_in(&proxy.url, VOLUNTEER_PHONE).await;
    for _ in 0..250 {
        let patrol_id = phone
            .store()
            .start_patrol(PatrolMode::Walking, None)
            .unwrap();
        phone.store().stop_patrol(patrol_id).unwrap();
    }
    phone.token = "revoked-token".to_owned();

    let result = phone.sync().await;

    assert!(result.expect_err("a 401 must fail the run").is_auth());
    let authorized: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|line| !line.ends_with("/v1/health") && !line.ends_with("/v1/session"))
        .collect();
    assert_eq!(authorized, vec!["POST /v1/push".to_owned()]);
    let status = phone.store().sync_status().unwrap();
    assert!(status.needs_sign_in);
    assert_eq!(status.last_error.as_deref(), Some(SIGN_IN_MESSAGE));
    assert_eq!(status.pending, 500);
}

#[tokio::test]
async fn dropped_response_then_retry_stores_once() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(&server.url).await;
    let phone = Phone::sign_in(&proxy.url, VOLUNTEER_PHONE).await;
    let site = phone.first_site().await;
    let receipt = phone.store().clock_in(site.id, None, None, None).unwrap();
    let id = receipt.shift_id.to_string();
    proxy.inject("/v1/push", Fault::DropResponse);

    let lost = phone.sync().await;
    let retried = phone.sync().await;

    assert!(lost
        .expect_err("the dropped response must fail the run")
        .is_transient());
    assert_eq!(retried.unwrap().stored, 1);
    assert_eq!(
        server.count("SELECT COUNT(*) FROM records WHERE id = ?1", &id),
        1
    );
    assert_eq!(record_row(&phone.test, &id).1, "sent");
}

#[tokio::test]
async fn retry_after_is_reported() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(&server.url).await;
    let phone = Phone::sign_in(&proxy.url, VOLUNTEER_PHONE).await;
    proxy.inject("/v1/health", Fault::RetryAfter);

    let error = phone.sync().await.expect_err("a 503 must fail the run");

    assert!(error.is_transient());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn photo_uploads_after_its_lead() {
    let server = TestServer::start().await;
    let phone = Phone::sign_in(&server.url, VOLUNTEER_PHONE).await;
    phone.sync().await.unwrap();
    let (lead_id, sha256, bytes) = phone.capture_lead(700);
    assert!(
        bytes > 2 * 256 * 1024,
        "the photo must need several chunks, has {bytes} bytes"
    );

    let report = phone.sync().await.unwrap();

    assert_eq!(report.photos_uploaded, 1);
    let status = phone
        .client
        .photo_status(&phone.token, &sha256)
        .await
        .unwrap();
    assert!(status.complete);
    assert_eq!(status.bytes_received, bytes);
    let mine = phone.store().my_submissions().unwrap();
    let lead = mine.iter().find(|view| view.record.id == lead_id).unwrap();
    assert_eq!((lead.photos_sent, lead.photos_total), (1, 1));
    assert_eq!(lead.local_state, LocalState::Sent);
}

#[tokio::test]
async fn photo_upload_resumes_from_server_offset() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(&server.url).await;
    let phone = Phone::sign_in(&proxy.url, VOLUNTEER_PHONE).await;
    phone.sync().await.unwrap();
    let (_, sha256, bytes) = phone.capture_lead(700);
    let chunks = bytes.div_ceil(256 * 1024) as usize;
    // The first chunk gets through and the second fails, as when the
    // signal drops half-way through an upload.
    proxy.inject_after("PATCH /v1/photos/", 1, Fault::Status(503));

    let cut = phone.sync().await;
    let partial = phone
        .client
        .photo_status(&phone.token, &sha256)
        .await
        .unwrap();
    let resumed = phone.sync().await;

    assert!(cut.expect_err("the 503 must fail the run").is_transient());
    assert_eq!(partial.bytes_received, 256 * 1024);
    assert_eq!(resumed.unwrap().photos_uploaded, 1);
    assert_eq!(proxy.count("PATCH /v1/photos/"), chunks + 1);
    let status = phone
        .client
        .photo_status(&phone.token, &sha256)
        .await
        .unwrap();
    assert!(status.complete);
    assert_eq!(status.bytes_received, bytes);
}

#[tokio::test]
async fn leader_rejects_flagged_clock_in() {
    let server = TestServer::start().await;
    let volunteer = Phone::sign_in(&server.url, VOLUNTEER_PHONE).await;
    let leader = Phone::sign_in(&server.url, LEADER_PHONE).await;
    let site = volunteer.first_site().await;
    let (lat, lon) = Phone::site_centre(&site);
    let receipt = volunteer
        .store()
        .clock_in(site.id, Some(fix(lat + 0.05, lon)), None, None)
        .unwrap();
    volunteer.sync().await.unwrap();

    leader.sync().await.unwrap();
    let queue = leader.store().review_queue().unwrap();
    let item = queue
        .iter()
        .find(|item| item.record.id == receipt.shift_id)
        .expect("flagged clock-in not queued");
    leader
        .store()
        .decide(
            item.record.id,
            Action::Reject {
                reason: "不在岗位范围内".to_owned(),
            },
        )
        .unwrap();
    let report = leader.sync().await.unwrap();
    volunteer.sync().await.unwrap();

    assert_eq!(report.decisions_sent, 1);
    let mine = volunteer.store().my_submissions().unwrap();
    let review = mine
        .iter()
        .find(|view| view.record.id == receipt.shift_id)
        .unwrap()
        .review
        .clone()
        .unwrap();
    assert_eq!(review.state, ReviewState::Rejected);
    assert_eq!(review.reason.as_deref(), Some("不在岗位范围内"));
    assert!(leader
        .store()
        .review_queue()
        .unwrap()
        .iter()
        .all(|item| item.record.id != receipt.shift_id));
}

#[tokio::test]
async fn restored_server_gets_records_again() {
    let server = TestServer::start().await;
    let phone = Phone::sign_in(&server.url, VOLUNTEER_PHONE).await;
    let site = phone.first_site().await;
    let receipt = phone.store().clock_in(site.id, None, None, None).unwrap();
    phone.sync().await.unwrap();
    let id = receipt.shift_id.to_string();
    // Restore an older copy of the server database: the record is gone and
    // the epoch is new.
    let restored_dir = tempfile::tempdir().unwrap();
    let backup = restored_dir.path().join("redvest.db");
    drop(server);
    let fresh = TestServer::start().await;
    std::fs::copy(fresh.dir.path().join("redvest.db"), &backup).unwrap();
    drop(fresh);
    rusqlite::Connection::open(&backup)
        .unwrap()
        .execute(
            "UPDATE meta SET value = ?1 WHERE key = 'epoch'",
            [uuid::Uuid::new_v4().to_string()],
        )
        .unwrap();
    let restored = TestServer::serve(restored_dir).await;
    let session = SyncClient::new(&restored.url)
        .unwrap()
        .sign_in(
            VOLUNTEER_PHONE,
            DEMO_PASSWORD,
            phone.store().device_id().unwrap(),
        )
        .await
        .unwrap();
    let client = SyncClient::new(&restored.url).unwrap();

    let report = sync_once(phone.store(), &client, &session.token)
        .await
        .unwrap();

    assert!(report.epoch_changed);
    assert_eq!(
        restored.count("SELECT COUNT(*) FROM records WHERE id = ?1", &id),
        1
    );
}

struct FixedToken(String);

impl TokenSource for FixedToken {
    fn token(&self) -> Option<String> {
        Some(self.0.clone())
    }
}

#[tokio::test]
async fn engine_syncs_on_nudge() {
    let server = TestServer::start().await;
    let phone = Phone::sign_in(&server.url, VOLUNTEER_PHONE).await;
    let site = phone.first_site().await;
    let tokens = Arc::new(FixedToken(phone.token.clone()));
    let handle = SyncEngine::spawn(phone.test.path(), server.url.clone(), tokens);
    let mut status = handle.status();
    let first_run = status
        .wait_for(|status| status.last_success.is_some())
        .await
        .unwrap()
        .last_success;

    phone.store().clock_in(site.id, None, None, None).unwrap();
    handle.nudge();
    let pushed = |status: &redvest_core::store::SyncStatus| {
        status.last_success > first_run && status.pending == 0
    };
    let synced = tokio::time::timeout(Duration::from_secs(10), status.wait_for(pushed));

    assert!(synced.await.is_ok(), "engine did not push after the nudge");
    handle.shutdown().await;
    assert_eq!(phone.store().sync_status().unwrap().pending, 0);
}

#[tokio::test]
async fn conflicting_body_is_marked_conflict() {
    let server = TestServer::start().await;
    let phone = Phone::sign_in(&server.url, VOLUNTEER_PHONE).await;
    phone.sync().await.unwrap();
    let (lead_id, _, _) = phone.capture_lead(64);
    let mut other_body = phone.store().next_push_batch(200).unwrap().unwrap().records[0].clone();
    if let redvest_proto::RecordBody::Lead(lead) = &mut other_body.body {
        lead.note = "另一个版本".to_owned();
    }
    let earlier = redvest_proto::wire::PushRequest {
        device_id: uuid::Uuid::now_v7(),
        batch_seq: 1,
        records: vec![other_body],
        sent_at: None,
    };
    phone.client.push(&phone.token, &earlier).await.unwrap();

    let report = phone.sync().await.unwrap();

    assert_eq!(report.conflicts, 1);
    let mine = phone.store().my_submissions().unwrap();
    let lead = mine.iter().find(|view| view.record.id == lead_id).unwrap();
    assert_eq!(lead.local_state, LocalState::Conflict);
    assert!(lead.local_reason.is_some());
}

/// Captures a lead with a typed address and no photo.
fn capture_plain_lead(phone: &Phone, note: &str) -> String {
    let draft = LeadDraft {
        category: LeadCategory::Other,
        note: note.to_owned(),
        position: None,
        position_source: PositionSource::Address,
        address: Some("实验小学东门".to_owned()),
        photos: Vec::new(),
        patrol_id: None,
    };
    phone.store().capture_lead(draft).unwrap().to_string()
}

#[tokio::test]
async fn rejected_batch_isolates_bad_record() {
    for status in [400, 413, 422] {
        let server = TestServer::start().await;
        let proxy = FaultProxy::start(&server.url).await;
        let phone = Phone::sign_in(&proxy.url, VOLUNTEER_PHONE).await;
        phone.sync().await.unwrap();
        let mut good = Vec::new();
        for index in 0..6 {
            good.push(capture_plain_lead(&phone, &format!("正常线索 {index}")));
        }
        let bad = capture_plain_lead(&phone, "reject-this-record");
        good.push(capture_plain_lead(&phone, "正常线索 6"));
        proxy.reject_bodies_containing("reject-this-record", status);

        let report = phone.sync().await;

        let report = report.unwrap_or_else(|error| panic!("HTTP {status}: run failed: {error}"));
        assert_eq!(report.rejected, 1, "HTTP {status}: rejected count");
        assert_eq!(report.stored, good.len(), "HTTP {status}: stored count");
        let (_, state, reason) = record_row(&phone.test, &bad);
        assert_eq!(state, "rejected", "HTTP {status}: bad record state");
        let reason = reason.unwrap_or_default();
        assert!(
            reason.contains(&format!("HTTP {status}")) && reason.contains("fault proxy"),
            "HTTP {status}: reason {reason:?} lacks the server's message"
        );
        for id in &good {
            assert_eq!(record_row(&phone.test, id).1, "sent", "HTTP {status}: {id}");
            let rows = server.count("SELECT COUNT(*) FROM records WHERE id = ?1", id);
            assert_eq!(rows, 1, "HTTP {status}: server rows of {id}");
        }
        let bad_rows = server.count("SELECT COUNT(*) FROM records WHERE id = ?1", &bad);
        assert_eq!(bad_rows, 0, "HTTP {status}: server rows of the bad record");
        assert_eq!(
            phone.store().sync_status().unwrap().pending,
            0,
            "HTTP {status}: outbox"
        );
    }
}

#[tokio::test]
async fn oversized_record_is_rejected_alone() {
    let server = TestServer::start().await;
    let phone = Phone::sign_in(&server.url, VOLUNTEER_PHONE).await;
    phone.sync().await.unwrap();
    let before = capture_plain_lead(&phone, "正常线索");
    // Bigger than the server's 8 MiB request body limit on its own.
    let huge = capture_plain_lead(&phone, &"很长的备注".repeat(600_000));
    let after = capture_plain_lead(&phone, "另一条正常线索");

    let report = phone.sync().await.unwrap();

    assert_eq!(report.rejected, 1);
    let (_, state, reason) = record_row(&phone.test, &huge);
    assert_eq!(state, "rejected");
    assert!(reason.unwrap_or_default().contains("HTTP 413"));
    for id in [&before, &after] {
        assert_eq!(record_row(&phone.test, id).1, "sent", "{id}");
        let rows = server.count("SELECT COUNT(*) FROM records WHERE id = ?1", id);
        assert_eq!(rows, 1, "server rows of {id}");
    }
}

/// Returns the attempts of a photo's outbox entry and its hold-back from now.
fn photo_hold_back(test: &TestStore, sha256: &str) -> (i64, chrono::Duration) {
    let (attempts, next): (i64, String) = test
        .raw()
        .query_row(
            "SELECT attempts, next_attempt_at FROM outbox WHERE kind = 'photo' AND target_id = ?1",
            [sha256],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(&next).unwrap();
    (
        attempts,
        next.with_timezone(&chrono::Utc) - chrono::Utc::now(),
    )
}

#[tokio::test]
async fn failing_photo_is_held_back_longer() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(&server.url).await;
    let phone = Phone::sign_in(&proxy.url, VOLUNTEER_PHONE).await;
    phone.sync().await.unwrap();
    let (_, sha256, _) = phone.capture_lead(64);
    let expected_minutes = [5, 10, 20];

    let mut observed = Vec::new();
    for _ in expected_minutes {
        proxy.inject("/status", Fault::Status(422));
        phone.sync().await.unwrap();
        observed.push(photo_hold_back(&phone.test, &sha256));
        // Make the entry due again, as if the hold-back had passed.
        phone
            .test
            .raw()
            .execute(
                "UPDATE outbox SET next_attempt_at = NULL WHERE kind = 'photo'",
                [],
            )
            .unwrap();
    }

    for (index, minutes) in expected_minutes.into_iter().enumerate() {
        let (attempts, hold_back) = observed[index];
        assert_eq!(attempts, index as i64 + 1, "attempt {}", index + 1);
        let expected = chrono::Duration::minutes(minutes);
        let slack = chrono::Duration::seconds(30);
        assert!(
            hold_back <= expected && hold_back > expected - slack,
            "attempt {}: held back {hold_back}, expected about {expected}",
            index + 1
        );
    }
}

/// Returns the leader's cached copy of a photo, if the download wrote one.
fn cached_photo(phone: &Phone, sha256: &str) -> Option<Vec<u8>> {
    let photos_dir = phone.store().photos_dir().unwrap();
    std::fs::read(photo_path(&photos_dir, sha256)).ok()
}

#[tokio::test]
async fn leader_downloads_lead_photo() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(&server.url).await;
    let volunteer = Phone::sign_in(&server.url, VOLUNTEER_PHONE).await;
    let leader = Phone::sign_in(&proxy.url, LEADER_PHONE).await;
    volunteer.sync().await.unwrap();
    let (lead_id, sha256, _) = volunteer.capture_lead(300);
    let sent = std::fs::read(volunteer.test.dir.path().join(format!("{sha256}.jpg"))).unwrap();
    volunteer.sync().await.unwrap();

    let first = leader.sync().await.unwrap();
    let second = leader.sync().await.unwrap();

    let queued = leader.store().review_queue().unwrap();
    assert!(queued.iter().any(|item| item.record.id == lead_id));
    assert_eq!(first.photos_downloaded, 1);
    assert_eq!(second.photos_downloaded, 0);
    assert_eq!(proxy.count(&format!("GET /v1/photos/{sha256}")), 1);
    let cached = cached_photo(&leader, &sha256).expect("photo not downloaded");
    assert_eq!(cached, sent);
    assert_eq!(hex::encode(Sha256::digest(&cached)), sha256);
}

#[tokio::test]
async fn other_squad_photo_never_fetched() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(&server.url).await;
    let other_volunteer = Phone::sign_in(&server.url, OTHER_SQUAD_VOLUNTEER_PHONE).await;
    let leader = Phone::sign_in(&proxy.url, LEADER_PHONE).await;
    other_volunteer.sync().await.unwrap();
    let (lead_id, sha256, _) = other_volunteer.capture_lead(64);
    other_volunteer.sync().await.unwrap();

    let report = leader.sync().await.unwrap();

    let queued = leader.store().review_queue().unwrap();
    assert!(queued.iter().all(|item| item.record.id != lead_id));
    assert_eq!(report.photos_downloaded, 0);
    assert_eq!(proxy.count(&format!("/v1/photos/{sha256}")), 0);
    assert_eq!(cached_photo(&leader, &sha256), None);
}

#[tokio::test]
async fn hidden_photo_skipped_run_succeeds() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(&server.url).await;
    let other_volunteer = Phone::sign_in(&server.url, OTHER_SQUAD_VOLUNTEER_PHONE).await;
    let leader = Phone::sign_in(&proxy.url, LEADER_PHONE).await;
    other_volunteer.sync().await.unwrap();
    let (_, sha256, _) = other_volunteer.capture_lead(64);
    other_volunteer.sync().await.unwrap();
    leader.sync().await.unwrap();
    // A queue item naming a photo the server will not show this leader, as
    // a stale or tampered local queue would.
    queue_lead_naming(leader.store(), &sha256);

    let report = leader.sync().await.expect("a 404 must not fail the run");

    assert_eq!(report.photos_downloaded, 0);
    assert_eq!(proxy.count(&format!("GET /v1/photos/{sha256}")), 1);
    assert_eq!(cached_photo(&leader, &sha256), None);
}

/// Adds to `store`'s review queue a lead of another member whose one photo,
/// `sha256`, the server holds, as a pulled change would.
fn queue_lead_naming(store: &Store, sha256: &str) {
    let record = Record {
        id: uuid::Uuid::now_v7(),
        member_id: uuid::Uuid::now_v7(),
        captured_at: redvest_proto::Stamp::now_local(),
        body: RecordBody::Lead(Lead {
            category: LeadCategory::Traffic,
            note: "路灯损坏".to_owned(),
            position: None,
            position_source: PositionSource::Address,
            address: Some("幸福路 12 号".to_owned()),
            photos: vec![PhotoRef {
                sha256: sha256.to_owned(),
                bytes: 1,
                width: 1,
                height: 1,
            }],
            patrol_id: None,
        }),
    };
    let submission = Submission {
        review: ReviewInfo {
            subject_id: record.id,
            state: ReviewState::Submitted,
            version: 1,
            flags: vec![],
            last_reason: None,
            assignee_id: None,
            conflicts: vec![],
        },
        record,
        owner_name: "王芳".to_owned(),
        received_at: chrono::Utc::now(),
        photos_total: 1,
        photos_received: 1,
    };
    let cursor = store.cursor().unwrap();
    let mut changes = page(cursor + 1, vec![Entity::Submission(submission)]);
    // The cursor stays put so the next pull misses no change of the server.
    changes.cursor = cursor;
    store.apply_changes(&changes).unwrap();
}

/// Serves `body` for every photo download, as a broken cache or a hostile
/// network in front of the server would, on 127.0.0.1 port 0.
async fn serve_photo_body(body: Vec<u8>) -> String {
    let app = axum::Router::new().route(
        "/v1/photos/{sha256}",
        axum::routing::get(move || async move { body }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn corrupt_or_oversized_download_not_written() {
    let expected = noisy_jpeg(32);
    let sha256 = hex::encode(Sha256::digest(&expected));
    let mut flipped = expected.clone();
    flipped[100] ^= 0xff;
    let oversized = vec![0u8; MAX_DOWNLOAD_BYTES as usize + 1];
    let cases = [
        ("other photo", noisy_jpeg(33)),
        ("one byte flipped", flipped),
        ("truncated", expected[..expected.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("over the size limit", oversized),
    ];

    for (name, body) in cases {
        let url = serve_photo_body(body).await;
        let (test, _, _) = TestStore::signed_in(Role::SquadLeader);
        queue_lead_naming(&test.store, &sha256);
        let photos_dir = test.store.photos_dir().unwrap();
        let client = SyncClient::new(&url).unwrap();

        let report = fetch_review_photos(&test.store, &client, "token", &photos_dir, 12)
            .await
            .unwrap();

        assert_eq!(report.downloaded, 0, "{name}");
        assert_eq!(report.skipped, 1, "{name}");
        let left: Vec<_> = std::fs::read_dir(&photos_dir).unwrap().collect();
        assert!(left.is_empty(), "{name}: photo folder holds {left:?}");
    }
}

#[tokio::test]
async fn download_rejects_bad_photo_name() {
    let url = serve_photo_body(b"never sent".to_vec()).await;
    let client = SyncClient::new(&url).unwrap();
    let names = ["../redvest.sqlite3", "ABCDEF", &"A".repeat(64)];

    for name in names {
        let result = client.download_photo("token", name).await;

        assert!(
            matches!(result, Err(SyncError::InvalidSha256(_))),
            "{name}: {result:?}"
        );
    }
}
