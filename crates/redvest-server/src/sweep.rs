//! The background sweeps: at start and then every [`SWEEP_INTERVAL`],
//! clock-ins whose window and grace ended without a clock-out get a
//! server-side auto-close marker for duty hours, and expired photo uploads
//! are deleted.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::MissedTickBehavior;

use crate::store::{PhotoSweep, Storage};

/// How often the sweep runs while the server serves.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Sweeps at once and then every `interval`, until the task is aborted.
pub async fn run_sweeps(store: Arc<dyn Storage>, interval: Duration) {
    tracing::info!(interval_s = interval.as_secs(), "shift sweep started");
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        sweep_once(store.clone()).await;
        sweep_photos_once(store.clone()).await;
    }
}

/// Runs one photo sweep on the blocking pool and logs its outcome.
pub async fn sweep_photos_once(store: Arc<dyn Storage>) -> Option<PhotoSweep> {
    let swept = tokio::task::spawn_blocking(move || store.sweep_photos(Utc::now())).await;
    match swept {
        Ok(Ok(sweep)) => {
            if sweep != PhotoSweep::default() {
                tracing::info!(
                    photos_deleted = sweep.photos_deleted,
                    partials_deleted = sweep.partials_deleted,
                    "photo sweep deleted expired uploads"
                );
            }
            Some(sweep)
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "photo sweep failed; retrying at the next interval");
            None
        }
        Err(error) => {
            tracing::error!(%error, "photo sweep task failed; retrying at the next interval");
            None
        }
    }
}

/// Runs one sweep on the blocking pool and logs its outcome; returns how
/// many shifts it closed, or `None` when it failed.
pub async fn sweep_once(store: Arc<dyn Storage>) -> Option<usize> {
    let swept = tokio::task::spawn_blocking(move || store.close_open_shifts(Utc::now())).await;
    match swept {
        Ok(Ok(closed)) => {
            if closed > 0 {
                tracing::info!(closed, "shift sweep closed shifts left open");
            } else {
                tracing::debug!("shift sweep found no shift to close");
            }
            Some(closed)
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "shift sweep failed; retrying at the next interval");
            None
        }
        Err(error) => {
            tracing::error!(%error, "shift sweep task failed; retrying at the next interval");
            None
        }
    }
}
