//! The store calls the sync engine makes: draining the outbox in numbered
//! push batches, tracking photo uploads and decisions, applying pulled
//! changes with their cursor, and re-queueing everything for a new server
//! epoch.
//!
//! A push batch is allocated in the same transaction that records its
//! membership (`outbox.batch_seq`), so a retry after a lost response sends
//! the same `batch_seq` with the same records until an acknowledgement
//! names them.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use redvest_proto::wire::{
    ChangesResponse, DecisionOutcome, DecisionRequest, Entity, PushOutcome, PushResponse,
    Submission,
};
use redvest_proto::Record;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tracing::{info, warn};
use uuid::Uuid;

use super::{now_text, parse_uuid, Store};
use crate::error::Result;

/// A numbered batch of queued records to push.
#[derive(Debug, Clone, PartialEq)]
pub struct PushBatch {
    pub batch_seq: i64,
    pub records: Vec<Record>,
}

/// A photo whose lead the server acknowledged and whose bytes are not all sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPhoto {
    pub sha256: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub uploaded_bytes: u64,
}

/// How a push acknowledgement changed the local records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AckCounts {
    pub stored: usize,
    pub conflicts: usize,
    pub rejected: usize,
    /// Batch members the acknowledgement did not name; they are queued again.
    pub unnamed: usize,
}

/// The first hold-back of a photo or decision that failed for a reason a
/// retry soon would not fix.
pub const ITEM_RETRY_BASE: Duration = Duration::from_secs(5 * 60);

/// The maximum hold-back of a failing photo or decision.
pub const ITEM_RETRY_MAX: Duration = Duration::from_secs(6 * 60 * 60);

/// Returns the hold-back after the `attempts`-th failed attempt of a photo
/// or decision: 5 min after the first, doubling after each later one, and
/// at most 6 h (reached at the 8th).
pub fn item_retry_delay(attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(16);
    ITEM_RETRY_BASE
        .saturating_mul(1 << exponent)
        .min(ITEM_RETRY_MAX)
}

impl Store {
    /// Returns the epoch of the server this device last synced with.
    pub fn server_epoch(&self) -> Result<Option<Uuid>> {
        let text: Option<String> =
            self.conn()
                .query_row("SELECT server_epoch FROM device", [], |row| row.get(0))?;
        text.map(|text| parse_uuid("device.server_epoch", &text))
            .transpose()
    }

    /// Stores the server's epoch. When it differs from a stored one, the
    /// server database was restored or replaced: every record, decision and
    /// photo this device holds is queued again (the server deduplicates by
    /// id) and the pull cursor restarts. Returns whether that happened.
    pub fn adopt_epoch(&self, epoch: Uuid) -> Result<bool> {
        let previous = self.server_epoch()?;
        if previous == Some(epoch) {
            return Ok(false);
        }

        self.write(|tx| {
            tx.execute("UPDATE device SET server_epoch = ?1", [epoch.to_string()])?;
            if previous.is_some() {
                requeue_everything(tx)?;
            }
            Ok(())
        })?;
        if let Some(previous) = previous {
            warn!(%previous, %epoch, "server epoch changed: queued every record, decision and photo again");
        }
        Ok(previous.is_some())
    }

    /// Returns the batch to push next: the unacknowledged batch if one is
    /// open, otherwise a new one of at most `max` queued records.
    pub fn next_push_batch(&self, max: usize) -> Result<Option<PushBatch>> {
        self.write(|tx| {
            let open: Option<i64> = tx.query_row(
                "SELECT MIN(batch_seq) FROM outbox WHERE kind = 'record' AND batch_seq IS NOT NULL",
                [],
                |row| row.get(0),
            )?;
            let batch_seq = match open {
                Some(batch_seq) => batch_seq,
                None => match allocate_batch(tx, max)? {
                    Some(batch_seq) => batch_seq,
                    None => return Ok(None),
                },
            };
            let records = batch_records(tx, batch_seq)?;
            Ok(Some(PushBatch { batch_seq, records }))
        })
    }

