//! The `redvest-server` command: serve the API, seed demo data, reset the
//! epoch after a restore, or verify the audit chain.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use redvest_server::seed::{seed_demo, DEMO_PASSWORD};
use redvest_server::serve::{serve, shutdown_signal};
use redvest_server::{SqliteStore, Storage};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "redvest-server",
    version,
    about = "Redvest sync server over an embedded SQLite store"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        /// Data directory holding redvest.db and photos/ (created if missing).
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on; port 0 picks a free port, printed on stdout.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Insert the demo district before serving.
        #[arg(long)]
        seed_demo: bool,
    },
    /// Insert the labelled demo district (running it again changes nothing).
    SeedDemo {
        #[arg(long)]
        data: PathBuf,
    },
    /// Give the database a new epoch so phones re-send everything; run after restoring a backup.
    ResetEpoch {
        #[arg(long)]
        data: PathBuf,
    },
    /// Walk the audit hash chain; exits with status 1 at the first edited or deleted row.
    AuditVerify {
        #[arg(long)]
        data: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            data,
            listen,
            seed_demo,
        } => run_serve(&data, listen, seed_demo),
        Command::SeedDemo { data } => {
            print_seed(&open_store(&data)?, &mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ResetEpoch { data } => {
            let epoch = open_store(&data)?.reset_epoch()?;
            println!("new epoch {epoch}; phones will re-send what they hold at their next sync");
            Ok(ExitCode::SUCCESS)
        }
        Command::AuditVerify { data } => audit_verify(&open_store(&data)?),
    }
}

fn open_store(data: &std::path::Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(data).with_context(|| format!("cannot open the store in {}", data.display()))
}

fn run_serve(data: &std::path::Path, listen: SocketAddr, seed: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(data)?;
    if seed {
        print_seed(&store, &mut std::io::stderr())?;
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| {
                format!("cannot listen on {listen}; pick a free address with --listen")
            })?;
        let address = listener.local_addr()?;
        println!("listening on http://{address}");
        std::io::stdout().flush()?;
        serve(listener, Arc::new(store), shutdown_signal()).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Seeds the demo district and prints its logins to `out` (stderr when
/// serving, because the first stdout line is the listening address).
fn print_seed(store: &dyn Storage, out: &mut dyn Write) -> anyhow::Result<()> {
    let summary = seed_demo(store).context("seeding demo data failed")?;
    writeln!(
        out,
        "demo data: {} new rows; every password is {DEMO_PASSWORD}",
        summary.rows_inserted
    )?;
    for login in &summary.logins {
        writeln!(
            out,
            "  {}  {:<12}  {}",
            login.phone,
            login.role.as_str(),
            login.name
        )?;
    }
    Ok(())
}

fn audit_verify(store: &dyn Storage) -> anyhow::Result<ExitCode> {
    let report = store.audit_verify()?;
    match report.first_break {
        None => {
            println!("audit chain intact: {} rows checked", report.rows_checked);
            Ok(ExitCode::SUCCESS)
        }
        Some(found) => {
            println!(
                "audit chain broken at row {}: {}",
                found.row_id, found.problem
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
