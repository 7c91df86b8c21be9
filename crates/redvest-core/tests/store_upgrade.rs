//! Upgrade tests: copies of a phone database written by schema version 1
//! (`tests/fixtures/store-v1.db`, see the README there) are opened with the
//! current store. Every row must survive unchanged, the queue must go on
//! where it stopped, and a migration killed half-way must complete on the
//! next start.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redvest_core::store::{migrate_to, DraftFields, Store, PAUSE_POINTS, SCHEMA_VERSION};
use redvest_core::sync::{sync_once, SyncClient};
use redvest_proto::records::{LeadCategory, PositionSource};
use redvest_proto::wire::PushRequest;
use redvest_proto::Record;
use rusqlite::types::Value;
use rusqlite::Connection;
use support::{fix, FaultProxy, TestServer, DEMO_PASSWORD, LEADER_PHONE, VOLUNTEER_PHONE};
use tempfile::TempDir;
use uuid::Uuid;

const FIXTURE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The environment variable that turns `migration_child` into the child
/// process of the kill tests; it names the database to open.
const CHILD_DB_VAR: &str = "REDVEST_UPGRADE_CHILD_DB";

/// The tables of schema version 1, each compared row by row across the upgrade.
const V1_TABLES: [&str; 16] = [
    "device",
    "session_member",
    "members",
    "sites",
    "records",
    "shifts",
    "patrols",
    "track_points",
    "leads",
    "photos",
    "lead_photos",
    "reviews",
    "review_queue",
    "decisions",
    "outbox",
    "sync_state",
];

/// A private copy of the fixture whose photo paths point at copied files.
struct V1Copy {
    dir: TempDir,
}

impl V1Copy {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let photo_dir = dir.path().join("photos");
        std::fs::create_dir(&photo_dir).unwrap();
        std::fs::copy(
            format!("{FIXTURE_DIR}/store-v1.db"),
            dir.path().join("phone.db"),
        )
        .unwrap();
        for entry in std::fs::read_dir(format!("{FIXTURE_DIR}/store-v1-photos")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), photo_dir.join(entry.file_name())).unwrap();
        }
        // The fixture was written on another machine: point its photo rows
        // at this test's copies, the only change made before the upgrade.
        let prefix = format!("{}/", photo_dir.display());
        raw(&dir.path().join("phone.db"))
            .execute(
                "UPDATE photos SET local_path = ?1 || sha256 || '.jpg'",
                [prefix],
            )
            .unwrap();
        Self { dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("phone.db")
    }
}