    /// Applies a push acknowledgement: marks the records it names as sent,
    /// conflict or rejected and takes them off the outbox. Members of the
    /// batch it does not name go back to the queue for a later batch.
    pub fn apply_push_response(
        &self,
        batch_seq: i64,
        response: &PushResponse,
    ) -> Result<AckCounts> {
        let counts = self.write(|tx| {
            let mut counts = AckCounts::default();
            for result in &response.results {
                let id = result.id.to_string();
                let removed = tx.execute(
                    "DELETE FROM outbox WHERE kind = 'record' AND target_id = ?1 AND batch_seq = ?2",
                    params![id, batch_seq],
                )?;
                if removed == 0 {
                    warn!(record_id = %result.id, batch_seq, "acknowledgement names a record outside the batch");
                    continue;
                }
                mark_record(tx, &id, &result.outcome, &mut counts)?;
            }
            counts.unnamed = tx.execute(
                "UPDATE outbox SET batch_seq = NULL WHERE kind = 'record' AND batch_seq = ?1",
                [batch_seq],
            )?;
            Ok(counts)
        })?;
        info!(batch_seq, ?counts, "push acknowledged");
        Ok(counts)
    }

    /// Notes a failed attempt on every outbox entry of a batch.
    pub fn note_batch_failure(&self, batch_seq: i64, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?1 WHERE kind = 'record' AND batch_seq = ?2",
            params![error, batch_seq],
        )?;
        Ok(())
    }

    /// Notes a failed attempt on one photo or decision entry and holds it
    /// back for [`item_retry_delay`] of its attempts so far, so an entry
    /// that keeps failing is tried less and less often. Returns the hold-back.
    pub fn note_item_failure(&self, kind: &str, target_id: &str, error: &str) -> Result<Duration> {
        self.write(|tx| {
            let attempts: Option<i64> = tx
                .query_row(
                    "SELECT attempts FROM outbox WHERE kind = ?1 AND target_id = ?2",
                    params![kind, target_id],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(attempts) = attempts else {
                warn!(kind, target_id, "failed outbox entry is no longer queued");
                return Ok(Duration::ZERO);
            };

            let attempts = attempts.saturating_add(1);
            let delay = item_retry_delay(u32::try_from(attempts).unwrap_or(u32::MAX));
            let retry_at = Utc::now()
                + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(6));
            tx.execute(
                "UPDATE outbox SET attempts = ?1, last_error = ?2, next_attempt_at = ?3
                 WHERE kind = ?4 AND target_id = ?5",
                params![attempts, error, retry_at.to_rfc3339(), kind, target_id],
            )?;
            info!(kind, target_id, attempts, ?delay, "outbox entry held back");
            Ok(delay)
        })
    }

    /// Splits an unacknowledged batch that the server rejected as a whole
    /// into two new batches, the first half pushed next. Returns the two new
    /// batch numbers, or `None` when the batch has one record or fewer and
    /// cannot be split.
    pub fn split_batch(&self, batch_seq: i64) -> Result<Option<(i64, i64)>> {
        let halves = self.write(|tx| {
            let members = batch_members(tx, batch_seq)?;
            if members.len() < 2 {
                return Ok(None);
            }

            let first: i64 =
                tx.query_row("SELECT next_batch_seq FROM device", [], |row| row.get(0))?;
            tx.execute("UPDATE device SET next_batch_seq = next_batch_seq + 2", [])?;
            let middle = members.len().div_ceil(2);
            for (index, seq) in members.iter().enumerate() {
                let new_batch = if index < middle { first } else { first + 1 };
                tx.execute(
                    "UPDATE outbox SET batch_seq = ?1 WHERE seq = ?2",
                    params![new_batch, seq],
                )?;
            }
            Ok(Some((first, first + 1)))
        })?;
        if let Some((first, second)) = halves {
            info!(batch_seq, first, second, "split rejected push batch");
        }
        Ok(halves)
    }

    /// Marks every record of an unacknowledged batch as rejected with
    /// `reason` and takes it off the outbox. The sync run calls it only for
    /// a batch of one record, after splitting found the record the server
    /// rejects. Returns the number of records marked.
    pub fn reject_batch(&self, batch_seq: i64, reason: &str) -> Result<usize> {
        let counts = self.write(|tx| {
            let mut counts = AckCounts::default();
            let ids = batch_record_ids(tx, batch_seq)?;
            let outcome = PushOutcome::Rejected {
                reason: reason.to_owned(),
            };
            for id in &ids {
                tx.execute(
                    "DELETE FROM outbox WHERE kind = 'record' AND target_id = ?1",
                    [id],
                )?;
                mark_record(tx, id, &outcome, &mut counts)?;
            }
            Ok(counts)
        })?;
        Ok(counts.rejected)
    }

    /// Returns the photos due for upload whose lead the server has stored.
    pub fn photos_to_upload(&self) -> Result<Vec<PendingPhoto>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT p.sha256, p.local_path, p.bytes, p.uploaded_bytes
             FROM outbox o JOIN photos p ON p.sha256 = o.target_id
             WHERE o.kind = 'photo' AND p.state <> 'done'
               AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?1)
               AND EXISTS (SELECT 1 FROM lead_photos lp JOIN records r ON r.id = lp.lead_id
                           WHERE lp.sha256 = p.sha256 AND r.state IN ('sent', 'conflict'))
             ORDER BY o.seq",
        )?;
        let rows = statement.query_map([now_text()], |row| {
            Ok(PendingPhoto {
                sha256: row.get(0)?,
                path: PathBuf::from(row.get::<_, String>(1)?),
                bytes: row.get::<_, i64>(2)? as u64,
                uploaded_bytes: row.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores how many bytes of a photo the server holds.
    pub fn set_photo_progress(&self, sha256: &str, uploaded_bytes: u64) -> Result<()> {
        self.conn().execute(
            "UPDATE photos SET uploaded_bytes = ?1 WHERE sha256 = ?2",
            params![uploaded_bytes as i64, sha256],
        )?;
        Ok(())
    }

    /// Marks a photo as fully received by the server and takes it off the outbox.
    pub fn mark_photo_done(&self, sha256: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE photos SET state = 'done', uploaded_bytes = bytes WHERE sha256 = ?1",
                [sha256],
            )?;
            tx.execute(
                "DELETE FROM outbox WHERE kind = 'photo' AND target_id = ?1",
                [sha256],
            )?;
            Ok(())
        })
    }

    /// Returns the queued decisions that are due, oldest first.
    pub fn queued_decisions(&self) -> Result<Vec<DecisionRequest>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT d.json FROM outbox o JOIN decisions d ON d.id = o.target_id
             WHERE o.kind = 'decision' AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?1)
             ORDER BY o.seq",
        )?;
        let rows = statement.query_map([now_text()], |row| row.get::<_, String>(0))?;
        let mut decisions = Vec::new();
        for json in rows {
            decisions.push(serde_json::from_str(&json?)?);
        }
        Ok(decisions)
    }

    /// Stores the server's outcome of a decision and takes it off the outbox.
    /// The review row is left alone: it changes only through pulled changes.
    pub fn apply_decision_outcome(&self, id: Uuid, outcome: &DecisionOutcome) -> Result<()> {
        let (state, reason) = match outcome {
            DecisionOutcome::Applied => ("applied", None),
            DecisionOutcome::Conflict { reason } => ("conflict", Some(reason.as_str())),
        };
        self.finish_decision(id, state, reason)
    }

    /// Marks a decision the server can never apply and takes it off the outbox.
    pub fn reject_decision(&self, id: Uuid, reason: &str) -> Result<()> {
        self.finish_decision(id, "rejected", Some(reason))
    }

    fn finish_decision(&self, id: Uuid, state: &str, reason: Option<&str>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE decisions SET state = ?1, reason = ?2 WHERE id = ?3",
                params![state, reason, id.to_string()],
            )?;
            tx.execute(
                "DELETE FROM outbox WHERE kind = 'decision' AND target_id = ?1",
                [id.to_string()],
            )?;
            Ok(())
        })
    }

    /// Returns the pull cursor: the highest server sequence applied.
    pub fn cursor(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT cursor FROM sync_state", [], |row| row.get(0))?)
    }

    /// Applies one page of changes and its cursor in one transaction.
    pub fn apply_changes(&self, page: &ChangesResponse) -> Result<usize> {
        self.write(|tx| {
            let me = Self::session_member(tx).ok().map(|member| member.id);
            for change in &page.changes {
                apply_entity(tx, change.seq, &change.entity, me)?;
            }
            tx.execute(
                "UPDATE sync_state SET cursor = MAX(cursor, ?1)",
                [page.cursor],
            )?;
            Ok(page.changes.len())
        })
    }

    /// Records a sync run that finished without error.
    pub fn note_sync_success(&self) -> Result<()> {
        self.conn().execute(
            "UPDATE sync_state SET last_success = ?1, last_error = NULL, needs_sign_in = 0",
            [now_text()],
        )?;
        Ok(())
    }

    /// Records why a sync run stopped, and whether the member must sign in again.
    pub fn note_sync_failure(&self, message: &str, needs_sign_in: bool) -> Result<()> {
        self.conn().execute(
            "UPDATE sync_state SET last_error = ?1, needs_sign_in = MAX(needs_sign_in, ?2)",
            params![message, needs_sign_in],
        )?;
        Ok(())
    }
}

