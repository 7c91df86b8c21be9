//! `redvest-chaos`: the command line of the fault proxy and of the kill
//! supervisor that drive Redvest's reliability runs.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use redvest_chaos::{Profile, Proxy, ProxyConfig};

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
        } => {
            run_proxy(ProxyConfig {
                listen,
                upstream,
                seed,
                profile,
            })
            .await
        }
    }
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
