//! The background sync loop. It owns its own store connection and runs
//! [`sync_once`] again and again. After a good run it waits 30 s. After a
//! failed run it waits the server's `Retry-After`, or else an exponential
//! backoff with full jitter from 1 s up to 5 min. When the member must sign
//! in, it waits for the next nudge. It runs on the caller's tokio runtime
//! and never builds its own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing::{error, info};

use super::client::SyncClient;
use super::error::SyncError;
use super::run::{sync_once, SyncReport, SIGN_IN_MESSAGE};
use crate::store::{Store, SyncStatus};

/// The wait between good runs.
pub const PERIODIC: Duration = Duration::from_secs(30);

/// The first backoff step after a failed run.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);

/// The maximum backoff step.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);

/// The maximum `Retry-After` the engine honours.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(60 * 60);

/// Supplies the session token, which the app keeps in the OS secret store.
pub trait TokenSource: Send + Sync + 'static {
    /// Returns the current token, or `None` when no member is signed in.
    fn token(&self) -> Option<String>;
}

/// What the loop does after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    For(Duration),
    UntilNudge,
}

/// Computes the wait after a run from its outcome and the number of failed
/// runs in a row (including this one). `jitter` picks a point in `0..=1`.
pub fn next_wait(outcome: Result<(), &SyncError>, failures: u32, jitter: f64) -> Wait {
    let error = match outcome {
        Ok(()) => return Wait::For(PERIODIC),
        Err(error) => error,
    };
    if error.is_auth() {
        return Wait::UntilNudge;
    }
    if let Some(retry_after) = error.retry_after() {
        return Wait::For(retry_after.min(RETRY_AFTER_MAX));
    }

    let exponent = failures.saturating_sub(1).min(16);
    let ceiling = BACKOFF_BASE.saturating_mul(1 << exponent).min(BACKOFF_MAX);
    Wait::For(ceiling.mul_f64(jitter.clamp(0.0, 1.0)))
}

/// Starts the background sync loop.
pub struct SyncEngine;

/// Controls a running sync loop.
pub struct SyncHandle {
    nudge: Arc<Notify>,
    status: watch::Receiver<SyncStatus>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SyncEngine {
    /// Spawns the loop on the current tokio runtime. It opens its own
    /// connection to the database at `db_path`.
    pub fn spawn(db_path: PathBuf, base_url: String, tokens: Arc<dyn TokenSource>) -> SyncHandle {
        let nudge = Arc::new(Notify::new());
        let (status_tx, status) = watch::channel(SyncStatus::default());
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run_loop(
            db_path,
            base_url,
            tokens,
            nudge.clone(),
            status_tx,
            stop_rx,
        ));
        SyncHandle {
            nudge,
            status,
            stop,
            task,
        }
    }
}

impl SyncHandle {
    /// Wakes the loop for a run now (after a capture, on foreground, or when
    /// connectivity returns). A nudge during a run causes one more run.
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Returns a receiver of the sync badge figures, updated after every run.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Stops the loop after the current request and waits for it to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            error!(%error, "sync loop ended abnormally");
        }
    }
}

async fn run_loop(
    db_path: PathBuf,
    base_url: String,
    tokens: Arc<dyn TokenSource>,
    nudge: Arc<Notify>,
    status: watch::Sender<SyncStatus>,
    mut stop: watch::Receiver<bool>,
) {
    let setup = open(db_path, &base_url).await;
    let (store, client) = match setup {
        Ok(parts) => parts,
        Err(error) => {
            error!(%error, "sync loop could not start");
            let _ = status.send(SyncStatus {
                last_error: Some(error.to_string()),
                ..SyncStatus::default()
            });
            return;
        }
    };
    let device_id = store
        .device_id()
        .map(|id| id.to_string())
        .unwrap_or_default();
    info!(%device_id, server = client.base_url(), "sync loop started");
    publish(&store, &status);

    let mut failures = 0;
    loop {
        let outcome = run_once(&store, &client, tokens.as_ref()).await;
        failures = if outcome.is_ok() { 0 } else { failures + 1 };
        publish(&store, &status);

        let wait = next_wait(
            outcome.as_ref().map(|_| ()),
            failures,
            rand::thread_rng().gen(),
        );
        if let Err(error) = &outcome {
            info!(%device_id, %error, ?wait, failures, "sync will retry");
        }
        let woken_by_stop = match wait {
            Wait::For(delay) => tokio::select! {
                _ = tokio::time::sleep(delay) => false,
                _ = nudge.notified() => false,
                _ = stop.changed() => true,
            },
            Wait::UntilNudge => tokio::select! {
                _ = nudge.notified() => false,
                _ = stop.changed() => true,
            },
        };
        if woken_by_stop || *stop.borrow() {
            break;
        }
    }
    info!(%device_id, "sync loop stopped");
}

async fn open(db_path: PathBuf, base_url: &str) -> Result<(Store, SyncClient), SyncError> {
    let client = SyncClient::new(base_url)?;
    let store = tokio::task::spawn_blocking(move || Store::open(db_path))
        .await
        .map_err(|error| SyncError::Task(format!("opening the store failed: {error}")))??;
    Ok((store, client))
}

async fn run_once(
    store: &Store,
    client: &SyncClient,
    tokens: &dyn TokenSource,
) -> Result<SyncReport, SyncError> {
    let Some(token) = tokens.token() else {
        store.note_sync_failure(SIGN_IN_MESSAGE, true)?;
        return Err(SyncError::NoToken);
    };
    sync_once(store, client, &token).await
}

fn publish(store: &Store, status: &watch::Sender<SyncStatus>) {
    match store.sync_status() {
        Ok(current) => {
            status.send_replace(current);
        }
        Err(error) => error!(%error, "could not read sync status"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Name, run outcome, failures in a row, jitter and expected wait.
    type Case<'a> = (&'a str, Result<(), &'a SyncError>, u32, f64, Wait);

    fn server_error(status: u16, retry_after: Option<Duration>) -> SyncError {
        SyncError::Http {
            status,
            code: "x".into(),
            message: "x".into(),
            retry_after,
        }
    }

    #[test]
    fn wait_after_each_outcome() {
        let unavailable = server_error(503, Some(Duration::from_secs(42)));
        let internal = server_error(500, None);
        let unauthorized = server_error(401, None);
        let cases: [Case; 6] = [
            ("good run", Ok(()), 0, 0.5, Wait::For(PERIODIC)),
            (
                "retry-after honoured",
                Err(&unavailable),
                3,
                0.5,
                Wait::For(Duration::from_secs(42)),
            ),
            (
                "first failure full jitter top",
                Err(&internal),
                1,
                1.0,
                Wait::For(Duration::from_secs(1)),
            ),
            (
                "fourth failure",
                Err(&internal),
                4,
                1.0,
                Wait::For(Duration::from_secs(8)),
            ),
            (
                "capped at five minutes",
                Err(&internal),
                30,
                1.0,
                Wait::For(BACKOFF_MAX),
            ),
            (
                "auth waits for nudge",
                Err(&unauthorized),
                1,
                0.5,
                Wait::UntilNudge,
            ),
        ];
        for (name, outcome, failures, jitter, expected) in cases {
            assert_eq!(next_wait(outcome, failures, jitter), expected, "{name}");
        }
    }
}
