//! Helpers shared by the store and sync tests: fixtures built in code, a
//! store in a temporary directory, a real server on 127.0.0.1 port 0 and a
//! proxy in front of it that injects faults.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::Response;
use chrono::{NaiveTime, Utc};
use redvest_core::store::Store;
use redvest_proto::geo::Fix;
use redvest_proto::wire::{
    Change, ChangesResponse, Entity, Fence, Member, Role, SchoolCalendar, Site,
};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use uuid::Uuid;

/// A squad-1 volunteer and the squad-1 leader of the server's demo data.
pub const VOLUNTEER_PHONE: &str = "13800000002";
pub const LEADER_PHONE: &str = "13800000001";
#[allow(unused_imports)]
pub use redvest_server::seed::DEMO_PASSWORD;

/// A circular duty site of 100 m radius at a school gate in Jinan.
pub fn site(name: &str) -> Site {
    Site {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        fence: Fence::Circle {
            lat: 36.6512,
            lon: 117.1201,
            radius_m: 100.0,
        },
        time_zone: "Asia/Shanghai".to_owned(),
        windows: (1..=7)
            .map(|weekday| redvest_proto::wire::DutyWindow {
                weekday,
                start: NaiveTime::from_hms_opt(0, 0, 0).unwrap(),
                end: NaiveTime::from_hms_opt(23, 59, 0).unwrap(),
            })
            .collect(),
        calendar: SchoolCalendar::default(),
        grace_before_min: 10,
        grace_after_min: 10,
        demo: false,
    }
}

pub fn member(role: Role) -> Member {
    Member {
        id: Uuid::now_v7(),
        name: "测试队员".to_owned(),
        role,
        brigade_id: Uuid::now_v7(),
        squad_id: Some(Uuid::now_v7()),
    }
}

pub fn fix(lat: f64, lon: f64) -> Fix {
    Fix::new(lat, lon, Some(8.0), Utc::now(), "gps")
}

/// A page of changes as the server sends it.
pub fn page(first_seq: i64, entities: Vec<Entity>) -> ChangesResponse {
    let changes: Vec<Change> = entities
        .into_iter()
        .enumerate()
        .map(|(index, entity)| Change {
            seq: first_seq + index as i64,
            entity,
        })
        .collect();
    let cursor = changes.last().map_or(first_seq - 1, |change| change.seq);
    ChangesResponse {
        epoch: Uuid::nil(),
        changes,
        cursor,
        more: false,
    }
}

/// A store in a fresh temporary directory.
pub struct TestStore {
    pub dir: TempDir,
    pub store: Store,
}

impl TestStore {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("phone.db")).unwrap();
        Self { dir, store }
    }

    /// A store with a signed-in member of `role` and one known site.
    pub fn signed_in(role: Role) -> (Self, Member, Site) {
        let test = Self::new();
        let member = member(role);
        let site = site("实验小学东门");
        test.store
            .set_session(&member, "http://127.0.0.1:9")
            .unwrap();
        test.store
            .apply_changes(&page(1, vec![Entity::Site(site.clone())]))
            .unwrap();
        (test, member, site)
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("phone.db")
    }

    /// A second, raw connection to the same database file.
    pub fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path()).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.raw().query_row(sql, [], |row| row.get(0)).unwrap()
    }

    /// Writes a file standing in for a processed photo and returns its path.
    pub fn photo_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// The demo database, seeded once per test binary because password hashing is slow.
fn seeded_template() -> &'static TempDir {
    static TEMPLATE: OnceLock<TempDir> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = redvest_server::SqliteStore::open(dir.path()).unwrap();
        redvest_server::seed::seed_demo(&store).unwrap();
        drop(store);
        dir
    })
}

/// A real Redvest server on 127.0.0.1 port 0; it stops when dropped.
pub struct TestServer {
    pub dir: TempDir,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            seeded_template().path().join("redvest.db"),
            dir.path().join("redvest.db"),
        )
        .unwrap();
        Self::serve(dir).await
    }

    /// Serves an existing data directory, for restarts and restores.
    pub async fn serve(dir: TempDir) -> Self {
        let store = Arc::new(redvest_server::SqliteStore::open(dir.path()).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(redvest_server::serve::serve(listener, store, async {
            let _ = stopped.await;
        }));
        Self {
            dir,
            url,
            stop: Some(stop),
        }
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("redvest.db")).unwrap()
    }

    pub fn count(&self, sql: &str, id: &str) -> i64 {
        self.db().query_row(sql, [id], |row| row.get(0)).unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A fault the proxy injects into a request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Respond with this status and an error body, without forwarding.
    Status(u16),
    /// Respond 503 with `Retry-After: 7`, without forwarding.
    RetryAfter,
    /// Forward the request, then drop the connection before the response.
    DropResponse,
}

