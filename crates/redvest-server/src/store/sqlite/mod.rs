//! The SQLite backend: `<data>/redvest.db` in WAL mode plus photo files in
//! `<data>/photos/`.
//!
//! One writer connection behind a mutex serialises every write transaction.
//! SQLite allows one writer anyway, and queueing on the mutex keeps `busy`
//! errors out of the hot path. Push batches that arrive while the writer is
//! busy are stored together in one transaction (`group_commit`), so they
//! share one fsync. Readers come from a small pool. Submodules
//! hold the SQL of one concern each and work on a `Transaction` or
//! `Connection`.

mod accounts;
mod audit_log;
mod changes;
mod decisions;
mod duty;
mod group_commit;
mod photos;
mod push;
mod schema;
mod sites;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use redvest_proto::wire::{
    ChangesResponse, DecisionRequest, DecisionResponse, DutyHoursResponse, Member, PhotoStatus,
    Role, Site,
};
use rusqlite::{Connection, OpenFlags, Row, Transaction, TransactionBehavior};
use uuid::Uuid;

use self::group_commit::{PendingPush, PushSlot};
use super::photo_files::PhotoFiles;
use super::{
    AuditReport, Caller, Credentials, IncomingBatch, PhotoChunk, PhotoSweep, PushAck, SeedPlan,
    Storage, StoreError, SESSION_IDLE_LIMIT, SESSION_TOUCH_INTERVAL,
};

const READER_POOL: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store over one data directory.
#[derive(Debug)]
pub struct SqliteStore {
    db_path: PathBuf,
    writer: Mutex<Connection>,
    /// Pushes waiting for the writer; see `group_commit`.
    push_queue: Mutex<Vec<PendingPush>>,
    readers: Mutex<Vec<Connection>>,
    photos: PhotoFiles,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let db_path = data_dir.join("redvest.db");
        let mut writer = open_connection(&db_path, false)?;
        schema::migrate(&mut writer)?;
        let photos = PhotoFiles::open(&data_dir.join("photos"))?;
        tracing::info!(path = %db_path.display(), "opened store");
        Ok(Self {
            db_path,
            writer: Mutex::new(writer),
            push_queue: Mutex::new(Vec::new()),
            readers: Mutex::new(Vec::new()),
            photos,
        })
    }

    /// Runs `work` in one IMMEDIATE transaction on the writer connection and
    /// commits it; any error rolls everything back.
    fn write<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Returns the complete status of a photo the member already uploaded,
    /// or `None` when the member has not, or its file has gone missing.
    fn uploaded_status(
        &self,
        member_id: Uuid,
        sha256: &str,
    ) -> Result<Option<PhotoStatus>, StoreError> {
        if !self.read(|conn| photos::is_uploader(conn, sha256, member_id))? {
            return Ok(None);
        }
        let status = self.photos.complete_len(sha256)?.map(|bytes| PhotoStatus {
            sha256: sha256.to_owned(),
            bytes_received: bytes,
            complete: true,
        });
        Ok(status)
    }

    /// Runs `work` on a pooled read-only connection.
    fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = lock(&self.readers).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.db_path, true)?,
        };
        let value = work(&conn);
        let mut readers = lock(&self.readers);
        if readers.len() < READER_POOL {
            readers.push(conn);
        }
        value
    }
}

impl Storage for SqliteStore {
    fn epoch(&self) -> Result<Uuid, StoreError> {
        self.read(accounts::epoch)
    }

    fn reset_epoch(&self) -> Result<Uuid, StoreError> {
        self.write(accounts::reset_epoch)
    }

    fn credentials(&self, phone: &str) -> Result<Option<Credentials>, StoreError> {
        self.read(|conn| accounts::credentials(conn, phone))
    }

    fn create_session(
        &self,
        token_sha256: &str,
        member_id: Uuid,
        device_id: Uuid,
    ) -> Result<(), StoreError> {
        self.write(|tx| accounts::create_session(tx, token_sha256, member_id, device_id))
    }

    fn caller(&self, token_sha256: &str) -> Result<Caller, StoreError> {
        let session = self.read(|conn| accounts::session(conn, token_sha256))?;
        let (caller, last_used_at) =
            session.ok_or_else(|| StoreError::NotFound("session".into()))?;
        let now = Utc::now();
        if now - last_used_at > SESSION_IDLE_LIMIT {
            self.write(|tx| accounts::end_session(tx, token_sha256))?;
            tracing::info!(member_id = %caller.member.id, device_id = %caller.device_id, "session expired");
            return Err(StoreError::NotFound("session".into()));
        }
        if now - last_used_at > SESSION_TOUCH_INTERVAL {
            self.write(|tx| accounts::touch_session(tx, token_sha256, now))?;
        }
        Ok(caller)
    }

