//! Fault runs: several devices capture clock-ins, leads with photos and
//! patrols, and sync through the seeded fault proxy to the real server.
//! After `heal()` and a final drain, the server must hold exactly what the
//! devices committed, once each, with every photo verified.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redvest_chaos::capture::capture_one;
use redvest_chaos::harness::{seed_data_dir, VOLUNTEERS};
use redvest_chaos::{check, Device, LocalServer, Proxy, ProxyConfig};
use redvest_core::sync::SyncClient;

const DEVICES: usize = 4;
const ROUNDS: usize = 12;

/// Runs one fault run and returns the check report with the proxy's counts.
async fn fault_run(seed: u64, profile: &str) -> (check::Report, redvest_chaos::FaultCounts) {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    seed_data_dir(&server_dir).unwrap();
    let server = LocalServer::start(&server_dir).await.unwrap();
    let config = ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: server.addr,
        seed,
        profile: profile.parse().unwrap(),
        path_prefix: None,
    };
    let proxy = Proxy::start(config).await.unwrap();

    let mut devices = Vec::new();
    for index in 0..DEVICES {
        let db = dir.path().join(format!("device-{index}.db"));
        let mut device = Device::sign_in(&db, &server.url(), VOLUNTEERS[index % VOLUNTEERS.len()])
            .await
            .unwrap();
        device.sync().await.unwrap();
        device.client = SyncClient::new(&proxy.url()).unwrap();
        devices.push(Arc::new(device));
    }

    let mut tasks = tokio::task::JoinSet::new();
    for (index, device) in devices.iter().enumerate() {
        let device = device.clone();
        let mut rng = StdRng::seed_from_u64(seed * 1000 + index as u64);
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

    proxy.heal();
    for device in &devices {
        device.drain(Duration::from_secs(60)).await.unwrap();
    }
    let counts = proxy.counts();
    let paths: Vec<PathBuf> = devices
        .iter()
        .map(|device| device.db_path.clone())
        .collect();
    drop(devices);
    server.stop().await;

    let dbs: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
    (check::compare(&dbs, &server_dir).unwrap(), counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaky_link_loses_nothing() {
    let (report, counts) = fault_run(11, "flaky").await;
    println!("faults: {}", serde_json::to_string(&counts).unwrap());

    assert!(counts.total_faults() > 0, "the proxy injected no fault");
    report.assert_clean("flaky seed 11");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_link_loses_nothing() {
    for seed in [21, 22] {
        let (report, counts) = fault_run(seed, "hostile").await;
        println!("faults: {}", serde_json::to_string(&counts).unwrap());

        assert!(
            counts.total_faults() > 0,
            "the proxy injected no fault with seed {seed}"
        );
        report.assert_clean(&format!("hostile seed {seed}"));
    }
}
