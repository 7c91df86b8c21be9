//! Schema migrations of the phone database, numbered by SQLite's
//! `user_version`. Each migration runs in one immediate transaction
//! together with the version bump, so a migration interrupted half-way
//! leaves the previous version behind and runs again cleanly on the next
//! start.
//!
//! Version 1 is the first schema. Version 2 adds `lead_drafts` (the
//! autosaved lead capture form) and an index for the outbox hold-back
//! query.

use rusqlite::{Connection, TransactionBehavior};
use tracing::info;

use crate::error::{Result, StoreError};

/// Migration SQL, in order: entry `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2];

/// The schema version this build of the app writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

const V1: &str = r#"
CREATE TABLE device (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device_id TEXT NOT NULL,
    server_url TEXT,
    server_epoch TEXT,
    next_batch_seq INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE session_member (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    member_id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    squad_id TEXT,
    brigade_id TEXT NOT NULL
);

CREATE TABLE members (
    id TEXT PRIMARY KEY,
    json TEXT NOT NULL
);

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    json TEXT NOT NULL
);

CREATE TABLE records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    member_id TEXT NOT NULL,
    json TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sent', 'rejected', 'conflict')),
    reason TEXT,
    server_seq INTEGER
);

CREATE TABLE shifts (
    id TEXT PRIMARY KEY REFERENCES records(id),
    site_id TEXT NOT NULL,
    clock_in_at TEXT NOT NULL,
    verdict TEXT NOT NULL,
    clock_out_id TEXT REFERENCES records(id),
    clock_out_at TEXT,
    auto_closed INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE patrols (
    id TEXT PRIMARY KEY,
    start_record_id TEXT NOT NULL REFERENCES records(id),
    mode TEXT NOT NULL,
    team_patrol_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('recording', 'paused', 'stopped')),
    segment INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    stop_record_id TEXT REFERENCES records(id),
    summary TEXT
);

CREATE TABLE track_points (
    patrol_id TEXT NOT NULL REFERENCES patrols(id),
    seq INTEGER NOT NULL,
    segment INTEGER NOT NULL,
    fix TEXT NOT NULL,
    PRIMARY KEY (patrol_id, seq)
);

CREATE TABLE leads (
    id TEXT PRIMARY KEY REFERENCES records(id),
    category TEXT NOT NULL,
    patrol_id TEXT,
    captured_at TEXT NOT NULL
);

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    local_path TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    uploaded_bytes INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'done'))
);

CREATE TABLE lead_photos (
    lead_id TEXT NOT NULL REFERENCES leads(id),
    sha256 TEXT NOT NULL REFERENCES photos(sha256),
    position INTEGER NOT NULL,
    PRIMARY KEY (lead_id, sha256)
);

CREATE TABLE reviews (
    subject_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    flags TEXT NOT NULL,
    reason TEXT,
    assignee_id TEXT,
    conflicts TEXT NOT NULL,
    photos_total INTEGER NOT NULL DEFAULT 0,
    photos_received INTEGER NOT NULL DEFAULT 0,
    server_seq INTEGER NOT NULL
);

CREATE TABLE review_queue (
    subject_id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    record TEXT NOT NULL,
    received_at TEXT NOT NULL
);

CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    json TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'applied', 'conflict', 'rejected')),
    reason TEXT
);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('record', 'decision', 'photo')),
    target_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    batch_seq INTEGER,
    UNIQUE (kind, target_id)
);

CREATE INDEX outbox_batch ON outbox (batch_seq) WHERE batch_seq IS NOT NULL;

CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursor INTEGER NOT NULL DEFAULT 0,
    last_success TEXT,
    last_error TEXT,
    needs_sign_in INTEGER NOT NULL DEFAULT 0
);

INSERT INTO sync_state (id) VALUES (1);
"#;

/// Lead drafts hold the capture form as JSON columns until the member
/// captures or discards it. `category`, `position` and `position_source`
/// are NULL until the member picks them.
const V2: &str = r#"
CREATE TABLE lead_drafts (
    id TEXT PRIMARY KEY,
    category TEXT,
    note TEXT NOT NULL DEFAULT '',
    photos TEXT NOT NULL DEFAULT '[]',
    position TEXT,
    position_source TEXT,
    address TEXT,
    patrol_id TEXT,
    updated_at TEXT NOT NULL
);

CREATE INDEX lead_drafts_updated ON lead_drafts (updated_at);

CREATE INDEX outbox_due ON outbox (kind, next_attempt_at);
"#;

/// Brings the schema to [`LATEST`], one transaction per migration.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, LATEST)
}

/// Brings the schema up to `target`, one transaction per migration, and
/// leaves a database already at `target` or later alone. Only tests need a
/// target other than [`LATEST`], to build an older schema.
#[doc(hidden)]
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current > LATEST {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: LATEST,
        });
    }

    let target = target.min(LATEST);
    for version in (current + 1)..=target {
        let sql = MIGRATIONS[version as usize - 1];
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        pause_point("begin");
        tx.execute_batch(sql)?;
        pause_point("after_schema");
        tx.pragma_update(None, "user_version", version)?;
        pause_point("before_commit");
        tx.commit()?;
        info!(version, "applied database migration");
    }
    Ok(())
}

/// Names the places inside a migration's transaction where a test may
/// hold it, in the order they are reached.
#[doc(hidden)]
pub const PAUSE_POINTS: [&str; 3] = ["begin", "after_schema", "before_commit"];

/// Holds the migration for 60 s at `point` when the environment variable
/// `REDVEST_TEST_PAUSE_MIGRATION` names it, after creating the file named by
/// `REDVEST_TEST_PAUSE_MARKER`, so a test can kill the process mid-migration.
#[cfg(feature = "testing")]
fn pause_point(point: &str) {
    if std::env::var("REDVEST_TEST_PAUSE_MIGRATION").as_deref() != Ok(point) {
        return;
    }
    if let Ok(marker) = std::env::var("REDVEST_TEST_PAUSE_MARKER") {
        if let Err(error) = std::fs::write(&marker, point) {
            tracing::error!(%error, marker, "could not write the migration pause marker");
        }
    }
    tracing::warn!(point, "migration paused for a test");
    std::thread::sleep(std::time::Duration::from_secs(60));
}

#[cfg(not(feature = "testing"))]
fn pause_point(_point: &str) {}
