//! The storage seam of the server: the `Storage` trait every backend
//! implements, its typed error, and the plain types that cross it.
//!
//! Handlers never see SQL. SQLite with photo files in a directory is the one
//! backend today (`sqlite`); PostgreSQL and object storage are meant to slot
//! in behind the same trait. Methods are synchronous, and the HTTP layer
//! calls them on the blocking thread pool.

pub mod photo_files;
pub mod sqlite;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use redvest_proto::records::Record;
use redvest_proto::wire::{
    ChangesResponse, DecisionRequest, DecisionResponse, DutyHoursResponse, Member, PhotoStatus,
    PushResponse, Site,
};
use redvest_proto::Stamp;
use uuid::Uuid;

pub use sqlite::SqliteStore;

/// A session unused for this long has expired and must sign in again.
pub const SESSION_IDLE_LIMIT: TimeDelta = TimeDelta::days(30);
/// A session's last use is written at most this often, so that reading a
/// token rarely needs a write.
pub const SESSION_TOUCH_INTERVAL: TimeDelta = TimeDelta::hours(1);

/// The error of a storage call, classified so the HTTP layer can pick a status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// The request clashes with what is stored (a reused id, a moved version).
    #[error("{0}")]
    Conflict(String),
    /// The caller is signed in but may not act on this subject.
    #[error("{0}")]
    Forbidden(String),
    /// The request is well formed but breaks a domain rule.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// A resumable upload named another offset than the server holds.
    #[error(
        "upload offset {requested} does not match the {expected} bytes received; \
         resume from {expected}"
    )]
    OffsetMismatch { requested: u64, expected: u64 },
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn other(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Other(Box::new(error))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::other(error)
    }
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        StoreError::other(error)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::other(error)
    }
}

/// The signed-in member behind a bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub member: Member,
    /// The device the session was opened on.
    pub device_id: Uuid,
}

/// A member's stored password hash, looked up by phone number at sign-in.
#[derive(Clone)]
pub struct Credentials {
    pub member: Member,
    /// PHC string of the argon2 hash.
    pub password_hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("member", &self.member)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

/// One record of a push batch as the HTTP layer read it.
#[derive(Debug, Clone)]
pub enum IncomingRecord {
    Parsed(Box<Record>),
    /// A record whose id was readable but whose body was not (for example
    /// an unknown kind); it is rejected permanently.
    Unreadable {
        id: Uuid,
        reason: String,
    },
}

impl IncomingRecord {
    pub fn id(&self) -> Uuid {
        match self {
            IncomingRecord::Parsed(record) => record.id,
            IncomingRecord::Unreadable { id, .. } => *id,
        }
    }
}

/// A push batch after parsing.
#[derive(Debug, Clone)]
pub struct IncomingBatch {
    pub device_id: Uuid,
    pub batch_seq: i64,
    /// The device clock when the batch was sent, used to tell offline
    /// delay from clock skew; older phones do not send it.
    pub sent_at: Option<Stamp>,
    pub records: Vec<IncomingRecord>,
}

/// The acknowledgement of a push, with the HTTP status class it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PushAck {
    pub response: PushResponse,
    /// True when at least one result is a conflict (HTTP 409).
    pub has_conflict: bool,
}

/// One chunk of a resumable photo upload.
#[derive(Debug, Clone, Copy)]
pub struct PhotoChunk<'a> {
    /// Lowercase hex SHA-256 of the whole file, as named in the path.
    pub sha256: &'a str,
    pub offset: u64,
    pub total: u64,
    pub bytes: &'a [u8],
}

/// Counts of the files one photo sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhotoSweep {
    /// Complete photos that no uploader's record named.
    pub photos_deleted: usize,
    /// Partial uploads left idle.
    pub partials_deleted: usize,
}

/// A new member as `seed-demo` or an operator creates it.
#[derive(Clone)]
pub struct NewMember {
    pub member: Member,
    pub phone: String,
    pub password_hash: String,
}

/// Demo (or initial) data to insert where absent.
#[derive(Clone)]
pub struct SeedPlan {
    pub brigade_id: Uuid,
    pub brigade_name: String,
    pub squads: Vec<(Uuid, String)>,
    pub members: Vec<NewMember>,
    pub sites: Vec<Site>,
}

/// The first audit row that no longer matches the hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBreak {
    pub row_id: i64,
    pub problem: String,
}

/// The result of walking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub rows_checked: u64,
    pub first_break: Option<AuditBreak>,
}

