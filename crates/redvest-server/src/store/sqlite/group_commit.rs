//! Group commit of push batches. Concurrent pushes queue here, and the
//! first of them to take the writer connection stores every queued batch
//! in one transaction with one fsync, then returns each result to its
//! caller. Each batch runs in its own savepoint, so a batch that fails is
//! rolled back alone.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};

use super::{lock, push};
use crate::store::{Caller, IncomingBatch, PushAck, StoreError};

/// Records one group may carry. A cap keeps a long queue from turning into
/// one long transaction that delays every caller in it.
pub const MAX_GROUP_RECORDS: usize = 2_000;

/// The result of one queued push, filled in by whichever caller commits it.
pub type PushSlot = Arc<Mutex<Option<Result<PushAck, StoreError>>>>;

/// A push waiting for the next group commit.
#[derive(Debug)]
pub struct PendingPush {
    pub caller: Caller,
    pub batch: IncomingBatch,
    pub received_at: DateTime<Utc>,
    pub slot: PushSlot,
}

/// The error every batch of a group gets when the group cannot commit.
#[derive(Debug, thiserror::Error)]
#[error("group commit of {batches} push batches failed: {message}")]
pub struct GroupCommitError {
    pub batches: usize,
    pub message: String,
}

/// Takes queued pushes in arrival order, up to [`MAX_GROUP_RECORDS`]
/// records but always at least one push.
pub fn take_group(queue: &Mutex<Vec<PendingPush>>) -> Vec<PendingPush> {
    let mut queue = lock(queue);
    let mut records = 0;
    let mut count = 0;
    for pending in queue.iter() {
        records += pending.batch.records.len();
        if count > 0 && records > MAX_GROUP_RECORDS {
            break;
        }
        count += 1;
    }
    queue.drain(..count).collect()
}

/// Stores a group in one transaction and fills in every push's result.
pub fn commit_group(conn: &mut Connection, group: Vec<PendingPush>) {
    let batches = group.len();
    let results = match store_group(conn, &group) {
        Ok(results) => results,
        Err(error) => {
            tracing::error!(batches, %error, "group commit failed; every push in it gets an error");
            let message = error.to_string();
            (0..batches)
                .map(|_| {
                    Err(StoreError::other(GroupCommitError {
                        batches,
                        message: message.clone(),
                    }))
                })
                .collect()
        }
    };
    tracing::debug!(batches, "committed push group");
    for (pending, result) in group.into_iter().zip(results) {
        *lock(&pending.slot) = Some(result);
    }
}

/// Runs each batch in a savepoint and commits once; an error returned here
/// means nothing of the group was stored.
fn store_group(
    conn: &mut Connection,
    group: &[PendingPush],
) -> Result<Vec<Result<PushAck, StoreError>>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(group.len());
    for pending in group {
        tx.execute_batch("SAVEPOINT push_batch")?;
        let result = push::push(&tx, &pending.caller, &pending.batch, pending.received_at);
        match &result {
            Ok(_) => tx.execute_batch("RELEASE push_batch")?,
            Err(error) => {
                tracing::error!(
                    device_id = %pending.batch.device_id,
                    batch_seq = pending.batch.batch_seq,
                    %error,
                    "push batch failed; rolled back alone",
                );
                tx.execute_batch("ROLLBACK TO push_batch; RELEASE push_batch")?;
            }
        }
        results.push(result);
    }
    tx.commit()?;
    Ok(results)
}
