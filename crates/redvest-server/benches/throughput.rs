//! Measures push and pull throughput through the router on a real SQLite
//! store in a temporary directory (no network): the school-gate peak, when
//! thousands of clock-ins arrive within minutes, is the load to compare with.
//!
//! Run with `cargo bench -p redvest-server --bench throughput`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use redvest_proto::geo::Fix;
use redvest_proto::records::{ClockIn, RecordBody};
use redvest_proto::wire::{ChangesResponse, Entity, SignInResponse};
use redvest_proto::{Record, Stamp};
use redvest_server::seed::{seed_demo, DEMO_PASSWORD};
use redvest_server::{router, SqliteStore};
use serde_json::{json, Value};
use tower::ServiceExt;
use uuid::Uuid;

const BATCHES_PER_MEMBER: usize = 4;
const BATCH_SIZE: usize = 250;
const VOLUNTEERS: [&str; 6] = [
    "13800000002",
    "13800000003",
    "13800000004",
    "13800000006",
    "13800000007",
    "13800000008",
];

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn sign_in(app: &Router, phone: &str) -> SignInResponse {
    let body = json!({ "phone": phone, "password": DEMO_PASSWORD, "device_id": Uuid::now_v7() });
    let request = Request::post("/v1/session").header("content-type", "application/json");
    let (_, reply) = call(app, request.body(Body::from(body.to_string())).unwrap()).await;
    serde_json::from_value(reply).unwrap()
}

fn clock_ins(member_id: Uuid, site_id: Uuid, count: usize) -> Vec<Record> {
    let body = |now| ClockIn {
        site_id,
        fix: Some(Fix::new(36.6432, 117.9661, Some(8.0), now, "gps")),
        fix_requested_at: None,
        monotonic: None,
    };
    (0..count)
        .map(|_| {
            let captured_at = Stamp::now_local();
            let body = RecordBody::ClockIn(body(captured_at.utc));
            Record {
                id: Uuid::now_v7(),
                member_id,
                captured_at,
                body,
            }
        })
        .collect()
}

fn authorized(request: axum::http::request::Builder, token: &str) -> axum::http::request::Builder {
    request
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
}

async fn push_all(app: &Router, site_id: Uuid) -> (usize, Duration) {
    let mut sessions = Vec::new();
    for phone in VOLUNTEERS {
        sessions.push(sign_in(app, phone).await);
    }
    let started = Instant::now();
    let mut records = 0;
    for batch_seq in 0..BATCHES_PER_MEMBER {
        for session in &sessions {
            let batch = clock_ins(session.member.id, site_id, BATCH_SIZE);
            let body =
                json!({ "device_id": session.member.id, "batch_seq": batch_seq, "records": batch });
            let request = authorized(Request::post("/v1/push"), &session.token);
            let (status, _) = call(app, request.body(Body::from(body.to_string())).unwrap()).await;
            assert_eq!(status, StatusCode::OK);
            records += BATCH_SIZE;
        }
    }
    (records, started.elapsed())
}

async fn pull_all(app: &Router, token: &str) -> (usize, Duration) {
    let started = Instant::now();
    let (mut after, mut pulled) = (0, 0);
    loop {
        let request = authorized(
            Request::get(format!("/v1/changes?after={after}&limit=1000")),
            token,
        );
        let (_, reply) = call(app, request.body(Body::empty()).unwrap()).await;
        let page: ChangesResponse = serde_json::from_value(reply).unwrap();
        pulled += page.changes.len();
        after = page.cursor;
        if !page.more {
            return (pulled, started.elapsed());
        }
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    seed_demo(store.as_ref()).unwrap();
    let app = router(store);
    let runtime = tokio::runtime::Runtime::new().unwrap();

    runtime.block_on(async {
        let started = Instant::now();
        let staff = sign_in(&app, "13800000009").await;
        println!(
            "sign-in (argon2id default parameters): {:.0} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );

        let Entity::Site(site) = first_site(&app, &staff.token).await else {
            unreachable!("first_site returns a site");
        };
        let site_id = site.id;
        let (records, elapsed) = push_all(&app, site_id).await;
        let rate = records as f64 / elapsed.as_secs_f64();
        println!(
            "push: {records} clock-ins in batches of {BATCH_SIZE}: {:.2} s, {rate:.0} records/s",
            elapsed.as_secs_f64()
        );

        let (pulled, elapsed) = pull_all(&app, &staff.token).await;
        let rate = pulled as f64 / elapsed.as_secs_f64();
        println!(
            "pull: {pulled} changes in pages of 1000: {:.2} s, {rate:.0} changes/s",
            elapsed.as_secs_f64()
        );
    });
}

async fn first_site(app: &Router, token: &str) -> Entity {
    let request = authorized(Request::get("/v1/changes?after=0&limit=1000"), token);
    let (_, reply) = call(app, request.body(Body::empty()).unwrap()).await;
    let page: ChangesResponse = serde_json::from_value(reply).unwrap();
    page.changes
        .into_iter()
        .map(|change| change.entity)
        .find(|entity| matches!(entity, Entity::Site(_)))
        .unwrap()
}
