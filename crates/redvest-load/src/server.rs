//! Starting the release `redvest-server` binary on a free loopback port and
//! stopping it again, so the load tool measures the server as deployed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::LoadError;

/// Maximum wait for the server to print its listening address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A server process this tool started; it is killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub base_url: String,
    pub pid: Option<u32>,
}

/// Returns the `redvest-server` binary next to the running executable.
pub fn sibling_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.with_file_name(format!("redvest-server{}", std::env::consts::EXE_SUFFIX)))
}

/// Starts `binary serve` on 127.0.0.1 port 0 over `data`, with its log in
/// `log`, and waits for the address it prints.
pub async fn start(binary: &Path, data: &Path, log: &Path) -> Result<ServerProcess, LoadError> {
    let failed = |reason: String| LoadError::ServerStart {
        binary: binary.display().to_string(),
        reason,
    };
    let log_file = std::fs::File::create(log)
        .map_err(|error| failed(format!("cannot create log {}: {error}", log.display())))?;
    let mut child = Command::new(binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| failed(error.to_string()))?;

    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| failed("no stdout pipe".to_owned()))?;
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(START_TIMEOUT, lines.next_line())
        .await
        .map_err(|_| failed(format!("no address printed within {START_TIMEOUT:?}")))?
        .map_err(|error| failed(error.to_string()))?
        .ok_or_else(|| failed(format!("exited before listening; see {}", log.display())))?;
    let base_url = first
        .strip_prefix("listening on ")
        .ok_or_else(|| failed(format!("unexpected first line {first:?}")))?
        .to_owned();

    let pid = child.id();
    tracing::info!(%base_url, ?pid, "server started");
    Ok(ServerProcess {
        child,
        base_url,
        pid,
    })
}

impl ServerProcess {
    /// Returns the CPU time the server process has used so far, read from
    /// `/proc` (Linux only; `None` elsewhere).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid?)).ok()?;
        // Fields after the command name, which is in parentheses and may contain spaces.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let user: u64 = fields.get(11)?.parse().ok()?;
        let system: u64 = fields.get(12)?.parse().ok()?;
        // NOTE: assumes the usual 100 clock ticks per second of Linux.
        Some(Duration::from_millis((user + system) * 10))
    }

    /// Kills the server and waits for it to exit.
    pub async fn stop(mut self) {
        if let Err(error) = self.child.kill().await {
            tracing::warn!(%error, pid = ?self.pid, "stopping the server failed");
            return;
        }
        tracing::info!(pid = ?self.pid, "server stopped");
    }
}
