//! The append-only audit chain of review transitions.
//!
//! Each row's hash is `sha256(prev_hash || canonical JSON of the row)`, so
//! editing a row changes its hash and deleting one breaks the next row's
//! `prev_hash`. The store writes rows and keeps the newest hash as the chain
//! head, so dropping the last rows is caught too. This module only computes
//! and checks hashes.

use serde::Serialize;

use crate::store::AuditBreak;

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit row without its hashes, in the field order the hash covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Server time, RFC 3339 UTC.
    pub at: String,
    pub actor_id: String,
    pub device_id: Option<String>,
    pub subject_id: String,
    /// `submit` for a new submission, else the decision's action name.
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub reason: Option<String>,
}

/// A stored row: the entry with the hashes written next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditRow {
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// Computes the hash of an entry chained to the previous row's hash.
pub fn chain_hash(prev_hash: &str, entry: &AuditEntry) -> String {
    use sha2::{Digest, Sha256};

    let canonical = serde_json::to_vec(entry).expect("an audit entry always serializes");
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(&canonical);
    hex::encode(hasher.finalize())
}

/// Walks rows in id order and returns the first one that breaks the chain.
/// `head` is the chain head the store kept, as `(row id, hash)`.
pub fn find_break<I>(rows: I, head: Option<(i64, String)>) -> (u64, Option<AuditBreak>)
where
    I: IntoIterator<Item = StoredAuditRow>,
{
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut last: Option<(i64, String)> = None;
    let mut checked = 0;
    for row in rows {
        checked += 1;
        if let Some(problem) = check_row(&row, &prev_hash) {
            return (
                checked,
                Some(AuditBreak {
                    row_id: row.entry.id,
                    problem,
                }),
            );
        }
        prev_hash = row.hash.clone();
        last = Some((row.entry.id, row.hash));
    }
    (checked, check_head(last, head))
}

fn check_row(row: &StoredAuditRow, prev_hash: &str) -> Option<String> {
    if row.prev_hash != prev_hash {
        return Some(
            "its prev_hash does not match the row before it: a row before it was deleted or edited"
                .into(),
        );
    }
    if chain_hash(&row.prev_hash, &row.entry) != row.hash {
        return Some("its content does not match its hash: the row was edited".into());
    }
    None
}

fn check_head(last: Option<(i64, String)>, head: Option<(i64, String)>) -> Option<AuditBreak> {
    let (head_id, head_hash) = head?;
    match last {
        Some((id, hash)) if id == head_id && hash == head_hash => None,
        Some((id, _)) if id < head_id => Some(AuditBreak {
            row_id: id + 1,
            problem: format!(
                "rows {}..={head_id} were deleted from the end of the chain",
                id + 1
            ),
        }),
        Some((id, _)) => Some(AuditBreak {
            row_id: id,
            problem: format!("the last row does not match the chain head kept at row {head_id}"),
        }),
        None => Some(AuditBreak {
            row_id: 1,
            problem: format!("all rows up to {head_id} were deleted"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(count: i64) -> Vec<StoredAuditRow> {
        let mut prev = GENESIS_HASH.to_owned();
        let mut rows = Vec::new();
        for id in 1..=count {
            let entry = AuditEntry {
                id,
                at: "2026-09-01T00:00:00Z".into(),
                actor_id: "m".into(),
                device_id: None,
                subject_id: "s".into(),
                action: "submit".into(),
                from_state: None,
                to_state: "submitted".into(),
                reason: None,
            };
            let hash = chain_hash(&prev, &entry);
            rows.push(StoredAuditRow {
                entry,
                prev_hash: prev.clone(),
                hash: hash.clone(),
            });
            prev = hash;
        }
        rows
    }

    fn head(rows: &[StoredAuditRow]) -> Option<(i64, String)> {
        rows.last().map(|row| (row.entry.id, row.hash.clone()))
    }

    #[test]
    fn intact_chain_has_no_break() {
        let rows = chain(3);
        let head = head(&rows);

        assert_eq!(find_break(rows, head), (3, None));
    }

    #[test]
    fn edited_row_is_named() {
        let mut rows = chain(3);
        let head = head(&rows);
        rows[1].entry.reason = Some("changed".into());

        let (_, found) = find_break(rows, head);

        assert_eq!(found.map(|b| b.row_id), Some(2));
    }

    #[test]
    fn deleted_middle_row_names_next() {
        let mut rows = chain(3);
        let head = head(&rows);
        rows.remove(1);

        let (_, found) = find_break(rows, head);

        assert_eq!(found.map(|b| b.row_id), Some(3));
    }

    #[test]
    fn deleted_tail_is_caught() {
        let mut rows = chain(3);
        let head = head(&rows);
        rows.pop();

        let (_, found) = find_break(rows, head);

        assert_eq!(found.map(|b| b.row_id), Some(3));
    }
}
