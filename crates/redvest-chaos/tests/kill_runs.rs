//! Kill runs: the client process is SIGKILLed at random moments and
//! restarted on the same phone database; the server process is SIGKILLed
//! while devices push. After the last restart and a drain, the server must
//! hold exactly what was committed, each record once.

use std::path::PathBuf;
use std::time::Duration;

use redvest_chaos::kill::{
    run_client_kills, run_server_kills, ClientKills, ServerKills, DRAIN_LIMIT,
};

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_redvest-chaos"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_survives_200_kills() {
    let dir = tempfile::tempdir().unwrap();
    let config = ClientKills {
        binary: binary(),
        work_dir: dir.path().to_owned(),
        kills: 200,
        seed: 7,
        max_life: Duration::from_millis(400),
    };

    let outcome = run_client_kills(&config).await.unwrap();
    println!("client kills: {}", serde_json::to_string(&outcome).unwrap());

    assert_eq!(
        outcome.printed_missing,
        Vec::<uuid::Uuid>::new(),
        "printed commits missing locally"
    );
    assert!(outcome.printed > 0, "no client life got to commit a record");
    assert!(
        outcome
            .drain_ms
            .iter()
            .all(|ms| *ms < DRAIN_LIMIT.as_millis()),
        "drain took {:?} ms",
        outcome.drain_ms
    );
    outcome.report.assert_clean("client kills seed 7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_survives_kills_during_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerKills {
        binary: binary(),
        work_dir: dir.path().to_owned(),
        kills: 40,
        devices: 3,
        seed: 9,
        max_life: Duration::from_millis(300),
    };

    let outcome = run_server_kills(&config).await.unwrap();
    println!("server kills: {}", serde_json::to_string(&outcome).unwrap());

    assert!(
        outcome
            .drain_ms
            .iter()
            .all(|ms| *ms < DRAIN_LIMIT.as_millis()),
        "drain took {:?} ms",
        outcome.drain_ms
    );
    outcome.report.assert_clean("server kills seed 9");
}
