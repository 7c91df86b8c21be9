//! A small peak against a real server on 127.0.0.1 port 0, running in this
//! process over a store seeded with load members in a temporary directory.

use std::sync::Arc;
use std::time::Duration;

use redvest_load::district::{load_district, load_sites, LOAD_PASSWORD};
use redvest_load::traffic::{self, loopback_url, LoadConfig};
use redvest_server::serve::serve;
use redvest_server::{SqliteStore, Storage};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_peak_stores_everything() {
    let dir = tempfile::tempdir().unwrap();
    let district = load_district(6).unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store.seed(&district.plan).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = loopback_url(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, Arc::new(store), async {
        stopped.await.ok();
    }));
    let config = LoadConfig {
        devices: 5,
        clock_ins: 23,
        max_batch: 3,
        spread: Duration::from_millis(500),
        seed: 7,
    };

    let report = traffic::run(
        &base,
        &district.phones,
        LOAD_PASSWORD,
        &load_sites(),
        &config,
    )
    .await
    .unwrap();
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    assert_eq!(report.devices_signed_in, 5);
    assert_eq!(
        report.sign_in.error_count(),
        0,
        "{:?}",
        report.sign_in.errors
    );
    assert_eq!(report.clock_ins_sent, 23);
    assert_eq!(report.clock_ins_stored, 23);
    assert_eq!(report.push.error_count(), 0, "{:?}", report.push.errors);
    assert!(report.clock_ins_per_second() > 0.0);
}

#[tokio::test]
async fn too_few_members_rejected() {
    let base = loopback_url("http://127.0.0.1:9").unwrap();
    let config = LoadConfig {
        devices: 3,
        clock_ins: 3,
        max_batch: 1,
        spread: Duration::ZERO,
        seed: 1,
    };

    let result = traffic::run(
        &base,
        &["17000000001".to_owned()],
        LOAD_PASSWORD,
        &load_sites(),
        &config,
    )
    .await;

    assert!(result.is_err());
}

#[test]
fn only_loopback_urls() {
    let table = [
        ("http://127.0.0.1:8080", true),
        ("http://127.3.4.5:8080/", true),
        ("http://localhost:8080", true),
        ("http://[::1]:8080", true),
        ("http://10.0.0.1:8080", false),
        ("http://192.168.1.20:8080", false),
        ("http://example.org", false),
        ("not a url", false),
    ];
    for (url, allowed) in table {
        assert_eq!(loopback_url(url).is_ok(), allowed, "{url}");
    }
}
