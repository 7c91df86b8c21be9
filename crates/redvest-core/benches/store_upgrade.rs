//! Times the upgrade of the version 1 fixture (`tests/fixtures/store-v1.db`)
//! to the latest schema: each run copies the fixture and opens it with
//! `Store::open`, which migrates it. Prints the median and maximum of the
//! runs. `cargo bench -p redvest-core --bench store_upgrade [RUNS]`
//! (default 50 runs).

use std::time::{Duration, Instant};

use redvest_core::Store;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-v1.db");

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().expect("temporary folder");

    let mut times: Vec<Duration> = (0..runs)
        .map(|run| {
            let path = dir.path().join(format!("phone-{run}.db"));
            std::fs::copy(FIXTURE, &path).expect("copy of the fixture");
            let started = Instant::now();
            Store::open(&path).expect("upgrade of the fixture");
            started.elapsed()
        })
        .collect();
    times.sort();

    let bytes = std::fs::metadata(FIXTURE).map_or(0, |meta| meta.len());
    println!(
        "upgrade of a {bytes}-byte version 1 database by Store::open, {runs} runs: median {:?}, max {:?}",
        times[runs / 2],
        times[runs - 1]
    );
}
