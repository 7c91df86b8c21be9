//! `redvest-chaos`: the command line of the fault proxy, the kill client
//! and server lives, and the kill soak that drive Redvest's reliability runs.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use redvest_chaos::kill::{
    client_life, run_client_kills, run_server_kills, ClientKills, ServerKills,
};
use redvest_chaos::{Profile, Proxy, ProxyConfig};
use redvest_server::serve::{serve, shutdown_signal};
use redvest_server::SqliteStore;

#[derive(Parser)]
#[command(name = "redvest-chaos", about = "Fault injection for Redvest sync")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the fault proxy in front of one upstream until interrupted.
    Proxy {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Address of the server to forward to.
        #[arg(long)]
        upstream: SocketAddr,
        /// Seed of the fault plan; the same seed gives the same faults.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Profile name (clean, flaky, hostile) and overrides, e.g. `flaky,drop_response=0.3`.
        #[arg(long, default_value = "flaky")]
        profile: Profile,
        /// Inject faults only into requests whose path starts with this, e.g. `/v1/push`.
        #[arg(long)]
        path_prefix: Option<String>,
    },
    /// Captures and syncs in a loop until killed, printing `committed ID` after each commit.
    Client {
        /// Phone database to open (it must exist and hold a session).
        #[arg(long)]
        db: PathBuf,
        /// Base URL of the server, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// File holding the session token of a test sign-in.
        #[arg(long)]
        token_file: PathBuf,
        /// Seed of the random captures.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only sync until the queue is empty (at most 10 s), then exit.
        #[arg(long)]
        drain: bool,
    },
    /// Serves the Redvest API over a SQLite data directory, like `redvest-server serve`.
    Server {
        /// Data directory holding redvest.db and photos/.
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on; port 0 picks a free port, printed on stdout.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// Kills a client (and optionally a server) many times and prints the check as JSON.
    Soak {
        /// Number of client kills.
        #[arg(long, default_value_t = 10_000)]
        kills: u32,
        /// Number of server kills (0 skips the server run).
        #[arg(long, default_value_t = 0)]
        server_kills: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Maximum life of a client or server before the kill, in milliseconds.
        #[arg(long, default_value_t = 600)]
        max_life_ms: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    match Cli::parse().command {
        Command::Proxy {
            listen,
            upstream,
            seed,
            profile,
            path_prefix,
        } => {
            run_proxy(ProxyConfig {
                listen,
                upstream,
                seed,
                profile,
                path_prefix,
            })
            .await
        }
        Command::Client {
            db,
            server,
            token_file,
            seed,
            drain,
        } => {
            let token = std::fs::read_to_string(&token_file)
                .with_context(|| format!("reading the token file {}", token_file.display()))?;
            client_life(&db, &server, token.trim(), seed, drain).await?;
            Ok(())
        }
        Command::Server { data, listen } => run_server(data, listen).await,
        Command::Soak {
            kills,
            server_kills,
            seed,
            max_life_ms,
        } => soak(kills, server_kills, seed, max_life_ms).await,
    }
}

async fn run_server(data: PathBuf, listen: SocketAddr) -> anyhow::Result<()> {
    let store = SqliteStore::open(&data)
        .with_context(|| format!("opening the store in {}", data.display()))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("listening on {listen} failed; pick a free address with --listen")
        })?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    serve(listener, Arc::new(store), shutdown_signal()).await?;
    Ok(())
}

async fn soak(kills: u32, server_kills: u32, seed: u64, max_life_ms: u64) -> anyhow::Result<()> {
    let binary = std::env::current_exe().context("locating the redvest-chaos binary")?;
    let work = tempfile::tempdir().context("creating a work folder")?;
    let max_life = Duration::from_millis(max_life_ms);

    let client = ClientKills {
        binary: binary.clone(),
        work_dir: work.path().join("client"),
        kills,
        seed,
        max_life,
    };
    std::fs::create_dir_all(&client.work_dir)?;
    let outcome = run_client_kills(&client).await?;
    println!("{}", serde_json::to_string(&outcome)?);
    let mut clean = outcome.report.is_clean() && outcome.printed_missing.is_empty();

    if server_kills > 0 {
        let work_dir = work.path().join("server-kills");
        std::fs::create_dir_all(&work_dir)?;
        let config = ServerKills {
            binary,
            work_dir,
            kills: server_kills,
            devices: 3,
            seed,
            max_life,
        };
        let outcome = run_server_kills(&config).await?;
        println!("{}", serde_json::to_string(&outcome)?);
        clean &= outcome.report.is_clean();
    }
    anyhow::ensure!(
        clean,
        "the soak lost, duplicated or left records behind: see the JSON above"
    );
    Ok(())
}

async fn run_proxy(config: ProxyConfig) -> anyhow::Result<()> {
    let proxy = Proxy::start(config)
        .await
        .context("starting the fault proxy")?;
    println!("listening on {}", proxy.url());

    tokio::signal::ctrl_c()
        .await
        .context("waiting for ctrl-c")?;
    let counts = serde_json::to_string(&proxy.counts())?;
    println!("{counts}");
    Ok(())
}
