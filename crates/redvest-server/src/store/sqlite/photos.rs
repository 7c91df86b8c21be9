//! The database side of photos: which photos are complete and who uploaded
//! them, who may fetch one, the submission changes a completed photo
//! triggers, and the expiry of photos that no record names.

use chrono::{DateTime, TimeDelta, Utc};
use redvest_proto::wire::PhotoStatus;
use rusqlite::{named_params, params, Connection, Transaction};
use uuid::Uuid;

use super::changes::{emit_submission, SUBMISSION_VISIBLE};
use super::{parse_uuid, time_text};
use crate::store::photo_files::{PhotoFileError, PhotoFiles};
use crate::store::{PhotoChunk, StoreError};

/// How long an uploaded photo that none of its uploader's records names is
/// kept before the sweep deletes it.
pub const UNNAMED_PHOTO_TTL: TimeDelta = TimeDelta::days(7);
/// How long a partial upload is kept after its last chunk.
pub const PARTIAL_UPLOAD_TTL: TimeDelta = TimeDelta::days(2);

/// Writes one member's chunk to the photo files and maps their errors to
/// store errors.
pub fn write_file(
    files: &PhotoFiles,
    uploader: Uuid,
    chunk: PhotoChunk<'_>,
    replace: bool,
) -> Result<PhotoStatus, StoreError> {
    let status = files.write_chunk(
        chunk.sha256,
        &uploader.to_string(),
        (chunk.offset, chunk.total, chunk.bytes),
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
            tracing::warn!(sha256 = chunk.sha256, %uploader, %error, "discarded photo upload");
            Err(StoreError::invalid("sha256_mismatch", error.to_string()))
        }
        Err(PhotoFileError::Io(error)) => Err(error.into()),
    }
}

/// Tells whether the member already completed an upload of this photo.
pub fn is_uploader(conn: &Connection, sha256: &str, member_id: Uuid) -> Result<bool, StoreError> {
    let found = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM photo_uploaders WHERE sha256 = ?1 AND member_id = ?2)",
        params![sha256, member_id.to_string()],
        |row| row.get(0),
    )?;
    Ok(found)
}

/// Records a verified photo and its uploader once, and re-announces the
/// uploader's submissions naming it, whose received-photo count changed.
pub fn mark_complete(
    tx: &Transaction<'_>,
    sha256: &str,
    bytes: u64,
    uploader: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let uploader_text = uploader.to_string();
    tx.execute(
        "INSERT OR IGNORE INTO photos (sha256, bytes, completed_at, uploader_id) \
         VALUES (?1, ?2, ?3, ?4)",
        params![sha256, bytes as i64, time_text(at), uploader_text],
    )?;
    let added = tx.execute(
        "INSERT OR IGNORE INTO photo_uploaders (sha256, member_id, completed_at) \
         VALUES (?1, ?2, ?3)",
        params![sha256, uploader_text, time_text(at)],
    )?;
    if added == 0 {
        return Ok(());
    }
    tracing::info!(sha256, bytes, %uploader, "photo complete");
    let mut statement = tx.prepare(
        "SELECT rp.record_id FROM record_photos rp JOIN records r ON r.id = rp.record_id \
         WHERE rp.sha256 = ?1 AND r.member_id = ?2",
    )?;
    let subjects = statement.query_map(params![sha256, uploader_text], |row| {
        parse_uuid(&row.get::<_, String>(0)?)
    })?;
    for subject_id in subjects.collect::<Result<Vec<_>, _>>()? {
        emit_submission(tx, subject_id)?;
    }
    Ok(())
}

/// Tells whether the caller may download a photo: it uploaded the photo
/// itself, or it may see a submission that names the photo and whose owner
/// uploaded it. Naming a hash in one's own lead grants nothing.
pub fn is_visible(
    conn: &Connection,
    caller: &crate::store::Caller,
    sha256: &str,
) -> Result<bool, StoreError> {
    let member = &caller.member;
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM photo_uploaders WHERE sha256 = :sha256 AND member_id = :me) \
         OR EXISTS (SELECT 1 FROM record_photos rp \
             JOIN reviews ON reviews.subject_id = rp.record_id \
             JOIN photo_uploaders pu ON pu.sha256 = rp.sha256 AND pu.member_id = reviews.owner_id \
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

/// Forgets uploads that none of the uploader's records names after
/// [`UNNAMED_PHOTO_TTL`] and deletes the rows of photos left with no
/// uploader. Returns the hashes whose files the caller must delete.
pub fn expire_unnamed(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
    let cutoff = now
        .checked_sub_signed(UNNAMED_PHOTO_TTL)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    tx.execute(
        "DELETE FROM photo_uploaders WHERE completed_at < ?1 \
           AND NOT EXISTS (SELECT 1 FROM record_photos rp JOIN records r ON r.id = rp.record_id \
                           WHERE rp.sha256 = photo_uploaders.sha256 \
                             AND r.member_id = photo_uploaders.member_id)",
        [time_text(cutoff)],
    )?;
    let mut statement = tx.prepare(
        "SELECT sha256 FROM photos p \
         WHERE NOT EXISTS (SELECT 1 FROM photo_uploaders pu WHERE pu.sha256 = p.sha256)",
    )?;
    let orphans = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for sha256 in &orphans {
        tx.execute("DELETE FROM photos WHERE sha256 = ?1", [sha256])?;
    }
    Ok(orphans)
}