    fn end_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        let ended = self.write(|tx| accounts::end_session(tx, token_sha256))?;
        if !ended {
            return Err(StoreError::NotFound("session".into()));
        }
        Ok(())
    }

    fn push(
        &self,
        caller: &Caller,
        batch: &IncomingBatch,
        received_at: DateTime<Utc>,
    ) -> Result<PushAck, StoreError> {
        let slot: PushSlot = Arc::default();
        lock(&self.push_queue).push(PendingPush {
            caller: caller.clone(),
            batch: batch.clone(),
            received_at,
            slot: slot.clone(),
        });
        let mut conn = lock(&self.writer);
        loop {
            if let Some(result) = lock(&slot).take() {
                return result;
            }
            let group = group_commit::take_group(&self.push_queue);
            if group.is_empty() {
                // The caller that took this push panicked before storing its result.
                return Err(StoreError::other(group_commit::GroupCommitError {
                    batches: 0,
                    message: "the push was lost with a failed group; send it again".into(),
                }));
            }
            group_commit::commit_group(&mut conn, group);
        }
    }

    fn changes(
        &self,
        caller: &Caller,
        after: i64,
        limit: u32,
    ) -> Result<ChangesResponse, StoreError> {
        self.read(|conn| changes::page(conn, caller, after, limit))
    }

    fn decide(
        &self,
        caller: &Caller,
        decision: &DecisionRequest,
        received_at: DateTime<Utc>,
    ) -> Result<DecisionResponse, StoreError> {
        self.write(|tx| decisions::decide(tx, caller, decision, received_at))
    }

    fn photo_status(&self, caller: &Caller, sha256: &str) -> Result<PhotoStatus, StoreError> {
        let me = caller.member.id;
        if let Some(status) = self.uploaded_status(me, sha256)? {
            return Ok(status);
        }
        let status = self.photos.upload_status(sha256, &me.to_string())?;
        if status.complete {
            self.write(|tx| {
                photos::mark_complete(tx, sha256, status.bytes_received, me, Utc::now())
            })?;
        }
        Ok(PhotoStatus {
            sha256: sha256.to_owned(),
            bytes_received: status.bytes_received,
            complete: status.complete,
        })
    }

    fn photo_write(
        &self,
        caller: &Caller,
        chunk: PhotoChunk<'_>,
        replace: bool,
    ) -> Result<PhotoStatus, StoreError> {
        let me = caller.member.id;
        if let Some(status) = self.uploaded_status(me, chunk.sha256)? {
            return Ok(status);
        }
        let status = photos::write_file(&self.photos, me, chunk, replace)?;
        if status.complete {
            self.write(|tx| {
                photos::mark_complete(tx, chunk.sha256, status.bytes_received, me, Utc::now())
            })?;
        }
        Ok(status)
    }

    fn photo_read(&self, caller: &Caller, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let visible = self.read(|conn| photos::is_visible(conn, caller, sha256))?;
        if !visible {
            return Err(StoreError::NotFound(format!("photo {sha256}")));
        }
        match self.photos.read(sha256) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(
                StoreError::NotFound(format!("photo {sha256} (not uploaded yet)")),
            ),
            other => Ok(other?),
        }
    }

    /// Deletes the rows first and the files after the commit. NOTE: an
    /// upload of the same bytes that completes between the two loses its
    /// file. Its uploader's next status call then reports the photo
    /// missing, so the phone uploads it again.
    fn sweep_photos(&self, now: DateTime<Utc>) -> Result<PhotoSweep, StoreError> {
        let expired = self.write(|tx| photos::expire_unnamed(tx, now))?;
        for sha256 in &expired {
            self.photos.remove(sha256)?;
            tracing::info!(sha256, "deleted a photo that no record names");
        }
        let cutoff = now
            .checked_sub_signed(photos::PARTIAL_UPLOAD_TTL)
            .map_or(std::time::UNIX_EPOCH, SystemTime::from);
        let partials_deleted = self.photos.remove_partials_before(cutoff)?;
        Ok(PhotoSweep {
            photos_deleted: expired.len(),
            partials_deleted,
        })
    }

    fn put_site(&self, caller: &Caller, site: &Site) -> Result<Site, StoreError> {
        self.write(|tx| sites::put_site(tx, caller, site, Utc::now()))
    }

    fn delete_site(&self, caller: &Caller, site_id: Uuid) -> Result<(), StoreError> {
        self.write(|tx| sites::delete_site(tx, caller, site_id, Utc::now()))
    }

    fn duty_hours(
        &self,
        caller: &Caller,
        month: NaiveDate,
        member: Option<Uuid>,
    ) -> Result<DutyHoursResponse, StoreError> {
        self.read(|conn| duty::duty_hours(conn, caller, month, member))
    }

    /// Finds due shifts on a reader, so the writer is held only when there
    /// are markers to insert.
    fn close_open_shifts(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let due = self.read(|conn| duty::shifts_due(conn, now))?;
        if due.is_empty() {
            return Ok(0);
        }
        self.write(|tx| duty::insert_markers(tx, &due, now))
    }

    fn remove_site(&self, site_id: Uuid) -> Result<(), StoreError> {
        self.write(|tx| accounts::remove_site(tx, site_id, Utc::now()))
    }

    fn remove_member(&self, member_id: Uuid) -> Result<(), StoreError> {
        self.write(|tx| accounts::remove_member(tx, member_id, Utc::now()))
    }

    fn seed(&self, plan: &SeedPlan) -> Result<usize, StoreError> {
        self.write(|tx| accounts::seed(tx, plan))
    }

    fn audit_verify(&self) -> Result<AuditReport, StoreError> {
        self.read(audit_log::verify)
    }
}

fn open_connection(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Formats an instant the way every text column stores it.
fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                Box::new(error),
            )
        })
}

fn parse_uuid(text: &str) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(error))
    })
}

fn parse_optional_uuid(text: Option<String>) -> rusqlite::Result<Option<Uuid>> {
    text.as_deref().map(parse_uuid).transpose()
}

/// Reads a member from `id, name, role, brigade_id, squad_id` columns.
fn member_from_row(row: &Row<'_>) -> rusqlite::Result<Member> {
    let role: String = row.get(2)?;
    let role = Role::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown role {role}").into(),
        )
    })?;
    Ok(Member {
        id: parse_uuid(&row.get::<_, String>(0)?)?,
        name: row.get(1)?,
        role,
        brigade_id: parse_uuid(&row.get::<_, String>(3)?)?,
        squad_id: parse_optional_uuid(row.get(4)?)?,
    })
}
