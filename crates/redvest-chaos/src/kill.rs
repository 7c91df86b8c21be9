//! Kill supervisors. One SIGKILLs a capturing and syncing client process at
//! random moments and restarts it on the same phone database. The other
//! SIGKILLs a server process while devices push to it and restarts it on the
//! same data directory and port. Both end with a drain and `check::compare`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::capture::capture_one;
use crate::check::{self, Report};
use crate::harness::{seed_data_dir, Device, HarnessError, LocalServer, VOLUNTEERS};

/// Maximum time a restarted client may take to empty its queue.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Settings of a client kill run.
#[derive(Debug, Clone)]
pub struct ClientKills {
    /// The `redvest-chaos` binary, started as `client` for every life.
    pub binary: PathBuf,
    /// Folder for the server data and the phone database.
    pub work_dir: PathBuf,
    pub kills: u32,
    pub seed: u64,
    /// Maximum life of a client before it is killed.
    pub max_life: Duration,
}

/// Measurements of a kill run, with the final check.
#[derive(Debug, Clone, Serialize)]
pub struct KillOutcome {
    pub kills: u32,
    /// Record ids the client printed after their commit returned.
    pub printed: usize,
    /// Printed ids that are not in the phone database after the run.
    pub printed_missing: Vec<Uuid>,
    pub drain_ms: Vec<u128>,
    pub elapsed_s: f64,
    pub report: Report,
}

/// Runs `kills` client lives against an in-process server, then a drain.
pub async fn run_client_kills(config: &ClientKills) -> Result<KillOutcome, HarnessError> {
    let started = Instant::now();
    let server_dir = config.work_dir.join("server");
    seed_data_dir(&server_dir)?;
    let server = LocalServer::start(&server_dir).await?;
    let db = config.work_dir.join("phone.db");
    let token_file = config.work_dir.join("token");
    prepare_device(&db, &server.url(), &token_file).await?;

    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut printed = BTreeSet::new();
    for life in 0..config.kills {
        let args = client_args(
            &db,
            &server.url(),
            &token_file,
            config.seed ^ u64::from(life) << 20,
        );
        let lifetime =
            Duration::from_millis(rng.gen_range(5..=config.max_life.as_millis().max(6) as u64));
        printed.extend(run_and_kill(&config.binary, &args, lifetime).await?);
        if life % 50 == 49 {
            tracing::info!(
                life = life + 1,
                printed = printed.len(),
                "client kills so far"
            );
        }
    }

    let drain = drain_in_child(&config.binary, &db, &server.url(), &token_file).await?;
    server.stop().await;
    let report = check::compare(&[db.as_path()], &server_dir)?;
    let printed_missing = missing_locally(&db, &printed)?;
    Ok(KillOutcome {
        kills: config.kills,
        printed: printed.len(),
        printed_missing,
        drain_ms: vec![drain.as_millis()],
        elapsed_s: started.elapsed().as_secs_f64(),
        report,
    })
}

/// Creates the phone database, pulls the sites and stores the token for the
/// client processes (a test token in a temporary folder, never a real one).
async fn prepare_device(
    db: &Path,
    server_url: &str,
    token_file: &Path,
) -> Result<(), HarnessError> {
    let device = Device::sign_in(db, server_url, VOLUNTEERS[0]).await?;
    device.sync().await?;
    std::fs::write(token_file, device.token())?;
    Ok(())
}

fn client_args(db: &Path, server_url: &str, token_file: &Path, seed: u64) -> Vec<String> {
    vec![
        "client".into(),
        "--db".into(),
        db.display().to_string(),
        "--server".into(),
        server_url.into(),
        "--token-file".into(),
        token_file.display().to_string(),
        "--seed".into(),
        seed.to_string(),
    ]
}

/// Starts one client life, SIGKILLs it after `lifetime`, and returns the ids
/// it printed as committed.
async fn run_and_kill(
    binary: &Path,
    args: &[String],
    lifetime: Duration,
) -> Result<Vec<Uuid>, HarnessError> {
    let mut child = Command::new(binary)
        .args(args)
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let reader = tokio::spawn(committed_ids(stdout));

    tokio::time::sleep(lifetime).await;
    child.start_kill()?;
    child.wait().await?;
    reader
        .await
        .map_err(|error| HarnessError::Invalid(format!("reading client output failed: {error}")))
}

async fn committed_ids(stdout: tokio::process::ChildStdout) -> Vec<Uuid> {
    let mut lines = BufReader::new(stdout).lines();
    let mut ids = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(id) = line
            .strip_prefix("committed ")
            .and_then(|text| Uuid::parse_str(text).ok())
        {
            ids.push(id);
        }
    }
    ids
}

/// Restarts the client in drain mode and returns how long the drain took.
async fn drain_in_child(
    binary: &Path,
    db: &Path,
    server_url: &str,
    token_file: &Path,
) -> Result<Duration, HarnessError> {
    let mut args = client_args(db, server_url, token_file, 0);
    args.push("--drain".into());
    let started = Instant::now();
    let output = Command::new(binary)
        .args(&args)
        .env("RUST_LOG", "off")
        .output()
        .await?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        // The first lines name the error; a backtrace may follow.
        let reason: Vec<&str> = stderr.lines().take(12).collect();
        return Err(HarnessError::Invalid(format!(
            "drain process failed ({}): {stdout} {}",
            output.status,
            reason.join(" | ")
        )));
    }
    Ok(elapsed)
}