fn raw(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

fn user_version(path: &Path) -> i64 {
    raw(path)
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

fn integrity(path: &Path) -> String {
    raw(path)
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

/// Returns every row of `table`, all columns, in rowid order.
fn table_rows(path: &Path, table: &str) -> Vec<Vec<Value>> {
    let conn = raw(path);
    let mut statement = conn
        .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
        .unwrap();
    let columns = statement.column_count();
    let rows = statement
        .query_map([], |row| {
            (0..columns)
                .map(|index| row.get::<_, Value>(index))
                .collect()
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

fn snapshot(path: &Path) -> Vec<Vec<Vec<Value>>> {
    V1_TABLES
        .iter()
        .map(|table| table_rows(path, table))
        .collect()
}

fn record_ids(path: &Path, state: &str) -> BTreeSet<String> {
    let conn = raw(path);
    let mut statement = conn
        .prepare("SELECT id FROM records WHERE state = ?1")
        .unwrap();
    let rows = statement.query_map([state], |row| row.get(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn fixture_is_version_one() {
    let copy = V1Copy::new();

    assert_eq!(user_version(&copy.db()), 1);
    assert_eq!(record_ids(&copy.db(), "sent").len(), 3);
    assert_eq!(record_ids(&copy.db(), "queued").len(), 6);
}

#[test]
fn upgrade_reaches_latest_version() {
    let copy = V1Copy::new();

    Store::open(copy.db()).unwrap();

    assert_eq!(user_version(&copy.db()), 2);
    assert_eq!(SCHEMA_VERSION, 2);
    assert_eq!(integrity(&copy.db()), "ok");
}

#[test]
fn upgrade_keeps_every_row() {
    let copy = V1Copy::new();
    let before = snapshot(&copy.db());

    Store::open(copy.db()).unwrap();

    let after = snapshot(&copy.db());
    for (index, table) in V1_TABLES.iter().enumerate() {
        assert_eq!(after[index], before[index], "table {table}");
    }
}

#[test]
fn upgraded_queue_is_unchanged() {
    let copy = V1Copy::new();
    let queued = record_ids(&copy.db(), "queued");

    let store = Store::open(copy.db()).unwrap();

    let status = store.sync_status().unwrap();
    // Six records, the decision and two photos.
    assert_eq!(status.pending, 9);
    let batch = store.next_push_batch(200).unwrap().unwrap();
    let batch_ids: BTreeSet<String> = batch.records.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(batch_ids, queued);
    assert_eq!(store.queued_decisions().unwrap().len(), 1);
}

#[test]
fn drafts_work_after_upgrade() {
    let copy = V1Copy::new();
    let store = Store::open(copy.db()).unwrap();
    let id = Uuid::now_v7();
    let mut fields = DraftFields {
        note: "井盖缺失".to_owned(),
        ..DraftFields::default()
    };
    store.save_draft(id, &fields).unwrap();
    fields.category = Some(LeadCategory::Traffic);
    fields.position = Some(fix(36.6401, 117.9702));
    fields.position_source = Some(PositionSource::MapPick);
    store.save_draft(id, &fields).unwrap();

    let saved = store.drafts().unwrap();
    let lead_id = store.capture_lead_from_draft(id).unwrap();

    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].fields, fields);
    assert!(store.drafts().unwrap().is_empty());
    assert!(record_ids(&copy.db(), "queued").contains(&lead_id.to_string()));
}

#[test]
fn migrate_to_stops_at_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let mut conn = raw(&path);

    migrate_to(&mut conn, 1).unwrap();
    let drafts_at_one = conn.prepare("SELECT 1 FROM lead_drafts").is_ok();
    migrate_to(&mut conn, SCHEMA_VERSION).unwrap();

    assert!(!drafts_at_one);
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    assert!(conn.prepare("SELECT 1 FROM lead_drafts").is_ok());
}

/// Rebuilds the server the fixture synced with, from the same demo seed:
/// its epoch, the three records it acknowledged, the volunteer's clock-in
/// under review, and the first half of the half-uploaded photo.
async fn matching_server(fixture: &Path) -> TestServer {
    let epoch: String = raw(fixture)
        .query_row("SELECT server_epoch FROM device", [], |row| row.get(0))
        .unwrap();
    let seeded = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        seeded.dir.path().join("redvest.db"),
        dir.path().join("redvest.db"),
    )
    .unwrap();
    drop(seeded);
    raw(&dir.path().join("redvest.db"))
        .execute("UPDATE meta SET value = ?1 WHERE key = 'epoch'", [epoch])
        .unwrap();
    let server = TestServer::serve(dir).await;

    let client = SyncClient::new(&server.url).unwrap();
    let leader = client
        .sign_in(LEADER_PHONE, DEMO_PASSWORD, Uuid::now_v7())
        .await
        .unwrap()
        .token;
    let sent = records_where(fixture, "SELECT json FROM records WHERE state = 'sent'");
    push_as_other_device(&client, &leader, sent).await;
    let volunteer = client
        .sign_in(VOLUNTEER_PHONE, DEMO_PASSWORD, Uuid::now_v7())
        .await
        .unwrap()
        .token;
    let reviewed = records_where(fixture, "SELECT record FROM review_queue");
    push_as_other_device(&client, &volunteer, reviewed).await;

    let (sha256, path, uploaded): (String, String, i64) = raw(fixture)
        .query_row(
            "SELECT sha256, local_path, uploaded_bytes FROM photos WHERE uploaded_bytes > 0",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    let bytes = std::fs::read(path).unwrap();
    let half = bytes[..uploaded as usize].to_vec();
    client
        .upload_photo_chunk(&leader, &sha256, 0, bytes.len() as u64, half)
        .await
        .unwrap();
    server
}

fn records_where(path: &Path, sql: &str) -> Vec<Record> {
    let conn = raw(path);
    let mut statement = conn.prepare(sql).unwrap();
    let rows = statement
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap();
    rows.map(|json| serde_json::from_str(&json.unwrap()).unwrap())
        .collect()
}

async fn push_as_other_device(client: &SyncClient, token: &str, records: Vec<Record>) {
    let request = PushRequest {
        device_id: Uuid::now_v7(),
        batch_seq: 1,
        records,
        sent_at: None,
    };
    client.push(token, &request).await.unwrap();
}

/// Returns every record id the server received from `device_id` in a push.
fn pushed_ids(server: &TestServer, device_id: Uuid) -> BTreeSet<String> {
    let conn = server.db();
    let mut statement = conn
        .prepare("SELECT record_ids FROM push_batches WHERE device_id = ?1")
        .unwrap();
    let rows = statement
        .query_map([device_id.to_string()], |row| row.get::<_, String>(0))
        .unwrap();
    let mut ids = BTreeSet::new();
    for json in rows {
        let batch: Vec<Uuid> = serde_json::from_str(&json.unwrap()).unwrap();
        ids.extend(batch.iter().map(Uuid::to_string));
    }
    ids
}

#[tokio::test]
async fn upgraded_store_sends_only_queued() {
    let copy = V1Copy::new();
    let queued = record_ids(&copy.db(), "queued");
    let all: BTreeSet<String> = queued
        .union(&record_ids(&copy.db(), "sent"))
        .cloned()
        .collect();
    let server = matching_server(&copy.db()).await;
    let proxy = FaultProxy::start(&server.url).await;
    let store = Store::open(copy.db()).unwrap();
    let device_id = store.device_id().unwrap();
    let client = SyncClient::new(&proxy.url).unwrap();
    let token = client
        .sign_in(LEADER_PHONE, DEMO_PASSWORD, device_id)
        .await
        .unwrap()
        .token;

    let report = sync_once(&store, &client, &token).await.unwrap();

    assert!(!report.epoch_changed);
    assert_eq!(pushed_ids(&server, device_id), queued);
    assert_eq!(report.stored, queued.len());
    for id in &all {
        let rows = server.count("SELECT COUNT(*) FROM records WHERE id = ?1", id);
        assert_eq!(rows, 1, "server rows of record {id}");
    }
    assert_eq!(record_ids(&copy.db(), "sent"), all);
    assert_eq!(report.photos_uploaded, 2);
    // One chunk for each photo: the half-done one went on from the
    // server's offset instead of sending its first half again.
    assert_eq!(proxy.count("PATCH /v1/photos/"), 2);
    assert_eq!(report.decisions_sent, 1);
    assert_eq!(store.sync_status().unwrap().pending, 0);
}

/// The child process of the kill tests: opens (and so migrates) the
/// database named by `REDVEST_UPGRADE_CHILD_DB`. Without that variable it
/// does nothing, so it passes in ordinary runs.
#[test]
fn migration_child() {
    let Ok(path) = std::env::var(CHILD_DB_VAR) else {
        return;
    };
    Store::open(path).unwrap();
}

fn spawn_child(db: &Path, pause: Option<(&str, &Path)>) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "migration_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB_VAR, db)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some((point, marker)) = pause {
        command
            .env("REDVEST_TEST_PAUSE_MIGRATION", point)
            .env("REDVEST_TEST_PAUSE_MARKER", marker);
    }
    command.spawn().unwrap()
}

fn wait_for_file(path: &Path, limit: Duration) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < limit,
            "child never reached the pause point: {} missing",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Checks a database after a killed migration: the next open completes it
/// and every version 1 row is still there.
fn assert_recovered(copy: &V1Copy, before: &[Vec<Vec<Value>>], label: &str) {
    Store::open(copy.db()).unwrap();

    assert_eq!(user_version(&copy.db()), 2, "{label}: user_version");
    assert_eq!(integrity(&copy.db()), "ok", "{label}: integrity_check");
    let after = snapshot(&copy.db());
    for (index, table) in V1_TABLES.iter().enumerate() {
        assert_eq!(after[index], before[index], "{label}: table {table}");
    }
}

#[test]
fn migration_killed_at_pause_points_completes() {
    for point in PAUSE_POINTS {
        let copy = V1Copy::new();
        let before = snapshot(&copy.db());
        let marker = copy.dir.path().join("paused");

        let mut child = spawn_child(&copy.db(), Some((point, &marker)));
        wait_for_file(&marker, Duration::from_secs(60));
        child.kill().unwrap();
        child.wait().unwrap();

        assert_eq!(user_version(&copy.db()), 1, "{point}: version after kill");
        assert_recovered(&copy, &before, point);
    }
}

#[test]
fn migration_killed_at_random_times_completes() {
    let mut rng = StdRng::seed_from_u64(5);
    for round in 0..12 {
        let copy = V1Copy::new();
        let before = snapshot(&copy.db());
        let delay = Duration::from_millis(rng.gen_range(0..30));

        let mut child = spawn_child(&copy.db(), None);
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        let killed_at = user_version(&copy.db());

        let label = format!("round {round}, killed after {delay:?} at version {killed_at}");
        eprintln!("{label}");
        assert_recovered(&copy, &before, &label);
    }
}
