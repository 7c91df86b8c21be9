//! Storing a push batch: idempotent by record id, one transaction per batch,
//! and a replayed batch gets the acknowledgement that the first copy got.

use chrono::{DateTime, TimeDelta, Utc};
use redvest_proto::records::RecordBody;
use redvest_proto::review::ReviewState;
use redvest_proto::wire::{PushOutcome, PushResponse, PushResult};
use redvest_proto::Record;
use rusqlite::{params, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::audit_log::{self, Transition};
use super::changes::emit_submission;
use super::{accounts, time_text};
use crate::judge::{clock_in_flags, ClockInArrival};
use crate::store::{canonical_json, Caller, IncomingBatch, IncomingRecord, PushAck, StoreError};
use crate::validate;

/// The window before a clock-in in which an unclosed clock-in counts as an open shift.
const OPEN_SHIFT_LOOKBACK: TimeDelta = TimeDelta::hours(12);

pub fn push(
    tx: &Transaction<'_>,
    caller: &Caller,
    batch: &IncomingBatch,
    received_at: DateTime<Utc>,
) -> Result<PushAck, StoreError> {
    let record_ids: Vec<Uuid> = batch.records.iter().map(IncomingRecord::id).collect();
    if let Some(ack) = earlier_ack(tx, batch, &record_ids)? {
        tracing::info!(
            device_id = %batch.device_id,
            batch_seq = batch.batch_seq,
            "replayed push batch",
        );
        return Ok(ack);
    }

    let mut results = Vec::with_capacity(batch.records.len());
    for incoming in &batch.records {
        let outcome = store_one(tx, caller, batch, incoming, received_at)?;
        results.push(PushResult {
            id: incoming.id(),
            outcome,
        });
    }

    let has_conflict = results
        .iter()
        .any(|result| matches!(result.outcome, PushOutcome::Conflict { .. }));
    let ack = PushAck {
        response: PushResponse {
            batch_seq: batch.batch_seq,
            results,
        },
        has_conflict,
    };
    remember_batch(tx, caller, batch, &record_ids, &ack, received_at)?;
    Ok(ack)
}

/// Returns the stored acknowledgement when this device already sent this
/// batch with the same record ids.
fn earlier_ack(
    tx: &Transaction<'_>,
    batch: &IncomingBatch,
    record_ids: &[Uuid],
) -> Result<Option<PushAck>, StoreError> {
    let stored: Option<(String, String, bool)> = tx
        .query_row(
            "SELECT record_ids, response, has_conflict FROM push_batches WHERE device_id = ?1 \
                AND batch_seq = ?2",
            params![batch.device_id.to_string(), batch.batch_seq],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((ids, response, has_conflict)) = stored else {
        return Ok(None);
    };
    if serde_json::from_str::<Vec<Uuid>>(&ids)? != record_ids {
        tracing::warn!(
            device_id = %batch.device_id,
            batch_seq = batch.batch_seq,
            "batch number reused with other records",
        );
        return Ok(None);
    }
    Ok(Some(PushAck {
        response: serde_json::from_str(&response)?,
        has_conflict,
    }))
}

fn remember_batch(
    tx: &Transaction<'_>,
    caller: &Caller,
    batch: &IncomingBatch,
    record_ids: &[Uuid],
    ack: &PushAck,
    received_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = time_text(received_at);
    tx.execute(
        "INSERT OR REPLACE INTO push_batches (device_id, batch_seq, record_ids, response, \
            has_conflict, received_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            batch.device_id.to_string(),
            batch.batch_seq,
            serde_json::to_string(record_ids)?,
            serde_json::to_string(&ack.response)?,
            ack.has_conflict,
            now
        ],
    )?;
    tx.execute(
        "INSERT INTO devices (device_id, member_id, last_batch_seq, updated_at) VALUES (?1, ?2, \
            ?3, ?4) \
         ON CONFLICT (device_id) DO UPDATE SET member_id = excluded.member_id, \
           last_batch_seq = max(last_batch_seq, excluded.last_batch_seq), \
           updated_at = excluded.updated_at",
        params![
            batch.device_id.to_string(),
            caller.member.id.to_string(),
            batch.batch_seq,
            now
        ],
    )?;
    Ok(())
}

fn store_one(
    tx: &Transaction<'_>,
    caller: &Caller,
    batch: &IncomingBatch,
    incoming: &IncomingRecord,
    received_at: DateTime<Utc>,
) -> Result<PushOutcome, StoreError> {
    let record = match incoming {
        IncomingRecord::Parsed(record) => record.as_ref(),
        IncomingRecord::Unreadable { reason, .. } => {
            return Ok(PushOutcome::Rejected {
                reason: reason.clone(),
            })
        }
    };
    if let Some(reason) = validate::rejection(record, caller.member.id, received_at) {
        return Ok(PushOutcome::Rejected { reason });
    }

    let body = canonical_json(record)?;
    let body_sha256 = hex::encode(Sha256::digest(body.as_bytes()));
    let device_id = batch.device_id;
    if let Some(outcome) =
        compare_with_stored(tx, record, &body, &body_sha256, device_id, received_at)?
    {
        return Ok(outcome);
    }
    if let Some(reason) = stored_data_rejection(tx, caller, record)? {
        return Ok(PushOutcome::Rejected { reason });
    }

    let server_seq = insert_record(tx, record, device_id, &body, &body_sha256, received_at)?;
    if record.body.is_reviewable() {
        open_review(tx, caller, batch, record, received_at)?;
    }
    Ok(PushOutcome::Stored { server_seq })
}

/// Returns the outcome for an id already stored: the original sequence for
/// the same body, a kept conflict for another body.
fn compare_with_stored(
    tx: &Transaction<'_>,
    record: &Record,
    body: &str,
    body_sha256: &str,
    device_id: Uuid,
    received_at: DateTime<Utc>,
) -> Result<Option<PushOutcome>, StoreError> {
    let stored: Option<(i64, String, String)> = tx
        .query_row(
            "SELECT server_seq, body_sha256, body FROM records WHERE id = ?1",
            [record.id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((server_seq, stored_sha256, stored_body)) = stored else {
        return Ok(None);
    };
    if stored_sha256 == body_sha256 || same_after_reserializing(&stored_body, body) {
        return Ok(Some(PushOutcome::Stored { server_seq }));
    }

    tx.execute(
        "INSERT OR IGNORE INTO record_conflicts (record_id, member_id, device_id, body, \
            body_sha256, received_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            record.id.to_string(),
            record.member_id.to_string(),
            device_id.to_string(),
            body,
            body_sha256,
            time_text(received_at)
        ],
    )?;
    tracing::warn!(
        record_id = %record.id,
        %device_id,
        "record id pushed again with another body; kept as a conflict",
    );
    let reason = format!(
        "record {} is already stored with another body; the new body was kept for review and \
            nothing was overwritten",
        record.id
    );
    Ok(Some(PushOutcome::Conflict { reason }))
}

/// Tells whether a stored body equals `body` once both pass through the
/// current types, so a server upgrade that adds a defaulted field does not
/// turn old replays into conflicts.
fn same_after_reserializing(stored_body: &str, body: &str) -> bool {
    serde_json::from_str::<Record>(stored_body)
        .ok()
        .and_then(|record| canonical_json(&record).ok())
        .is_some_and(|canonical| canonical == body)
}

fn stored_data_rejection(
    tx: &Transaction<'_>,
    caller: &Caller,
    record: &Record,
) -> Result<Option<String>, StoreError> {
    let RecordBody::ClockIn(clock_in) = &record.body else {
        return Ok(None);
    };
    let site = accounts::live_site(tx, clock_in.site_id, caller.member.brigade_id)?;
    Ok(site.is_none().then(|| {
        format!(
            "site {} not found in your brigade; pull changes for the current sites",
            clock_in.site_id
        )
    }))
}

fn insert_record(
    tx: &Transaction<'_>,
    record: &Record,
    device_id: Uuid,
    body: &str,
    body_sha256: &str,
    received_at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO records (id, member_id, device_id, kind, body, body_sha256, captured_at, \
            captured_offset_min, received_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            record.id.to_string(),
            record.member_id.to_string(),
            device_id.to_string(),
            record.body.kind(),
            body,
            body_sha256,
            time_text(record.captured_at.utc),
            record.captured_at.offset_min,
            time_text(received_at)
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Creates the review row of a reviewable record, audits it and appends a
/// change for the owner and reviewers.
fn open_review(
    tx: &Transaction<'_>,
    caller: &Caller,
    batch: &IncomingBatch,
    record: &Record,
    received_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let flags = judge(tx, caller, batch, record, received_at)?;
    let state = if matches!(record.body, RecordBody::ClockIn(_)) && flags.is_empty() {
        ReviewState::Accepted
    } else {
        ReviewState::Submitted
    };
    let member = &caller.member;
    tx.execute(
        "INSERT INTO reviews (subject_id, owner_id, brigade_id, squad_id, state, version, \
            flags, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)",
        params![
            record.id.to_string(),
            member.id.to_string(),
            member.brigade_id.to_string(),
            member.squad_id.map(|id| id.to_string()),
            state.as_str(),
            serde_json::to_string(&flags)?,
            time_text(received_at)
        ],
    )?;
    link_photos(tx, record)?;

    let flags_text = (!flags.is_empty()).then(|| flags.join(","));
    let transition = Transition {
        at: received_at,
        actor_id: member.id,
        device_id: Some(batch.device_id),
        subject_id: record.id,
        action: "submit",
        from_state: None,
        to_state: state.as_str(),
        reason: flags_text.as_deref(),
    };
    audit_log::append(tx, &transition)?;
    emit_submission(tx, record.id)
}

fn judge(
    tx: &Transaction<'_>,
    caller: &Caller,
    batch: &IncomingBatch,
    record: &Record,
    received_at: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let RecordBody::ClockIn(clock_in) = &record.body else {
        return Ok(Vec::new());
    };
    let site = accounts::live_site(tx, clock_in.site_id, caller.member.brigade_id)?
        .ok_or_else(|| StoreError::NotFound(format!("site {}", clock_in.site_id)))?;
    let arrival = ClockInArrival {
        site: &site,
        clock_in,
        captured_at: record.captured_at,
        received_at,
        sent_at: batch.sent_at,
        open_shift_site: open_shift_site(tx, record)?,
    };
    Ok(clock_in_flags(&arrival))
}

/// Returns the site of the member's latest clock-in of the last 12 hours
/// before this one that neither a clock-out nor the server's sweep closed
/// before it. `+r.id` drops the column's text affinity, so that the
/// clock-out lookup can use the expression index on `shift_id`.
fn open_shift_site(tx: &Transaction<'_>, record: &Record) -> Result<Option<Uuid>, StoreError> {
    let since = record
        .captured_at
        .utc
        .checked_sub_signed(OPEN_SHIFT_LOOKBACK)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let since = time_text(since);
    let site: Option<String> = tx
        .query_row(
            "SELECT json_extract(r.body, '$.body.site_id') FROM records r \
             WHERE r.member_id = ?1 AND r.kind = 'clock_in' AND r.id != ?2 \
               AND r.captured_at >= ?3 AND r.captured_at <= ?4 \
               AND NOT EXISTS (SELECT 1 FROM records o \
                               WHERE o.member_id = r.member_id AND o.kind = 'clock_out' \
                               AND json_extract(o.body, '$.body.shift_id') = +r.id) \
               AND NOT EXISTS (SELECT 1 FROM shift_auto_closes c \
                               WHERE c.shift_id = r.id AND c.closed_at <= ?4) \
             ORDER BY r.captured_at DESC LIMIT 1",
            params![
                record.member_id.to_string(),
                record.id.to_string(),
                since,
                time_text(record.captured_at.utc)
            ],
            |row| row.get(0),
        )
        .optional()?;
    Ok(site.as_deref().map(super::parse_uuid).transpose()?)
}

fn link_photos(tx: &Transaction<'_>, record: &Record) -> Result<(), StoreError> {
    let RecordBody::Lead(lead) = &record.body else {
        return Ok(());
    };
    for photo in &lead.photos {
        tx.execute(
            "INSERT OR IGNORE INTO record_photos (record_id, sha256) VALUES (?1, ?2)",
            params![record.id.to_string(), photo.sha256],
        )?;
    }
    Ok(())
}
