//! One sync run: check the server epoch, push queued records in numbered
//! batches, upload the photos of acknowledged leads, send queued decisions,
//! pull changes and download the photos of leads waiting for review
//! (`super::downloads`). Every step reads its work from the store and writes
//! its progress back before the next request, so a run cut short at any
//! point resumes where it stopped.
//!
//! A batch the server rejects as a whole with 400, 413 or 422 (see
//! [`SyncError::is_rejection`]) is halved until the one record it rejects
//! is alone. That record is marked rejected with the server's message, and
//! the others are pushed. A photo or decision that fails for good is held
//! back for longer after each attempt (`store::item_retry_delay`).

use std::io::SeekFrom;

use redvest_proto::wire::PushRequest;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tracing::{debug, info, warn};

use super::client::SyncClient;
use super::downloads::{fetch_review_photos, REVIEW_PHOTO_BUDGET};
use super::error::SyncError;
use crate::store::{PendingPhoto, Store};

/// The maximum number of records in one push batch.
pub const PUSH_BATCH_MAX: usize = 200;

/// The size of one photo upload chunk.
pub const PHOTO_CHUNK_BYTES: usize = 256 * 1024;

/// The number of changes asked for per pull page.
pub const CHANGES_PAGE: u32 = 500;

/// How many offset corrections one photo upload accepts in a run.
const MAX_OFFSET_CORRECTIONS: u32 = 3;

/// The message stored when the server rejects the session token.
pub const SIGN_IN_MESSAGE: &str = "the session expired or was revoked: sign in again";

/// The counts of one sync run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// The server epoch changed and everything was queued again.
    pub epoch_changed: bool,
    pub batches: usize,
    pub stored: usize,
    pub conflicts: usize,
    pub rejected: usize,
    pub photos_uploaded: usize,
    pub decisions_sent: usize,
    pub changes_applied: usize,
    /// Photos of queued leads brought to this device for review.
    pub photos_downloaded: usize,
}

/// Runs one sync pass and records its outcome in the store. A 401 or 403
/// stops the run at once and marks the session as needing a new sign-in.
pub async fn sync_once(
    store: &Store,
    client: &SyncClient,
    token: &str,
) -> Result<SyncReport, SyncError> {
    let outcome = run_steps(store, client, token).await;
    match &outcome {
        Ok(report) => {
            store.note_sync_success()?;
            info!(?report, "sync run finished");
        }
        Err(error) if error.is_auth() => {
            store.note_sync_failure(SIGN_IN_MESSAGE, true)?;
            warn!(%error, "sync stopped: session token rejected");
        }
        Err(error) => {
            store.note_sync_failure(&error.to_string(), false)?;
            warn!(%error, transient = error.is_transient(), "sync run failed");
        }
    }
    outcome
}

async fn run_steps(
    store: &Store,
    client: &SyncClient,
    token: &str,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let health = client.health().await?;
    report.epoch_changed = store.adopt_epoch(health.epoch)?;

    push_records(store, client, token, &mut report).await?;
    upload_photos(store, client, token, &mut report).await?;
    send_decisions(store, client, token, &mut report).await?;
    pull_changes(store, client, token, &mut report).await?;
    if let Some(photos_dir) = store.photos_dir() {
        report.photos_downloaded =
            fetch_review_photos(store, client, token, &photos_dir, REVIEW_PHOTO_BUDGET)
                .await?
                .downloaded;
    }
    Ok(report)
}

async fn push_records(
    store: &Store,
    client: &SyncClient,
    token: &str,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let device_id = store.device_id()?;
    while let Some(batch) = store.next_push_batch(PUSH_BATCH_MAX)? {
        let request = PushRequest {
            device_id,
            batch_seq: batch.batch_seq,
            records: batch.records,
            sent_at: Some(redvest_proto::Stamp::now_local()),
        };
        debug!(
            batch_seq = request.batch_seq,
            records = request.records.len(),
            "pushing batch"
        );
        let response = match client.push(token, &request).await {
            Ok(response) => response,
            Err(error) if error.is_rejection() => {
                store.note_batch_failure(request.batch_seq, &error.to_string())?;
                report.rejected += narrow_rejected_batch(store, request.batch_seq, &error)?;
                continue;
            }
            Err(error) => {
                store.note_batch_failure(request.batch_seq, &error.to_string())?;
                return Err(error);
            }
        };
        if response.batch_seq != request.batch_seq {
            let message = format!(
                "push of batch {} was acknowledged as batch {}",
                request.batch_seq, response.batch_seq
            );
            return Err(SyncError::InvalidResponse(message));
        }

        let counts = store.apply_push_response(request.batch_seq, &response)?;
        report.batches += 1;
        report.stored += counts.stored;
        report.conflicts += counts.conflicts;
        report.rejected += counts.rejected;
        if counts.stored + counts.conflicts + counts.rejected == 0 {
            let message = format!(
                "push of batch {} acknowledged none of its records",
                request.batch_seq
            );
            return Err(SyncError::InvalidResponse(message));
        }
    }
    Ok(())
}

