//! The whole loop on real parts: the `redvest-server` binary on a loopback
//! port, and two phones (a volunteer and their squad leader), each a core
//! store in its own SQLite file. The volunteer captures a clock-in, a patrol
//! replayed from a GPX file and a lead with a JPEG while the server is down;
//! then both sync, the leader approves, and the volunteer sees it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use redvest_core::gpx;
use redvest_core::photo::{self, PhotoOptions};
use redvest_core::store::{LeadDraft, LeadPhoto, LocalState, Store};
use redvest_core::sync::{sync_once, SyncClient, SyncError};
use redvest_proto::records::{LeadCategory, PatrolMode, PositionSource, RecordBody};
use redvest_proto::review::{Action, ReviewState};
use redvest_proto::wire::PushRequest;
use tempfile::TempDir;

const PASSWORD: &str = "redvest-demo";
/// The leader and a volunteer of the first demo squad.
const LEADER_PHONE: &str = "13800000001";
const VOLUNTEER_PHONE: &str = "13800000002";

/// A running `redvest-server serve`, killed when dropped.
struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    fn start(data: &Path) -> Self {
        let mut child = Command::new(server_binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("failed to start redvest-server");

        let stdout = child.stdout.take().expect("stdout is piped");
        let mut first_line = String::new();
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .expect("failed to read the server's first line");
        let url = first_line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the server: {first_line:?}"))
            .to_owned();
        Self { child, url }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds the server binary that `cargo test --workspace` builds next to this test.
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let binary = profile_dir.join("redvest-server");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p redvest-server` first",
        binary.display()
    );
    binary
}

fn seed_demo(data: &Path) {
    let status = Command::new(server_binary())
        .args(["seed-demo", "--data"])
        .arg(data)
        .stdout(Stdio::null())
        .status()
        .expect("failed to run seed-demo");
    assert!(status.success(), "seed-demo failed: {status}");
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A phone: its store, the token from sign-in, and a client for the current server address.
struct Phone {
    _dir: TempDir,
    db: PathBuf,
    store: Store,
    photos: PathBuf,
    token: String,
    client: SyncClient,
}

impl Phone {
    async fn sign_in(server: &ServerProcess, phone: &str) -> Self {
        let dir = TempDir::new().unwrap();
        let db = dir.path().join("redvest.db");
        let store = Store::open(&db).unwrap();
        let photos = dir.path().join("photos");
        std::fs::create_dir_all(&photos).unwrap();

        let client = SyncClient::new(&server.url).unwrap();
        let session = client
            .sign_in(phone, PASSWORD, store.device_id().unwrap())
            .await
            .unwrap();
        store.set_session(&session.member, &server.url).unwrap();
        Self {
            _dir: dir,
            db,
            store,
            photos,
            token: session.token,
            client,
        }
    }

    fn connect(&mut self, server: &ServerProcess) {
        self.client = SyncClient::new(&server.url).unwrap();
    }

    async fn sync(&self) -> Result<redvest_core::sync::SyncReport, SyncError> {
        sync_once(&self.store, &self.client, &self.token).await
    }
}

fn server_count(data: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(data.join("redvest.db")).unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_capture_syncs_and_gets_approved() {
    let data = TempDir::new().unwrap();
    seed_demo(data.path());

    // Both members signed in earlier, while the server was reachable.
    let server = ServerProcess::start(data.path());
    let mut volunteer = Phone::sign_in(&server, VOLUNTEER_PHONE).await;
    let mut leader = Phone::sign_in(&server, LEADER_PHONE).await;
    volunteer.sync().await.unwrap();
    leader.sync().await.unwrap();
    drop(server);

    // Offline: clock on at the nearest site, walk the GPX patrol, report a hazard.
    let walk =
        gpx::import_fixes(&std::fs::read_to_string(fixture("patrol-walk.gpx")).unwrap()).unwrap();
    // Replay the walk as if it were happening now, as the desktop location replay does.
    let mut fixes: Vec<_> = walk.into_iter().flatten().collect();
    let shift_by = chrono::Utc::now() - fixes[0].at + chrono::Duration::seconds(2);
    for fix in &mut fixes {
        fix.at += shift_by;
    }
    let first = fixes[0].clone();
    let (site, _) = volunteer
        .store
        .nearest_site(first.lat, first.lon)
        .unwrap()
        .expect("sites were pulled");
    let shift = volunteer
        .store
        .clock_in(site.id, Some(first.clone()), None, None)
        .unwrap();

    let patrol_id = volunteer
        .store
        .start_patrol(PatrolMode::Walking, None)
        .unwrap();
    for fix in &fixes {
        volunteer.store.record_fix(patrol_id, fix).unwrap();
    }
    let summary = volunteer.store.stop_patrol(patrol_id).unwrap();
    let stop = &summary.stop;
    assert_eq!(stop.points_kept + stop.points_rejected, fixes.len() as u32);
    assert!(
        stop.distance_m > 400.0 && stop.distance_m < 600.0,
        "distance {}",
        stop.distance_m
    );

    let photo = photo::process_file(
        &fixture("hazard.jpg"),
        &volunteer.photos,
        &PhotoOptions::default(),
    )
    .unwrap();
    let photo_path = photo.path.clone();
    let lead_id = volunteer
        .store
        .capture_lead(LeadDraft {
            category: LeadCategory::FireHazard,
            note: "消防通道被电动车堵塞".to_owned(),
            position: fixes.last().cloned(),
            position_source: PositionSource::Fix,
            address: None,
            photos: vec![LeadPhoto {
                photo: photo.into_ref(),
                path: photo_path,
            }],
            patrol_id: Some(patrol_id),
        })
        .unwrap();

    let offline = volunteer.sync().await.expect_err("the server is down");
    assert!(
        offline.is_transient(),
        "unreachable server must be transient: {offline}"
    );
    let queued = volunteer.store.sync_status().unwrap().pending;
    assert!(
        queued >= 4,
        "clock-in, patrol start and stop, chunks and the lead are queued: {queued}"
    );

    // The server comes back: both phones sync.
    let server = ServerProcess::start(data.path());
    volunteer.connect(&server);
    leader.connect(&server);
    let report = volunteer.sync().await.unwrap();
    assert_eq!(report.photos_uploaded, 1);
    assert_eq!(volunteer.store.sync_status().unwrap().pending, 0);
    leader.sync().await.unwrap();

    // The leader sees the lead with its photo and approves it.
    let queue = leader.store.review_queue().unwrap();
    let item = queue
        .iter()
        .find(|item| item.record.id == lead_id)
        .expect("lead in the leader's queue");
    assert_eq!(item.review.state, ReviewState::Submitted);
    assert_eq!((item.photos_received, item.photos_total), (1, 1));
    // A flagged clock-in waits for the leader; a clean one is accepted without review.
    let clock_in_queued = queue.iter().any(|item| item.record.id == shift.shift_id);
    assert_eq!(clock_in_queued, !shift.verdict.flags.is_empty());
    leader.store.decide(lead_id, Action::Approve).unwrap();
    leader.sync().await.unwrap();

    // The volunteer's phone shows approved after its next sync.
    volunteer.sync().await.unwrap();
    let mine = volunteer.store.my_submissions().unwrap();
    let lead = mine
        .iter()
        .find(|view| view.record.id == lead_id)
        .expect("lead in my submissions");
    assert_eq!(lead.local_state, LocalState::Sent);
    assert_eq!(
        lead.review.as_ref().map(|review| review.state),
        Some(ReviewState::Approved)
    );
    assert_eq!((lead.photos_sent, lead.photos_total), (1, 1));

    // A second sync and a replayed push leave one server row per record.
    volunteer.sync().await.unwrap();
    let records = local_records(&volunteer.db);
    let replay = PushRequest {
        device_id: volunteer.store.device_id().unwrap(),
        batch_seq: 1,
        records: records.clone(),
        sent_at: None,
    };
    let first_ack = volunteer
        .client
        .push(&volunteer.token, &replay)
        .await
        .unwrap();
    let second_ack = volunteer
        .client
        .push(&volunteer.token, &replay)
        .await
        .unwrap();
    assert_eq!(first_ack, second_ack);

    let member = volunteer.store.session().unwrap().unwrap().0.id;
    let rows = server_count(
        data.path(),
        &format!("SELECT count(*) FROM records WHERE member_id = '{member}'"),
    );
    assert_eq!(rows, records.len() as i64);
    let distinct = server_count(
        data.path(),
        &format!("SELECT count(DISTINCT id) FROM records WHERE member_id = '{member}'"),
    );
    assert_eq!(distinct, rows);
    assert_eq!(server_count(data.path(), "SELECT count(*) FROM photos"), 1);
    assert!(records
        .iter()
        .any(|record| matches!(record.body, RecordBody::TrackChunk(_))));
}

/// Reads every record this phone captured from its SQLite file, as it pushes them.
fn local_records(db: &Path) -> Vec<redvest_proto::Record> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut query = conn
        .prepare("SELECT json FROM records ORDER BY id")
        .unwrap();
    let rows = query.query_map([], |row| row.get::<_, String>(0)).unwrap();
    rows.map(|json| serde_json::from_str(&json.unwrap()).unwrap())
        .collect()
}
