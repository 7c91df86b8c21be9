//! Review decisions: authorisation by squad and brigade, optimistic versions
//! (the first valid decision on a version wins, later ones are kept as
//! conflicts) and idempotency by decision id.

use chrono::{DateTime, Utc};
use redvest_proto::review::{transition, Action, Reviewer, TransitionError};
use redvest_proto::wire::{DecisionOutcome, DecisionRequest, DecisionResponse, ReviewInfo, Role};
use rusqlite::{params, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::audit_log::{self, Transition};
use super::changes::{emit_submission, review_info, review_row, ReviewRow};
use super::{accounts, parse_uuid, time_text};
use crate::store::{Caller, StoreError};
use crate::validate::{too_long, MAX_OFFSET_MIN};

/// Maximum length of a decision's reason or note, in characters.
pub const MAX_DECISION_TEXT_CHARS: usize = 2000;

pub fn decide(
    tx: &Transaction<'_>,
    caller: &Caller,
    decision: &DecisionRequest,
    received_at: DateTime<Utc>,
) -> Result<DecisionResponse, StoreError> {
    let request_sha256 = request_sha256(decision)?;
    if let Some(response) = earlier_response(tx, caller, decision.id, &request_sha256)? {
        return Ok(response);
    }
    if let Some(problem) = decision_problem(decision) {
        return Err(StoreError::invalid("invalid_decision", problem));
    }
    let row = review_row(tx, decision.subject_id)?
        .ok_or_else(|| StoreError::NotFound(format!("submission {}", decision.subject_id)))?;
    let reviewer = reviewer_role(caller, &row).ok_or_else(|| {
        StoreError::Forbidden(format!(
            "you may not review submission {}: it is your own or outside your squad or brigade",
            row.subject_id
        ))
    })?;
    if decision.based_on_version > row.version {
        let message = format!(
            "based_on_version {} is newer than the current version {}; pull changes and decide \
                again",
            decision.based_on_version, row.version
        );
        return Err(StoreError::invalid("invalid_decision", message));
    }
    if decision.based_on_version < row.version {
        return keep_conflict(tx, caller, decision, &row, received_at);
    }
    apply(tx, caller, decision, &row, reviewer, received_at)
}

/// Returns why a decision is invalid whatever version it is based on, so
/// that a stale decision is checked as strictly as a current one before it
/// is kept as a conflict.
fn decision_problem(decision: &DecisionRequest) -> Option<String> {
    if decision.based_on_version < 1 {
        return Some(format!(
            "based_on_version {} is not a version; versions start at 1",
            decision.based_on_version
        ));
    }
    let offset_min = decision.decided_at.offset_min;
    if offset_min.abs() > MAX_OFFSET_MIN {
        return Some(format!(
            "decided_at offset {offset_min} min is outside ±{MAX_OFFSET_MIN} min"
        ));
    }
    match &decision.action {
        Action::Reject { reason } if reason.trim().is_empty() => {
            return Some(TransitionError::MissingReason.to_string())
        }
        Action::Resolve { note, .. } if note.trim().is_empty() => {
            return Some(TransitionError::MissingNote.to_string())
        }
        _ => {}
    }
    let text = decision.action.text().unwrap_or_default();
    too_long(
        &format!("{} text", decision.action.name()),
        text,
        MAX_DECISION_TEXT_CHARS,
    )
}

/// Hashes the request as the server re-serializes it.
fn request_sha256(decision: &DecisionRequest) -> Result<String, StoreError> {
    let body = serde_json::to_string(decision)?;
    Ok(hex::encode(Sha256::digest(body.as_bytes())))
}

/// Returns the stored response of a decision id seen before, or a conflict
/// when the id comes from another reviewer or with another body.
fn earlier_response(
    tx: &Transaction<'_>,
    caller: &Caller,
    id: Uuid,
    request_sha256: &str,
) -> Result<Option<DecisionResponse>, StoreError> {
    let stored: Option<(String, String, Option<String>)> = tx
        .query_row(
            "SELECT reviewer_id, response, request_sha256 FROM decisions WHERE id = ?1",
            [id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((reviewer_id, response, stored_sha256)) = stored else {
        return Ok(None);
    };
    if parse_uuid(&reviewer_id)? != caller.member.id {
        return Err(StoreError::Conflict(format!(
            "decision id {id} was already used by another reviewer; use a new id"
        )));
    }
    if stored_sha256.is_some_and(|stored| stored != request_sha256) {
        tracing::warn!(decision_id = %id, "decision id sent again with another body");
        return Err(StoreError::Conflict(format!(
            "decision id {id} was already used with another body; send the first body again \
                or use a new id for a new decision"
        )));
    }
    tracing::info!(decision_id = %id, "replayed decision");
    Ok(Some(serde_json::from_str(&response)?))
}

/// Picks the role the caller acts in for this submission, if any.
fn reviewer_role(caller: &Caller, row: &ReviewRow) -> Option<Reviewer> {
    let member = &caller.member;
    if member.brigade_id != row.brigade_id {
        return None;
    }
    // Nobody reviews their own submission; they may only resolve a follow-up assigned to them.
    if member.id == row.owner_id {
        return (row.assignee_id == Some(member.id)).then_some(Reviewer::Assignee);
    }
    match member.role {
        Role::Brigade => return Some(Reviewer::Brigade),
        Role::SquadLeader if row.squad_id.is_some() && member.squad_id == row.squad_id => {
            return Some(Reviewer::SquadLeader)
        }
        _ => {}
    }
    (row.assignee_id == Some(member.id)).then_some(Reviewer::Assignee)
}

fn apply(
    tx: &Transaction<'_>,
    caller: &Caller,
    decision: &DecisionRequest,
    row: &ReviewRow,
    reviewer: Reviewer,
    received_at: DateTime<Utc>,
) -> Result<DecisionResponse, StoreError> {
    let next = transition(row.state, &decision.action, reviewer)
        .map_err(|error| StoreError::invalid("invalid_decision", error.to_string()))?;
    let assignee_id = match &decision.action {
        Action::Assign { member_id, .. } => Some(check_assignee(tx, *member_id, row)?),
        _ => row.assignee_id,
    };

    tx.execute(
        "UPDATE reviews SET state = ?2, version = version + 1, last_reason = ?3, assignee_id = \
            ?4, updated_at = ?5 \
         WHERE subject_id = ?1",
        params![
            row.subject_id.to_string(),
            next.as_str(),
            decision.action.text(),
            assignee_id.map(|id| id.to_string()),
            time_text(received_at)
        ],
    )?;
    let audited = Transition {
        at: received_at,
        actor_id: caller.member.id,
        device_id: Some(decision.device_id),
        subject_id: row.subject_id,
        action: decision.action.name(),
        from_state: Some(row.state.as_str()),
        to_state: next.as_str(),
        reason: decision.action.text(),
    };
    audit_log::append(tx, &audited)?;
    tracing::info!(
        decision_id = %decision.id,
        subject_id = %row.subject_id,
        to = next.as_str(),
        "applied decision",
    );
    finish(tx, caller, decision, DecisionOutcome::Applied, received_at)
}

fn check_assignee(
    tx: &Transaction<'_>,
    member_id: Uuid,
    row: &ReviewRow,
) -> Result<Uuid, StoreError> {
    let member = accounts::member(tx, member_id)?;
    match member {
        Some(member) if member.brigade_id == row.brigade_id => Ok(member_id),
        _ => Err(StoreError::invalid(
            "invalid_decision",
            format!(
                "assignee {member_id} is not a member of the submission's brigade; pick a \
                member from your brigade"
            ),
        )),
    }
}

fn keep_conflict(
    tx: &Transaction<'_>,
    caller: &Caller,
    decision: &DecisionRequest,
    row: &ReviewRow,
    received_at: DateTime<Utc>,
) -> Result<DecisionResponse, StoreError> {
    let reason = format!(
        "another decision came first: the submission is {} at version {}, and this decision was \
            based on version {}",
        row.state.as_str(),
        row.version,
        decision.based_on_version
    );
    let outcome = DecisionOutcome::Conflict {
        reason: reason.clone(),
    };
    let response = finish(tx, caller, decision, outcome, received_at)?;
    tx.execute(
        "INSERT INTO decision_conflicts (decision_id, subject_id, reviewer_id, action, \
            based_on_version, reason, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            decision.id.to_string(),
            row.subject_id.to_string(),
            caller.member.id.to_string(),
            decision.action.name(),
            decision.based_on_version,
            reason,
            time_text(received_at)
        ],
    )?;
    emit_submission(tx, row.subject_id)?;
    tracing::info!(
        decision_id = %decision.id,
        subject_id = %row.subject_id,
        "kept decision as a conflict",
    );

    let review = current_review(tx, row.subject_id)?;
    let response = DecisionResponse { review, ..response };
    store_response(tx, decision.id, &response)?;
    Ok(response)
}

/// Stores the decision with its response and announces the new review.
fn finish(
    tx: &Transaction<'_>,
    caller: &Caller,
    decision: &DecisionRequest,
    outcome: DecisionOutcome,
    received_at: DateTime<Utc>,
) -> Result<DecisionResponse, StoreError> {
    let applied = outcome == DecisionOutcome::Applied;
    let review = current_review(tx, decision.subject_id)?;
    let response = DecisionResponse {
        id: decision.id,
        outcome,
        review,
    };
    tx.execute(
        "INSERT INTO decisions (id, subject_id, reviewer_id, device_id, action, \
            based_on_version, decided_at, received_at, response, request_sha256) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            decision.id.to_string(),
            decision.subject_id.to_string(),
            caller.member.id.to_string(),
            decision.device_id.to_string(),
            serde_json::to_string(&decision.action)?,
            decision.based_on_version,
            time_text(decision.decided_at.utc),
            time_text(received_at),
            serde_json::to_string(&response)?,
            request_sha256(decision)?
        ],
    )?;
    if applied {
        emit_submission(tx, decision.subject_id)?;
    }
    Ok(response)
}

fn store_response(
    tx: &Transaction<'_>,
    id: Uuid,
    response: &DecisionResponse,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE decisions SET response = ?2 WHERE id = ?1",
        params![id.to_string(), serde_json::to_string(response)?],
    )?;
    Ok(())
}

fn current_review(tx: &Transaction<'_>, subject_id: Uuid) -> Result<ReviewInfo, StoreError> {
    review_info(tx, subject_id)?
        .ok_or_else(|| StoreError::NotFound(format!("submission {subject_id}")))
}
