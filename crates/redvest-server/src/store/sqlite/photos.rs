//! The database side of photos: which photos are complete, who may fetch
//! one, and the submission changes a completed photo triggers.

use chrono::{DateTime, Utc};
use redvest_proto::wire::PhotoStatus;
use rusqlite::{named_params, params, Connection, Transaction};

use super::changes::{emit_submission, SUBMISSION_VISIBLE};
use super::{parse_uuid, time_text};
use crate::store::photo_files::{PhotoFileError, PhotoFiles};
use crate::store::{Caller, PhotoChunk, StoreError};

/// Writes a chunk to the photo files and maps their errors to store errors.
pub fn write_file(
    files: &PhotoFiles,
    chunk: PhotoChunk<'_>,
    replace: bool,
) -> Result<PhotoStatus, StoreError> {
    let status = files.write_chunk(
        chunk.sha256,
        chunk.offset,
        chunk.total,
        chunk.bytes,
        replace,
    );
    match status {
        Ok(status) => Ok(PhotoStatus {
            sha256: chunk.sha256.to_owned(),
            bytes_received: status.bytes_received,
            complete: status.complete,
        }),
        Err(PhotoFileError::OffsetMismatch {
            requested,
            expected,
        }) => Err(StoreError::OffsetMismatch {
            requested,
            expected,
        }),
        Err(error @ PhotoFileError::PastEnd { .. }) => {
            Err(StoreError::invalid("invalid_request", error.to_string()))
        }
        Err(error @ PhotoFileError::Sha256Mismatch { .. }) => {
            tracing::warn!(sha256 = chunk.sha256, %error, "discarded photo upload");
            Err(StoreError::invalid("sha256_mismatch", error.to_string()))
        }
        Err(PhotoFileError::Io(error)) => Err(error.into()),
    }
}

/// Records a verified photo once and re-announces every submission naming it.
pub fn mark_complete(
    tx: &Transaction<'_>,
    sha256: &str,
    bytes: u64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let added = tx.execute(
        "INSERT OR IGNORE INTO photos (sha256, bytes, completed_at) VALUES (?1, ?2, ?3)",
        params![sha256, bytes as i64, time_text(at)],
    )?;
    if added == 0 {
        return Ok(());
    }
    tracing::info!(sha256, bytes, "photo complete");
    let mut statement = tx.prepare("SELECT record_id FROM record_photos WHERE sha256 = ?1")?;
    let subjects = statement.query_map([sha256], |row| parse_uuid(&row.get::<_, String>(0)?))?;
    for subject_id in subjects.collect::<Result<Vec<_>, _>>()? {
        emit_submission(tx, subject_id)?;
    }
    Ok(())
}

/// Tells whether the caller may see a submission naming this photo.
pub fn is_visible(conn: &Connection, caller: &Caller, sha256: &str) -> Result<bool, StoreError> {
    let member = &caller.member;
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM record_photos rp JOIN reviews ON reviews.subject_id = \
            rp.record_id \
         WHERE rp.sha256 = :sha256 AND {SUBMISSION_VISIBLE})"
    );
    let visible = conn.query_row(
        &sql,
        named_params! {
            ":sha256": sha256,
            ":brigade": member.brigade_id.to_string(),
            ":role": member.role.as_str(),
            ":squad": member.squad_id.map(|id| id.to_string()),
            ":me": member.id.to_string(),
        },
        |row| row.get(0),
    )?;
    Ok(visible)
}