fn missing_locally(db: &Path, printed: &BTreeSet<Uuid>) -> Result<Vec<Uuid>, HarnessError> {
    let conn = check::open_read_only(db)?;
    let mut missing = Vec::new();
    for id in printed {
        let found: i64 = conn.query_row(
            "SELECT COUNT(*) FROM records WHERE id = ?1",
            [id.to_string()],
            |row| row.get(0),
        )?;
        if found == 0 {
            missing.push(*id);
        }
    }
    Ok(missing)
}

/// Runs one client life: capture and sync in a loop until killed,
/// printing `committed <id>` after each commit returns. With `drain`, it
/// only syncs until the queue is empty and prints how long that took.
pub async fn client_life(
    db: &Path,
    server_url: &str,
    token: &str,
    seed: u64,
    drain: bool,
) -> Result<(), HarnessError> {
    let device = Device::reopen(db, server_url, token)?;
    if drain {
        let took = device.drain(DRAIN_LIMIT).await?;
        println!("drained in {} ms", took.as_millis());
        return Ok(());
    }

    let mut rng = StdRng::seed_from_u64(seed);
    loop {
        for id in capture_one(&device.store, &device.photo_dir, &mut rng)? {
            println!("committed {id}");
        }
        if let Err(error) = device.sync().await {
            tracing::debug!(%error, "client sync failed; capturing on");
        }
    }
}

/// Settings of a server kill run.
#[derive(Debug, Clone)]
pub struct ServerKills {
    /// The `redvest-chaos` binary, started as `server` for every life.
    pub binary: PathBuf,
    pub work_dir: PathBuf,
    pub kills: u32,
    pub devices: usize,
    pub seed: u64,
    /// Maximum life of a server before it is killed.
    pub max_life: Duration,
}

/// SIGKILLs the server process `kills` times while devices push, restarting
/// it on the same data directory and port, then drains every device.
pub async fn run_server_kills(config: &ServerKills) -> Result<KillOutcome, HarnessError> {
    let started = Instant::now();
    let server_dir = config.work_dir.join("server");
    seed_data_dir(&server_dir)?;
    let (mut server, addr) = start_server(
        &config.binary,
        &server_dir,
        "127.0.0.1:0".parse().expect("valid"),
    )
    .await?;
    let url = format!("http://{addr}");

    let mut devices = Vec::new();
    for index in 0..config.devices {
        let db = config.work_dir.join(format!("device-{index}.db"));
        let device = Device::sign_in(&db, &url, VOLUNTEERS[index % VOLUNTEERS.len()]).await?;
        device.sync().await?;
        devices.push(Arc::new(device));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = spawn_traffic(&devices, &stop, config.seed);

    let mut rng = StdRng::seed_from_u64(config.seed);
    for _ in 0..config.kills {
        let lifetime = rng.gen_range(20..=config.max_life.as_millis().max(21) as u64);
        tokio::time::sleep(Duration::from_millis(lifetime)).await;
        server.start_kill()?;
        server.wait().await?;
        server = start_server(&config.binary, &server_dir, addr).await?.0;
    }
    stop.store(true, Ordering::SeqCst);
    for task in traffic {
        task.await
            .map_err(|error| HarnessError::Invalid(format!("device task failed: {error}")))??;
    }

    let mut drain_ms = Vec::new();
    for device in &devices {
        drain_ms.push(device.drain(Duration::from_secs(60)).await?.as_millis());
    }
    server.start_kill()?;
    server.wait().await?;

    let paths: Vec<PathBuf> = devices
        .iter()
        .map(|device| device.db_path.clone())
        .collect();
    drop(devices);
    let dbs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let report = check::compare(&dbs, &server_dir)?;
    Ok(KillOutcome {
        kills: config.kills,
        printed: 0,
        printed_missing: Vec::new(),
        drain_ms,
        elapsed_s: started.elapsed().as_secs_f64(),
        report,
    })
}

type Traffic = tokio::task::JoinHandle<Result<(), HarnessError>>;

fn spawn_traffic(devices: &[Arc<Device>], stop: &Arc<AtomicBool>, seed: u64) -> Vec<Traffic> {
    let mut tasks = Vec::new();
    for (index, device) in devices.iter().enumerate() {
        let device = device.clone();
        let stop = stop.clone();
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(index as u64 + 1));
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                capture_one(&device.store, &device.photo_dir, &mut rng)?;
                if device.sync().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Ok(())
        }));
    }
    tasks
}

/// Starts `redvest-chaos server` and waits for its `listening on` line. A
/// restart on a known port retries the bind for up to 5 s.
async fn start_server(
    binary: &Path,
    data: &Path,
    addr: SocketAddr,
) -> Result<(Child, SocketAddr), HarnessError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut child = Command::new(binary)
            .args([
                "server",
                "--data",
                &data.display().to_string(),
                "--listen",
                &addr.to_string(),
            ])
            .env("RUST_LOG", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        if let Ok(Some(line)) = lines.next_line().await {
            if let Some(bound) = line
                .strip_prefix("listening on http://")
                .and_then(|text| text.parse().ok())
            {
                return Ok((child, bound));
            }
        }
        child.wait().await?;
        if Instant::now() > deadline {
            return Err(HarnessError::Invalid(format!(
                "server did not start on {addr} within 5 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
