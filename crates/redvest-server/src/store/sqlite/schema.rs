//! Schema migrations, numbered by SQLite's `user_version`. Each migration
//! runs in one transaction together with the version bump, so a crash leaves
//! the database at the old or the new version, never between.

use rusqlite::{Connection, TransactionBehavior};
use uuid::Uuid;

const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

const V1: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

CREATE TABLE brigades (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    demo INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE squads (
    id TEXT PRIMARY KEY,
    brigade_id TEXT NOT NULL REFERENCES brigades(id),
    name TEXT NOT NULL
) STRICT;

CREATE TABLE members (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('volunteer', 'squad_leader', 'brigade')),
    brigade_id TEXT NOT NULL REFERENCES brigades(id),
    squad_id TEXT REFERENCES squads(id),
    password_hash TEXT NOT NULL,
    deleted_at TEXT
) STRICT;

CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members(id),
    device_id TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    brigade_id TEXT NOT NULL REFERENCES brigades(id),
    body TEXT NOT NULL,
    deleted_at TEXT
) STRICT;

CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members(id),
    last_batch_seq INTEGER NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE push_batches (
    device_id TEXT NOT NULL,
    batch_seq INTEGER NOT NULL,
    record_ids TEXT NOT NULL,
    response TEXT NOT NULL,
    has_conflict INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, batch_seq)
) STRICT;

CREATE TABLE records (
    server_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    member_id TEXT NOT NULL REFERENCES members(id),
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    captured_offset_min INTEGER NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
CREATE INDEX records_member_kind ON records(member_id, kind, captured_at);

CREATE TABLE record_conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    body TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (record_id, body_sha256)
) STRICT;

CREATE TABLE reviews (
    subject_id TEXT PRIMARY KEY REFERENCES records(id),
    owner_id TEXT NOT NULL REFERENCES members(id),
    brigade_id TEXT NOT NULL,
    squad_id TEXT,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    flags TEXT NOT NULL,
    last_reason TEXT,
    assignee_id TEXT,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES reviews(subject_id),
    reviewer_id TEXT NOT NULL REFERENCES members(id),
    device_id TEXT NOT NULL,
    action TEXT NOT NULL,
    based_on_version INTEGER NOT NULL,
    decided_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    response TEXT NOT NULL
) STRICT;

CREATE TABLE decision_conflicts (
    decision_id TEXT PRIMARY KEY REFERENCES decisions(id),
    subject_id TEXT NOT NULL REFERENCES reviews(subject_id),
    reviewer_id TEXT NOT NULL,
    action TEXT NOT NULL,
    based_on_version INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX decision_conflicts_subject ON decision_conflicts(subject_id);

CREATE TABLE record_photos (
    record_id TEXT NOT NULL REFERENCES records(id),
    sha256 TEXT NOT NULL,
    PRIMARY KEY (record_id, sha256)
) STRICT;
CREATE INDEX record_photos_sha256 ON record_photos(sha256);

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL,
    completed_at TEXT NOT NULL
) STRICT;

CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    audience TEXT NOT NULL CHECK (audience IN ('brigade', 'squad', 'submission')),
    brigade_id TEXT NOT NULL,
    squad_id TEXT,
    owner_id TEXT,
    assignee_id TEXT,
    payload TEXT NOT NULL
) STRICT;
CREATE INDEX changes_entity ON changes(entity, entity_id);
CREATE INDEX changes_brigade_seq ON changes(brigade_id, seq);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    device_id TEXT,
    subject_id TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
"#;

/// Session expiry, server-side shift closing and the lookups they need.
const V2: &str = r#"
ALTER TABLE sessions ADD COLUMN last_used_at TEXT;
UPDATE sessions SET last_used_at = created_at;

CREATE TABLE shift_auto_closes (
    shift_id TEXT PRIMARY KEY REFERENCES records(id),
    member_id TEXT NOT NULL REFERENCES members(id),
    closed_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL
) STRICT;

CREATE INDEX records_kind_captured ON records(kind, captured_at);
CREATE INDEX records_clock_out_shift ON records(json_extract(body, '$.body.shift_id'))
    WHERE kind = 'clock_out';
"#;

/// The SHA-256 of each decision request, so that a decision id sent again
/// with another body is distinguished from a replay. Older rows have none.
const V3: &str = r#"
ALTER TABLE decisions ADD COLUMN request_sha256 TEXT;
"#;

/// The uploaders of each photo. A photo's first completer is kept in
/// `photos.uploader_id`, and every member who uploaded its bytes gets a row
/// in `photo_uploaders`, which download rights check. Photos stored before
/// this version are credited to the owner of the first record naming them,
/// because their real uploader was not kept.
const V4: &str = r#"
ALTER TABLE photos ADD COLUMN uploader_id TEXT;
UPDATE photos SET uploader_id = (
    SELECT r.member_id FROM record_photos rp JOIN records r ON r.id = rp.record_id
    WHERE rp.sha256 = photos.sha256 ORDER BY r.server_seq LIMIT 1);

CREATE TABLE photo_uploaders (
    sha256 TEXT NOT NULL REFERENCES photos(sha256),
    member_id TEXT NOT NULL,
    completed_at TEXT NOT NULL,
    PRIMARY KEY (sha256, member_id)
) STRICT;
INSERT INTO photo_uploaders (sha256, member_id, completed_at)
    SELECT sha256, uploader_id, completed_at FROM photos WHERE uploader_id IS NOT NULL;
CREATE INDEX photo_uploaders_completed ON photo_uploaders(completed_at);
"#;

/// Brings the database to the newest schema; creates the epoch with it.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = index + 1;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        if version == 1 {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('epoch', ?1)",
                [Uuid::new_v4().to_string()],
            )?;
        }
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "migrated database schema");
    }
    Ok(())
}