/// Halves a batch the server rejected as a whole, or marks its record
/// rejected when it contains only one. Returns the number of records rejected.
fn narrow_rejected_batch(
    store: &Store,
    batch_seq: i64,
    error: &SyncError,
) -> Result<usize, SyncError> {
    if let Some((first, second)) = store.split_batch(batch_seq)? {
        warn!(batch_seq, first, second, %error, "server rejected push batch, splitting it");
        return Ok(0);
    }
    let rejected = store.reject_batch(batch_seq, &error.to_string())?;
    warn!(batch_seq, %error, "server rejected the last record of a split batch, marked it rejected");
    Ok(rejected)
}

async fn upload_photos(
    store: &Store,
    client: &SyncClient,
    token: &str,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    for photo in store.photos_to_upload()? {
        match upload_photo(store, client, token, &photo).await {
            Ok(()) => report.photos_uploaded += 1,
            Err(error) if error.is_transient() || error.is_auth() => return Err(error),
            Err(error) => {
                let delay = store.note_item_failure("photo", &photo.sha256, &error.to_string())?;
                warn!(sha256 = %photo.sha256, %error, ?delay, "photo upload failed; retrying later");
            }
        }
    }
    Ok(())
}

/// Uploads the rest of one photo from the offset the server holds.
async fn upload_photo(
    store: &Store,
    client: &SyncClient,
    token: &str,
    photo: &PendingPhoto,
) -> Result<(), SyncError> {
    let status = client.photo_status(token, &photo.sha256).await?;
    if status.complete {
        store.mark_photo_done(&photo.sha256)?;
        return Ok(());
    }

    let photo_file_error = |source| SyncError::PhotoFile {
        path: photo.path.display().to_string(),
        source,
    };
    let mut file = tokio::fs::File::open(&photo.path)
        .await
        .map_err(photo_file_error)?;
    let mut offset = status.bytes_received;
    let mut corrections = 0;
    info!(sha256 = %photo.sha256, offset, bytes = photo.bytes, "uploading photo");
    if offset >= photo.bytes {
        // The server holds every byte but stopped before verifying and moving
        // the file into place; an empty chunk at the end makes it finish.
        client
            .upload_photo_chunk(token, &photo.sha256, photo.bytes, photo.bytes, Vec::new())
            .await?;
    }
    while offset < photo.bytes {
        let chunk = read_chunk(&mut file, offset, photo.bytes)
            .await
            .map_err(photo_file_error)?;
        match client
            .upload_photo_chunk(token, &photo.sha256, offset, photo.bytes, chunk)
            .await
        {
            Ok(status) if status.complete => break,
            Ok(status) => offset = status.bytes_received,
            Err(SyncError::OffsetMismatch { server_offset })
                if corrections < MAX_OFFSET_CORRECTIONS =>
            {
                corrections += 1;
                debug!(sha256 = %photo.sha256, offset, server_offset, "continuing from the server's offset");
                offset = server_offset;
            }
            Err(error) => return Err(error),
        }
        store.set_photo_progress(&photo.sha256, offset)?;
    }

    let status = client.photo_status(token, &photo.sha256).await?;
    if !status.complete {
        let message = format!(
            "server holds {} of {} bytes after the last chunk",
            status.bytes_received, photo.bytes
        );
        return Err(SyncError::InvalidResponse(message));
    }
    store.mark_photo_done(&photo.sha256)?;
    Ok(())
}

async fn read_chunk(
    file: &mut tokio::fs::File,
    offset: u64,
    total: u64,
) -> std::io::Result<Vec<u8>> {
    let length = (total - offset).min(PHOTO_CHUNK_BYTES as u64) as usize;
    let mut chunk = vec![0; length];
    file.seek(SeekFrom::Start(offset)).await?;
    file.read_exact(&mut chunk).await?;
    Ok(chunk)
}

async fn send_decisions(
    store: &Store,
    client: &SyncClient,
    token: &str,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    for decision in store.queued_decisions()? {
        match client.decide(token, &decision).await {
            Ok(response) => {
                store.apply_decision_outcome(decision.id, &response.outcome)?;
                report.decisions_sent += 1;
            }
            Err(error) if error.is_transient() || error.is_auth() => return Err(error),
            Err(error) if error.is_rejection() => {
                warn!(decision_id = %decision.id, %error, "server rejected decision");
                store.reject_decision(decision.id, &error.to_string())?;
            }
            Err(error) => {
                let id = decision.id.to_string();
                let delay = store.note_item_failure("decision", &id, &error.to_string())?;
                warn!(decision_id = %decision.id, %error, ?delay, "decision failed; retrying later");
            }
        }
    }
    Ok(())
}

async fn pull_changes(
    store: &Store,
    client: &SyncClient,
    token: &str,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    loop {
        let after = store.cursor()?;
        let page = client.changes(token, after, CHANGES_PAGE).await?;
        if store.server_epoch()? != Some(page.epoch) {
            let message = format!(
                "changes came from server epoch {}, not the one checked at start",
                page.epoch
            );
            return Err(SyncError::InvalidResponse(message));
        }

        report.changes_applied += store.apply_changes(&page)?;
        if !page.more || page.cursor <= after {
            return Ok(());
        }
    }
}
