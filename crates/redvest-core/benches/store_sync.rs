//! Timings of the store and sync paths a phone hits most: one fix per
//! transaction, a capture, stopping an hour-long patrol, and pushing a
//! backlog to a real server on 127.0.0.1. Run with
//! `cargo bench -p redvest-core --bench store_sync`; it prints one line per
//! figure. Figures depend on the disk's fsync cost because the store runs
//! with `synchronous=FULL`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use redvest_core::sync::{sync_once, SyncClient};
use redvest_proto::records::PatrolMode;
use redvest_proto::wire::Role;
use support::{fix, TestServer, TestStore, DEMO_PASSWORD, VOLUNTEER_PHONE};

fn report(name: &str, count: usize, elapsed: Duration) {
    let per_item = elapsed.as_secs_f64() * 1e6 / count as f64;
    println!(
        "{name:<32} {count:>6} items {:>9.1} ms total {per_item:>9.1} µs each",
        elapsed.as_secs_f64() * 1e3
    );
}

fn bench_fixes() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    let patrol_id = test.store.start_patrol(PatrolMode::Walking, None).unwrap();
    let start = Utc::now() + chrono::Duration::seconds(1);
    let fixes: Vec<_> = (0..3600)
        .map(|index| {
            let mut point = fix(36.65 + index as f64 * 0.00001, 117.12);
            point.at = start + chrono::Duration::seconds(index);
            point
        })
        .collect();

    let timer = Instant::now();
    for point in &fixes {
        test.store.record_fix(patrol_id, point).unwrap();
    }
    report("record_fix (1 tx each)", fixes.len(), timer.elapsed());

    let timer = Instant::now();
    let summary = test.store.stop_patrol(patrol_id).unwrap();
    report(
        "stop_patrol of 1 h at 1 Hz",
        summary.stop.points_kept as usize,
        timer.elapsed(),
    );
}

fn bench_captures() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    let timer = Instant::now();
    for _ in 0..500 {
        test.store.start_patrol(PatrolMode::Walking, None).unwrap();
    }
    report("start_patrol capture", 500, timer.elapsed());
}

async fn bench_push() {
    let server = TestServer::start().await;
    let test = TestStore::new();
    let client = SyncClient::new(&server.url).unwrap();
    let session = client
        .sign_in(
            VOLUNTEER_PHONE,
            DEMO_PASSWORD,
            test.store.device_id().unwrap(),
        )
        .await
        .unwrap();
    test.store
        .set_session(&session.member, &server.url)
        .unwrap();
    for _ in 0..1000 {
        let patrol_id = test.store.start_patrol(PatrolMode::Walking, None).unwrap();
        test.store.stop_patrol(patrol_id).unwrap();
    }

    let timer = Instant::now();
    let sync = sync_once(&test.store, &client, &session.token)
        .await
        .unwrap();
    report("sync_once push backlog", sync.stored, timer.elapsed());
}

fn main() {
    bench_captures();
    bench_fixes();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(bench_push());
}