fn requeue_everything(tx: &Transaction) -> Result<()> {
    tx.execute_batch(
        "UPDATE outbox SET batch_seq = NULL, next_attempt_at = NULL;
         UPDATE records SET state = 'queued', reason = NULL, server_seq = NULL;
         INSERT OR IGNORE INTO outbox (kind, target_id)
             SELECT 'record', id FROM records ORDER BY captured_at, id;
         UPDATE decisions SET state = 'queued', reason = NULL;
         INSERT OR IGNORE INTO outbox (kind, target_id)
             SELECT 'decision', id FROM decisions ORDER BY id;
         UPDATE photos SET state = 'waiting', uploaded_bytes = 0;
         INSERT OR IGNORE INTO outbox (kind, target_id)
             SELECT 'photo', sha256 FROM photos;
         DELETE FROM review_queue;
         UPDATE sync_state SET cursor = 0;",
    )?;
    Ok(())
}

fn allocate_batch(tx: &Transaction, max: usize) -> Result<Option<i64>> {
    let queued: i64 = tx.query_row(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'record' AND batch_seq IS NULL",
        [],
        |row| row.get(0),
    )?;
    if queued == 0 {
        return Ok(None);
    }

    let batch_seq: i64 = tx.query_row("SELECT next_batch_seq FROM device", [], |row| row.get(0))?;
    tx.execute("UPDATE device SET next_batch_seq = next_batch_seq + 1", [])?;
    tx.execute(
        "UPDATE outbox SET batch_seq = ?1 WHERE seq IN (
             SELECT seq FROM outbox WHERE kind = 'record' AND batch_seq IS NULL ORDER BY seq LIMIT ?2)",
        params![batch_seq, max as i64],
    )?;
    Ok(Some(batch_seq))
}

