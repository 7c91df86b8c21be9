//! Single-fault cases, each against the real server behind the fault proxy
//! with faults only on `POST /v1/push`. Two neighbours live in redvest-core's
//! own sync tests: a 500 leaves the record queued byte for byte, and 500
//! queued entries with a revoked token make one request and one message.

use std::path::Path;

use chrono::Utc;
use redvest_chaos::harness::{seed_data_dir, VOLUNTEERS};
use redvest_chaos::{check, Device, LocalServer, Proxy, ProxyConfig};
use redvest_core::store::LeadDraft;
use redvest_core::sync::SyncClient;
use redvest_proto::geo::Fix;
use redvest_proto::records::{LeadCategory, PositionSource};
use uuid::Uuid;

/// A server, a proxy that drops every push response, and one signed-in device.
struct Setup {
    dir: tempfile::TempDir,
    server: LocalServer,
    proxy: Proxy,
    device: Device,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    seed_data_dir(&server_dir).unwrap();
    let server = LocalServer::start(&server_dir).await.unwrap();
    let config = ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: server.addr,
        seed: 1,
        profile: "drop_response=1".parse().unwrap(),
        path_prefix: Some("/v1/push".into()),
    };
    let proxy = Proxy::start(config).await.unwrap();
    let mut device = Device::sign_in(&dir.path().join("phone.db"), &server.url(), VOLUNTEERS[0])
        .await
        .unwrap();
    device.client = SyncClient::new(&proxy.url()).unwrap();
    Setup {
        dir,
        server,
        proxy,
        device,
    }
}

fn capture_plain_lead(device: &Device) -> Uuid {
    let draft = LeadDraft {
        category: LeadCategory::FireHazard,
        note: "exit blocked by bicycles".into(),
        position: Some(Fix::new(36.64, 117.97, Some(10.0), Utc::now(), "gps")),
        position_source: PositionSource::Fix,
        address: None,
        photos: Vec::new(),
        patrol_id: None,
    };
    device.store.capture_lead(draft).unwrap()
}

fn server_rows(server_dir: &Path, id: Uuid) -> i64 {
    let conn = check::open_read_only(&server_dir.join("redvest.db")).unwrap();
    conn.query_row(
        "SELECT COUNT(*) FROM records WHERE id = ?1",
        [id.to_string()],
        |row| row.get(0),
    )
    .unwrap()
}

fn local_state(db: &Path, id: Uuid) -> String {
    let conn = check::open_read_only(db).unwrap();
    conn.query_row(
        "SELECT state FROM records WHERE id = ?1",
        [id.to_string()],
        |row| row.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn dropped_ack_three_retries_one_row() {
    let setup = setup().await;
    let id = capture_plain_lead(&setup.device);

    let mut failures = Vec::new();
    for _ in 0..3 {
        failures.push(setup.device.sync().await.is_err());
    }
    let queued_state = local_state(&setup.device.db_path, id);
    setup.proxy.heal();
    setup.device.sync().await.unwrap();

    assert_eq!(failures, vec![true, true, true]);
    assert_eq!(setup.proxy.counts().drop_response, 3);
    assert_eq!(queued_state, "queued");
    assert_eq!(local_state(&setup.device.db_path, id), "sent");
    assert_eq!(server_rows(&setup.server.data_dir, id), 1);
}

/// The phone dies after the server committed the push and before the ack
/// was applied; here the ack is dropped and the store closed, four times.
/// SIGKILLs at random points of the same path are in the kill runs.
#[tokio::test]
async fn unacked_push_reopened_four_times_one_row() {
    let Setup {
        dir,
        server,
        proxy,
        device,
    } = setup().await;
    let id = capture_plain_lead(&device);
    let db = device.db_path.clone();
    let token = device.token().to_owned();
    drop(device);

    for _ in 0..4 {
        let reopened = Device::reopen(&db, &proxy.url(), &token).unwrap();
        assert!(
            reopened.sync().await.is_err(),
            "the push ack was not dropped"
        );
    }
    proxy.heal();
    let last = Device::reopen(&db, &proxy.url(), &token).unwrap();
    last.sync().await.unwrap();

    assert_eq!(proxy.counts().drop_response, 4);
    assert_eq!(local_state(&db, id), "sent");
    assert_eq!(server_rows(&server.data_dir, id), 1);
    drop(dir);
}
