//! Writing and walking the `audit_log` table. Triggers make the table
//! append-only for ordinary SQL; the hash chain catches edits made around
//! them (a dropped trigger, a hand-edited file).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use uuid::Uuid;

use super::time_text;
use crate::audit::{chain_hash, find_break, AuditEntry, StoredAuditRow, GENESIS_HASH};
use crate::store::{AuditReport, StoreError};

/// One transition to record.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub at: DateTime<Utc>,
    pub actor_id: Uuid,
    pub device_id: Option<Uuid>,
    pub subject_id: Uuid,
    pub action: &'a str,
    pub from_state: Option<&'a str>,
    pub to_state: &'a str,
    pub reason: Option<&'a str>,
}

/// Appends a row chained to the current head and moves the head to it.
pub fn append(tx: &Transaction<'_>, transition: &Transition<'_>) -> Result<(), StoreError> {
    let (head_id, prev_hash) = head(tx)?.unwrap_or((0, GENESIS_HASH.to_owned()));
    let entry = AuditEntry {
        id: head_id + 1,
        at: time_text(transition.at),
        actor_id: transition.actor_id.to_string(),
        device_id: transition.device_id.map(|id| id.to_string()),
        subject_id: transition.subject_id.to_string(),
        action: transition.action.to_owned(),
        from_state: transition.from_state.map(str::to_owned),
        to_state: transition.to_state.to_owned(),
        reason: transition.reason.map(str::to_owned),
    };
    let hash = chain_hash(&prev_hash, &entry);
    tx.execute(
        "INSERT INTO audit_log (id, at, actor_id, device_id, subject_id, action, from_state, \
            to_state, reason, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            entry.id,
            entry.at,
            entry.actor_id,
            entry.device_id,
            entry.subject_id,
            entry.action,
            entry.from_state,
            entry.to_state,
            entry.reason,
            prev_hash,
            hash
        ],
    )?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('audit_head', ?1) ON CONFLICT (key) DO UPDATE \
            SET value = excluded.value",
        [format!("{}:{hash}", entry.id)],
    )?;
    Ok(())
}

/// Walks the whole chain in id order.
pub fn verify(conn: &Connection) -> Result<AuditReport, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let head = head(&tx)?;
    let mut statement = tx.prepare(
        "SELECT id, at, actor_id, device_id, subject_id, action, from_state, to_state, reason, \
            prev_hash, hash \
         FROM audit_log ORDER BY id",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(StoredAuditRow {
            entry: AuditEntry {
                id: row.get(0)?,
                at: row.get(1)?,
                actor_id: row.get(2)?,
                device_id: row.get(3)?,
                subject_id: row.get(4)?,
                action: row.get(5)?,
                from_state: row.get(6)?,
                to_state: row.get(7)?,
                reason: row.get(8)?,
            },
            prev_hash: row.get(9)?,
            hash: row.get(10)?,
        })
    })?;
    let rows = rows.collect::<Result<Vec<_>, _>>()?;
    let (rows_checked, first_break) = find_break(rows, head);
    Ok(AuditReport {
        rows_checked,
        first_break,
    })
}

/// Returns the chain head kept in `meta` as `(row id, hash)`.
fn head(conn: &Connection) -> Result<Option<(i64, String)>, StoreError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'audit_head'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    let Some(text) = text else {
        return Ok(None);
    };
    let parsed = text
        .split_once(':')
        .and_then(|(id, hash)| Some((id.parse().ok()?, hash.to_owned())));
    parsed.map(Some).ok_or_else(|| {
        StoreError::invalid(
            "audit_head",
            format!("audit head {text:?} is not `id:hash`"),
        )
    })
}
