//! The `redvest-load` command: seed load members, start the release server
//! on loopback (or use one already running there), play the clock-in peak
//! and print the figures.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use redvest_load::district::{load_district, load_sites, member_phone, LOAD_PASSWORD};
use redvest_load::server::{self, ServerProcess};
use redvest_load::stats::{millis, PhaseStats};
use redvest_load::traffic::{self, loopback_url, LoadConfig, LoadReport};
use redvest_server::{SqliteStore, Storage};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "redvest-load",
    version,
    about = "Play the school-gate clock-in peak against a Redvest server on loopback"
)]
struct Cli {
    /// Simulated phones, each signed in as its own member.
    #[arg(long, default_value_t = 500)]
    devices: usize,
    /// Clock-ins pushed over all devices.
    #[arg(long, default_value_t = 5_000)]
    clock_ins: usize,
    /// Load members to seed (at least --devices); defaults to --devices.
    #[arg(long)]
    members: Option<usize>,
    /// Most clock-ins per push; each batch carries 1 to this many.
    #[arg(long, default_value_t = 3)]
    max_batch: usize,
    /// Seconds the pushes are spread over; 0 sends every batch at once.
    #[arg(long, default_value_t = 120.0)]
    spread_s: f64,
    /// Seed of the random schedule and positions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Use a server already listening here (loopback only) instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// Server data directory to seed; a temporary one when absent. With --url,
    /// members are seeded only when this names the running server's directory.
    #[arg(long)]
    data: Option<PathBuf>,
    /// The server binary to start; defaults to redvest-server next to this one.
    #[arg(long)]
    server_bin: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let members = cli.members.unwrap_or(cli.devices).max(cli.devices);
    let config = LoadConfig {
        devices: cli.devices,
        clock_ins: cli.clock_ins,
        max_batch: cli.max_batch,
        spread: Duration::from_secs_f64(cli.spread_s.max(0.0)),
        seed: cli.seed,
    };
    if let Some(url) = &cli.url {
        let base = loopback_url(url)?;
        if let Some(data) = &cli.data {
            seed(data, members)?;
        }
        let phones: Vec<String> = (0..members).map(member_phone).collect();
        let report = traffic::run(&base, &phones, LOAD_PASSWORD, &load_sites(), &config).await?;
        print_report(&cli, &report, None);
        return Ok(());
    }

    let temporary = tempfile::tempdir().context("cannot create a temporary data directory")?;
    let data = cli
        .data
        .clone()
        .unwrap_or_else(|| temporary.path().to_owned());
    let phones = seed(&data, members)?;
    let binary = cli
        .server_bin
        .clone()
        .or_else(server::sibling_binary)
        .context("cannot locate redvest-server; pass --server-bin")?;
    let process = server::start(&binary, &data, &data.join("server.log")).await?;

    let result = play(&process, &phones, &config).await;
    let cpu_total = process.cpu_time();
    process.stop().await;
    let (report, cpu_sign_in) = result?;
    let server_cpu = cpu_total.zip(cpu_sign_in);
    print_report(&cli, &report, server_cpu);
    Ok(())
}

/// Plays the load and returns the report with the server CPU time used by
/// the end of the sign-in phase.
async fn play(
    process: &ServerProcess,
    phones: &[String],
    config: &LoadConfig,
) -> anyhow::Result<(LoadReport, Option<Duration>)> {
    let base = loopback_url(&process.base_url)?;
    let signed_in = traffic::sign_in_devices(&base, phones, LOAD_PASSWORD, config).await?;
    let cpu_sign_in = process.cpu_time();
    let report = traffic::push_clock_ins(&base, signed_in, &load_sites(), config).await;
    Ok((report, cpu_sign_in))
}

/// Seeds `members` load members and the load sites into a data directory.
fn seed(data: &Path, members: usize) -> anyhow::Result<Vec<String>> {
    let district = load_district(members)?;
    let store = SqliteStore::open(data)
        .with_context(|| format!("cannot open the store in {}", data.display()))?;
    let inserted = store
        .seed(&district.plan)
        .context("seeding the load members failed")?;
    tracing::info!(members, inserted, data = %data.display(), "seeded load members");
    Ok(district.phones)
}

/// Prints the figures; `server_cpu` is the server's CPU time at the end and
/// after sign-in, when the tool started the server itself.
fn print_report(cli: &Cli, report: &LoadReport, server_cpu: Option<(Duration, Duration)>) {
    println!("clock-in peak load");
    println!(
        "  input: {} devices, {} clock-ins, batches of 1-{}, spread {} s, seed {}",
        cli.devices, cli.clock_ins, cli.max_batch, cli.spread_s, cli.seed
    );
    println!("  machine: {} cores, {}", cores(), cpu_model());
    print_phase("sign-in", &report.sign_in, report.devices_signed_in);
    print_phase("push", &report.push, report.push.latencies.len());
    println!(
        "  clock-ins: {} sent, {} stored, {} rejected, {:.1} stored per second",
        report.clock_ins_sent,
        report.clock_ins_stored,
        report.clock_ins_rejected,
        report.clock_ins_per_second()
    );
    if let Some((total, sign_in)) = server_cpu {
        let push = total.saturating_sub(sign_in);
        println!(
            "  server cpu: {:.1} s for sign-in, {:.1} s for push ({:.2} ms per stored clock-in)",
            sign_in.as_secs_f64(),
            push.as_secs_f64(),
            push.as_secs_f64() * 1e3 / report.clock_ins_stored.max(1) as f64
        );
    }
}

fn print_phase(name: &str, stats: &PhaseStats, succeeded: usize) {
    println!(
        "  {name}: {succeeded} ok, {} errors in {:.1} s; latency ms p50 {} p99 {} max {}",
        stats.error_count(),
        stats.elapsed.as_secs_f64(),
        millis(stats.percentile(50.0)),
        millis(stats.percentile(99.0)),
        millis(stats.max()),
    );
    for (cause, count) in &stats.errors {
        println!("    {count} × {cause}");
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}