/// Returns the outbox sequence numbers of a batch's records, in push order.
fn batch_members(conn: &Connection, batch_seq: i64) -> Result<Vec<i64>> {
    let mut statement = conn
        .prepare("SELECT seq FROM outbox WHERE kind = 'record' AND batch_seq = ?1 ORDER BY seq")?;
    let rows = statement.query_map([batch_seq], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn batch_record_ids(conn: &Connection, batch_seq: i64) -> Result<Vec<String>> {
    let mut statement = conn.prepare(
        "SELECT target_id FROM outbox WHERE kind = 'record' AND batch_seq = ?1 ORDER BY seq",
    )?;
    let rows = statement.query_map([batch_seq], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn batch_records(conn: &Connection, batch_seq: i64) -> Result<Vec<Record>> {
    let mut statement = conn.prepare(
        "SELECT r.json FROM outbox o JOIN records r ON r.id = o.target_id
         WHERE o.kind = 'record' AND o.batch_seq = ?1 ORDER BY o.seq",
    )?;
    let rows = statement.query_map([batch_seq], |row| row.get::<_, String>(0))?;
    let mut records = Vec::new();
    for json in rows {
        records.push(serde_json::from_str(&json?)?);
    }
    Ok(records)
}

fn mark_record(
    tx: &Transaction,
    id: &str,
    outcome: &PushOutcome,
    counts: &mut AckCounts,
) -> Result<()> {
    let (state, reason, server_seq) = match outcome {
        PushOutcome::Stored { server_seq } => {
            counts.stored += 1;
            ("sent", None, Some(*server_seq))
        }
        PushOutcome::Conflict { reason } => {
            counts.conflicts += 1;
            ("conflict", Some(reason.as_str()), None)
        }
        PushOutcome::Rejected { reason } => {
            counts.rejected += 1;
            ("rejected", Some(reason.as_str()), None)
        }
    };
    if state != "sent" {
        warn!(record_id = id, state, reason, "server did not store record");
    }
    tx.execute(
        "UPDATE records SET state = ?1, reason = ?2, server_seq = ?3 WHERE id = ?4",
        params![state, reason, server_seq, id],
    )?;
    if state == "rejected" {
        drop_orphan_photo_uploads(tx, id)?;
    }
    Ok(())
}

/// Takes the photos of a rejected lead off the outbox unless another lead
/// that may still be stored names them. A photo is sent only as part of a
/// stored lead, so without this the outbox would keep it forever.
fn drop_orphan_photo_uploads(tx: &Transaction, lead_id: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM outbox WHERE kind = 'photo'
           AND target_id IN (SELECT sha256 FROM lead_photos WHERE lead_id = ?1)
           AND NOT EXISTS (SELECT 1 FROM lead_photos lp JOIN records r ON r.id = lp.lead_id
                           WHERE lp.sha256 = outbox.target_id AND r.state <> 'rejected')",
        [lead_id],
    )?;
    Ok(())
}

fn apply_entity(tx: &Transaction, seq: i64, entity: &Entity, me: Option<Uuid>) -> Result<()> {
    match entity {
        Entity::Site(site) => {
            tx.execute(
                "INSERT OR REPLACE INTO sites (id, json) VALUES (?1, ?2)",
                params![site.id.to_string(), serde_json::to_string(site)?],
            )?;
        }
        Entity::Member(member) => {
            tx.execute(
                "INSERT OR REPLACE INTO members (id, json) VALUES (?1, ?2)",
                params![member.id.to_string(), serde_json::to_string(member)?],
            )?;
        }
        Entity::Submission(submission) => apply_submission(tx, seq, submission, me)?,
        Entity::Tombstone { kind, id } => apply_tombstone(tx, kind, *id)?,
    }
    Ok(())
}

fn apply_submission(
    tx: &Transaction,
    seq: i64,
    submission: &Submission,
    me: Option<Uuid>,
) -> Result<()> {
    let review = &submission.review;
    tx.execute(
        "INSERT INTO reviews (subject_id, state, version, flags, reason, assignee_id, conflicts,
                              photos_total, photos_received, server_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (subject_id) DO UPDATE SET
             state = excluded.state, version = excluded.version, flags = excluded.flags,
             reason = excluded.reason, assignee_id = excluded.assignee_id,
             conflicts = excluded.conflicts, photos_total = excluded.photos_total,
             photos_received = excluded.photos_received, server_seq = excluded.server_seq
         WHERE excluded.server_seq >= reviews.server_seq",
        params![
            review.subject_id.to_string(),
            review.state.as_str(),
            review.version,
            serde_json::to_string(&review.flags)?,
            review.last_reason,
            review.assignee_id.map(|id| id.to_string()),
            serde_json::to_string(&review.conflicts)?,
            submission.photos_total,
            submission.photos_received,
            seq,
        ],
    )?;

    let record = &submission.record;
    let captured_here: bool = tx
        .query_row(
            "SELECT 1 FROM records WHERE id = ?1",
            [record.id.to_string()],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if captured_here || me == Some(record.member_id) {
        return Ok(());
    }
    tx.execute(
        "INSERT OR REPLACE INTO review_queue (subject_id, owner_id, owner_name, record, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            review.subject_id.to_string(),
            record.member_id.to_string(),
            submission.owner_name,
            serde_json::to_string(record)?,
            submission.received_at.to_rfc3339(),
        ],
    )?;
    Ok(())
}

fn apply_tombstone(tx: &Transaction, kind: &str, id: Uuid) -> Result<()> {
    match kind {
        "site" => tx.execute("DELETE FROM sites WHERE id = ?1", [id.to_string()])?,
        "member" => tx.execute("DELETE FROM members WHERE id = ?1", [id.to_string()])?,
        "submission" => tx.execute(
            "DELETE FROM review_queue WHERE subject_id = ?1",
            [id.to_string()],
        )?,
        _ => {
            warn!(kind, %id, "ignored tombstone of unknown kind");
            0
        }
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_retry_delay_grows_to_cap() {
        let minutes = |count: u64| Duration::from_secs(count * 60);
        let cases = [
            (0, minutes(5)),
            (1, minutes(5)),
            (2, minutes(10)),
            (3, minutes(20)),
            (7, minutes(320)),
            (8, ITEM_RETRY_MAX),
            (1000, ITEM_RETRY_MAX),
        ];
        for (attempts, expected) in cases {
            assert_eq!(item_retry_delay(attempts), expected, "attempts {attempts}");
        }
    }
}