#[derive(Default)]
struct ProxyState {
    upstream: String,
    faults: Mutex<VecDeque<(String, usize, Fault)>>,
    /// Request body fragments the proxy answers with a status every time.
    rejected_bodies: Mutex<Vec<(String, u16)>>,
    requests: Mutex<Vec<String>>,
}

/// An HTTP proxy on 127.0.0.1 port 0 that forwards to a real server,
/// counts requests and injects faults.
pub struct FaultProxy {
    pub url: String,
    state: Arc<ProxyState>,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        let state = Arc::new(ProxyState {
            upstream: upstream.to_owned(),
            ..ProxyState::default()
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, state }
    }

    /// Injects `fault` into the next request whose `METHOD /path` line
    /// contains `pattern`.
    pub fn inject(&self, pattern: &str, fault: Fault) {
        self.inject_after(pattern, 0, fault);
    }

    /// Lets `skip` matching requests through, then injects `fault` into the next one.
    pub fn inject_after(&self, pattern: &str, skip: usize, fault: Fault) {
        self.state
            .faults
            .lock()
            .unwrap()
            .push_back((pattern.to_owned(), skip, fault));
    }

    /// Answers every request whose body contains `fragment` with `status`,
    /// without forwarding it, as a server that rejects one bad record
    /// rejects every batch that carries it.
    pub fn reject_bodies_containing(&self, fragment: &str, status: u16) {
        self.state
            .rejected_bodies
            .lock()
            .unwrap()
            .push((fragment.to_owned(), status));
    }

    /// Returns the requests seen so far, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|line| line.contains(prefix))
            .count()
    }
}

fn take_fault(state: &ProxyState, line: &str) -> Option<Fault> {
    let mut faults = state.faults.lock().unwrap();
    let index = faults
        .iter()
        .position(|(pattern, _, _)| line.contains(pattern.as_str()))?;
    if faults[index].1 > 0 {
        faults[index].1 -= 1;
        return None;
    }
    faults.remove(index).map(|(_, _, fault)| fault)
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let method = request.method().clone();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|value| value.to_string())
        .unwrap_or_default();
    let line = format!("{method} {}", request.uri().path());
    state.requests.lock().unwrap().push(line.clone());

    let fault = take_fault(&state, &line);
    match fault {
        Some(Fault::Status(status)) => return error_response(status, None),
        Some(Fault::RetryAfter) => return error_response(503, Some("7")),
        _ => {}
    }

    let headers = request.headers().clone();
    let body = to_bytes(request.into_body(), usize::MAX).await.unwrap();
    if let Some(status) = rejection_status(&state, &body) {
        return error_response(status, None);
    }
    let mut upstream =
        reqwest::Client::new().request(method, format!("{}{path_and_query}", state.upstream));
    for (name, value) in headers.iter() {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let reply = upstream.body(body.to_vec()).send().await.unwrap();
    if matches!(fault, Some(Fault::DropResponse)) {
        // Unwinding the connection task closes the socket after the server
        // has handled the request, as when a phone loses signal mid-response.
        panic!("fault proxy dropped the response on purpose");
    }

    let mut response = Response::builder().status(reply.status().as_u16());
    for (name, value) in reply.headers() {
        if let Ok(name) = HeaderName::from_bytes(name.as_str().as_bytes()) {
            response = response.header(name, value.as_bytes());
        }
    }
    response
        .body(Body::from(reply.bytes().await.unwrap()))
        .unwrap()
}

fn rejection_status(state: &ProxyState, body: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(body);
    let rejected = state.rejected_bodies.lock().unwrap();
    rejected
        .iter()
        .find(|(fragment, _)| text.contains(fragment.as_str()))
        .map(|(_, status)| *status)
}

fn error_response(status: u16, retry_after: Option<&str>) -> Response {
    let body = serde_json::json!({ "code": "injected", "message": format!("fault proxy returned {status}") });
    let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap());
    if let Some(seconds) = retry_after {
        response = response.header("retry-after", seconds);
    }
    response
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Returns the path of the phone database inside a test store.
pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("phone.db")
}