/// Everything the server stores, behind one seam.
pub trait Storage: Send + Sync + 'static {
    /// Returns the random id created with the database.
    fn epoch(&self) -> Result<Uuid, StoreError>;

    /// Replaces the epoch so phones re-send what they hold; for restores.
    fn reset_epoch(&self) -> Result<Uuid, StoreError>;

    fn credentials(&self, phone: &str) -> Result<Option<Credentials>, StoreError>;

    /// Stores a session under the SHA-256 of its bearer token.
    fn create_session(
        &self,
        token_sha256: &str,
        member_id: Uuid,
        device_id: Uuid,
    ) -> Result<(), StoreError>;

    /// Returns the caller for a token hash, or `NotFound`. A session unused
    /// for [`SESSION_IDLE_LIMIT`] is deleted and reported as `NotFound`; the
    /// last use is written at most once per [`SESSION_TOUCH_INTERVAL`].
    fn caller(&self, token_sha256: &str) -> Result<Caller, StoreError>;

    /// Deletes the session of a token hash (sign-out), or returns `NotFound`.
    fn end_session(&self, token_sha256: &str) -> Result<(), StoreError>;

    /// Stores a batch in one transaction and returns its acknowledgement.
    fn push(
        &self,
        caller: &Caller,
        batch: &IncomingBatch,
        received_at: DateTime<Utc>,
    ) -> Result<PushAck, StoreError>;

    /// Returns the changes after `after` that the caller may see.
    fn changes(
        &self,
        caller: &Caller,
        after: i64,
        limit: u32,
    ) -> Result<ChangesResponse, StoreError>;

    /// Applies (or records as a conflict) one review decision.
    fn decide(
        &self,
        caller: &Caller,
        decision: &DecisionRequest,
        received_at: DateTime<Utc>,
    ) -> Result<DecisionResponse, StoreError>;

    /// Returns the caller's own upload progress of a photo: complete once
    /// the caller uploaded it, otherwise the bytes of its partial upload.
    /// Whether another member uploaded the photo is not revealed.
    fn photo_status(&self, caller: &Caller, sha256: &str) -> Result<PhotoStatus, StoreError>;

    /// Writes one chunk of the caller's upload; `replace` discards the
    /// caller's partial upload first (whole-file PUT). Other members'
    /// partial uploads of the same photo are never touched.
    fn photo_write(
        &self,
        caller: &Caller,
        chunk: PhotoChunk<'_>,
        replace: bool,
    ) -> Result<PhotoStatus, StoreError>;

    /// Returns a complete photo if the caller uploaded it, or may see a
    /// submission naming it whose owner uploaded it.
    fn photo_read(&self, caller: &Caller, sha256: &str) -> Result<Vec<u8>, StoreError>;

    /// Deletes uploads that no record of their uploader names after 7 days
    /// and partial uploads untouched for 2 days, as of `now`.
    fn sweep_photos(&self, now: DateTime<Utc>) -> Result<PhotoSweep, StoreError>;

    /// Creates or replaces a site of the caller's brigade (brigade staff
    /// only), audits it and sends it to phones. The site must be valid.
    fn put_site(&self, caller: &Caller, site: &Site) -> Result<Site, StoreError>;

    /// Deletes a site of the caller's brigade (brigade staff only), audits
    /// it and sends phones a tombstone; a deleted site stays deleted.
    fn delete_site(&self, caller: &Caller, site_id: Uuid) -> Result<(), StoreError>;

    /// Returns the duty hours of `month` (its first day) for the members
    /// the caller may see: itself, its squad, or its brigade.
    fn duty_hours(
        &self,
        caller: &Caller,
        month: NaiveDate,
        member: Option<Uuid>,
    ) -> Result<DutyHoursResponse, StoreError>;

    /// Marks shifts left open after their window and grace ended as closed
    /// by the server at that end; returns how many it closed.
    fn close_open_shifts(&self, now: DateTime<Utc>) -> Result<usize, StoreError>;

    /// Marks a site deleted and sends phones a tombstone for it.
    fn remove_site(&self, site_id: Uuid) -> Result<(), StoreError>;

    /// Marks a member deleted, ends their sessions and sends a tombstone.
    fn remove_member(&self, member_id: Uuid) -> Result<(), StoreError>;

    /// Inserts what the plan names and is absent; returns how many rows were new.
    fn seed(&self, plan: &SeedPlan) -> Result<usize, StoreError>;

    fn audit_verify(&self) -> Result<AuditReport, StoreError>;
}

/// Serializes a record in the canonical form that its stored SHA-256 covers:
/// the typed record re-serialized, so field order and number formatting are
/// the server's and not the phone's.
pub fn canonical_json(record: &Record) -> Result<String, StoreError> {
    Ok(serde_json::to_string(record)?)
}
