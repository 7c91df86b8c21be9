//! Epoch change under faults: devices capture and sync through the seeded
//! fault proxy while the server is backed up, keeps taking records, and is
//! then restored from the backup with a new epoch. Every device must send
//! everything again through the same faults, and the server must end with
//! exactly one row per record and every photo verified.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redvest_chaos::capture::capture_one;
use redvest_chaos::check::{self, open_read_only};
use redvest_chaos::harness::{seed_data_dir, VOLUNTEERS};
use redvest_chaos::{Device, LocalServer, Proxy, ProxyConfig};
use redvest_core::sync::SyncClient;
use uuid::Uuid;

const DEVICES: usize = 3;
const ROUNDS: usize = 5;

/// Copies the files of a server data folder and its subfolders.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Lets every device capture and sync for `ROUNDS` rounds at once.
async fn capture_rounds(devices: &[Arc<Device>], seed: u64) {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, device) in devices.iter().enumerate() {
        let device = device.clone();
        let mut rng = StdRng::seed_from_u64(seed + index as u64);
        tasks.spawn(async move {
            for _ in 0..ROUNDS {
                for _ in 0..rng.gen_range(1..=3) {
                    capture_one(&device.store, &device.photo_dir, &mut rng).unwrap();
                }
                let _ = device.sync().await;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap();
    }
}

fn server_record_ids(server_dir: &Path) -> Vec<Uuid> {
    let conn = open_read_only(&server_dir.join("redvest.db")).unwrap();
    let mut statement = conn.prepare("SELECT id FROM records").unwrap();
    let rows = statement
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap();
    rows.map(|id| Uuid::parse_str(&id.unwrap()).unwrap())
        .collect()
}

fn set_epoch(server_dir: &Path, epoch: Uuid) {
    rusqlite::Connection::open(server_dir.join("redvest.db"))
        .unwrap()
        .execute(
            "UPDATE meta SET value = ?1 WHERE key = 'epoch'",
            [epoch.to_string()],
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restored_server_gets_every_record_once() {
    let seed = 31;
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let backup_dir = dir.path().join("backup");
    seed_data_dir(&server_dir).unwrap();
    let mut server = LocalServer::start(&server_dir).await.unwrap();
    let addr = server.addr;
    let config = ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: addr,
        seed,
        profile: "hostile".parse().unwrap(),
        path_prefix: None,
    };
    let proxy = Proxy::start(config).await.unwrap();

    let mut devices = Vec::new();
    for (index, phone) in VOLUNTEERS.iter().take(DEVICES).enumerate() {
        let db = dir.path().join(format!("device-{index}.db"));
        let mut device = Device::sign_in(&db, &server.url(), phone).await.unwrap();
        device.sync().await.unwrap();
        device.client = SyncClient::new(&proxy.url()).unwrap();
        devices.push(Arc::new(device));
    }

    capture_rounds(&devices, seed * 100).await;
    server.stop().await;
    copy_dir(&server_dir, &backup_dir);
    server = LocalServer::start_on(&server_dir, addr).await.unwrap();

    capture_rounds(&devices, seed * 200).await;
    server.stop().await;
    let before_restore = server_record_ids(&server_dir);
    std::fs::remove_dir_all(&server_dir).unwrap();
    copy_dir(&backup_dir, &server_dir);
    let restored_epoch = Uuid::new_v4();
    set_epoch(&server_dir, restored_epoch);
    let lost_by_restore = before_restore.len() - server_record_ids(&server_dir).len();
    server = LocalServer::start_on(&server_dir, addr).await.unwrap();

    capture_rounds(&devices, seed * 300).await;
    let faults = proxy.counts();
    proxy.heal();
    for device in &devices {
        device.drain(Duration::from_secs(60)).await.unwrap();
    }
    let epochs: Vec<Option<Uuid>> = devices
        .iter()
        .map(|device| device.store.server_epoch().unwrap())
        .collect();
    let paths: Vec<PathBuf> = devices
        .iter()
        .map(|device| device.db_path.clone())
        .collect();
    drop(devices);
    server.stop().await;

    let dbs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let report = check::compare(&dbs, &server_dir).unwrap();
    println!(
        "records lost by the restore: {lost_by_restore}; faults: {}",
        serde_json::to_string(&faults).unwrap()
    );
    assert!(lost_by_restore > 0, "the restore removed no record");
    assert!(faults.total_faults() > 0, "the proxy injected no fault");
    assert_eq!(epochs, vec![Some(restored_epoch); DEVICES]);
    report.assert_clean(&format!("epoch change, hostile seed {seed}"));
}
