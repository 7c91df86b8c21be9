//! The change log phones pull from, and the rendering of submissions.
//!
//! Every change is written in the same transaction as the data it reports,
//! with scope columns so visibility is one WHERE clause. A newer change of an
//! entity replaces the older ones: phones only need the latest state, and the
//! log stays the size of the data instead of the size of its history.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use redvest_proto::records::RecordBody;
use redvest_proto::review::ReviewState;
use redvest_proto::wire::{
    Change, ChangesResponse, DecisionConflict, Entity, ReviewInfo, Submission,
};
use redvest_proto::Record;
use rusqlite::{named_params, params, Connection, OptionalExtension};
use uuid::Uuid;

use super::{accounts, parse_optional_uuid, parse_time, parse_uuid};
use crate::store::{Caller, StoreError};

/// Whether the caller may see a submission, on columns `brigade_id`,
/// `squad_id`, `owner_id` and `assignee_id`, with parameters `:me`, `:role`,
/// `:squad` and `:brigade`.
pub const SUBMISSION_VISIBLE: &str =
    "(brigade_id = :brigade AND (owner_id = :me OR assignee_id = :me \
     OR (:role = 'squad_leader' AND squad_id = :squad) OR :role = 'brigade'))";

/// Maximum payload bytes of one page of changes. A page contains at least
/// one change, so a single larger change is still delivered.
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// The members a change is for, within the brigade it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every member of the brigade (sites).
    Brigade,
    /// Members of the squad, the member itself and brigade staff (members).
    Squad,
    /// The owner, the assignee, the squad leader and brigade staff.
    Submission,
}

impl Audience {
    fn as_str(self) -> &'static str {
        match self {
            Audience::Brigade => "brigade",
            Audience::Squad => "squad",
            Audience::Submission => "submission",
        }
    }
}

/// The scope columns of a change.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub brigade_id: Uuid,
    pub squad_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
}

/// The stored review row of a submission.
#[derive(Debug, Clone)]
pub struct ReviewRow {
    pub subject_id: Uuid,
    pub owner_id: Uuid,
    pub brigade_id: Uuid,
    pub squad_id: Option<Uuid>,
    pub state: ReviewState,
    pub version: i64,
    pub assignee_id: Option<Uuid>,
}

impl ReviewRow {
    pub fn scope(&self) -> Scope {
        Scope {
            brigade_id: self.brigade_id,
            squad_id: self.squad_id,
            owner_id: Some(self.owner_id),
            assignee_id: self.assignee_id,
        }
    }
}

/// Appends a change and drops older changes of the same entity.
pub fn append_change(
    conn: &Connection,
    entity: &str,
    entity_id: Uuid,
    audience: Audience,
    scope: &Scope,
    payload: &Entity,
) -> Result<i64, StoreError> {
    conn.execute(
        "DELETE FROM changes WHERE entity = ?1 AND entity_id = ?2",
        params![entity, entity_id.to_string()],
    )?;
    conn.execute(
        "INSERT INTO changes (entity, entity_id, audience, brigade_id, squad_id, owner_id, \
            assignee_id, payload) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            entity,
            entity_id.to_string(),
            audience.as_str(),
            scope.brigade_id.to_string(),
            scope.squad_id.map(|id| id.to_string()),
            scope.owner_id.map(|id| id.to_string()),
            scope.assignee_id.map(|id| id.to_string()),
            serde_json::to_string(payload)?,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Renders the current submission and appends it as a change.
pub fn emit_submission(conn: &Connection, subject_id: Uuid) -> Result<(), StoreError> {
    let (submission, row) = submission(conn, subject_id)?
        .ok_or_else(|| StoreError::NotFound(format!("submission {subject_id}")))?;
    append_change(
        conn,
        "submission",
        subject_id,
        Audience::Submission,
        &row.scope(),
        &Entity::Submission(submission),
    )?;
    Ok(())
}

/// Returns one page of the changes the caller may see: at most `limit`
/// changes and about [`MAX_PAGE_BYTES`] of payload.
pub fn page(
    conn: &Connection,
    caller: &Caller,
    after: i64,
    limit: u32,
) -> Result<ChangesResponse, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let epoch = accounts::epoch(&tx)?;
    let member = &caller.member;
    let sql = format!(
        "SELECT seq, payload FROM changes WHERE seq > :after AND brigade_id = :brigade AND ( \
           audience = 'brigade' \
           OR (audience = 'squad' AND (:role = 'brigade' OR squad_id = :squad OR owner_id = :me)) \
           OR (audience = 'submission' AND {SUBMISSION_VISIBLE})) \
         ORDER BY seq LIMIT :limit"
    );
    let mut statement = tx.prepare(&sql)?;
    let rows = statement.query_map(
        named_params! {
            ":after": after,
            ":brigade": member.brigade_id.to_string(),
            ":role": member.role.as_str(),
            ":squad": member.squad_id.map(|id| id.to_string()),
            ":me": member.id.to_string(),
            ":limit": i64::from(limit) + 1,
        },
        |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
    )?;
    let mut changes = Vec::new();
    let mut page_bytes = 0;
    let mut more = false;
    for row in rows {
        let (seq, payload) = row?;
        page_bytes += payload.len();
        let full = changes.len() == limit as usize || page_bytes > MAX_PAGE_BYTES;
        if full && !changes.is_empty() {
            more = true;
            break;
        }
        changes.push(Change {
            seq,
            entity: serde_json::from_str(&payload)?,
        });
    }

    let cursor = changes.last().map_or(after, |change| change.seq);
    Ok(ChangesResponse {
        epoch,
        changes,
        cursor,
        more,
    })
}

/// Reads the review row of a submission.
pub fn review_row(conn: &Connection, subject_id: Uuid) -> Result<Option<ReviewRow>, StoreError> {
    let row = conn
        .query_row(
            "SELECT owner_id, brigade_id, squad_id, state, version, assignee_id FROM reviews \
                WHERE subject_id = ?1",
            [subject_id.to_string()],
            |row| {
                let state: String = row.get(3)?;
                Ok(ReviewRow {
                    subject_id,
                    owner_id: parse_uuid(&row.get::<_, String>(0)?)?,
                    brigade_id: parse_uuid(&row.get::<_, String>(1)?)?,
                    squad_id: parse_optional_uuid(row.get(2)?)?,
                    state: ReviewState::parse(&state).unwrap_or(ReviewState::Submitted),
                    version: row.get(4)?,
                    assignee_id: parse_optional_uuid(row.get(5)?)?,
                })
            },
        )
        .optional()?;
    Ok(row)
}

/// Reads the review of a submission with its decision conflicts.
pub fn review_info(conn: &Connection, subject_id: Uuid) -> Result<Option<ReviewInfo>, StoreError> {
    let Some(row) = review_row(conn, subject_id)? else {
        return Ok(None);
    };
    let (flags, last_reason): (String, Option<String>) = conn.query_row(
        "SELECT flags, last_reason FROM reviews WHERE subject_id = ?1",
        [subject_id.to_string()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(Some(ReviewInfo {
        subject_id,
        state: row.state,
        version: row.version,
        flags: serde_json::from_str(&flags)?,
        last_reason,
        assignee_id: row.assignee_id,
        conflicts: decision_conflicts(conn, subject_id)?,
    }))
}

fn decision_conflicts(
    conn: &Connection,
    subject_id: Uuid,
) -> Result<Vec<DecisionConflict>, StoreError> {
    let mut statement = conn.prepare(
        "SELECT c.decision_id, c.reviewer_id, m.name, c.action, c.based_on_version, c.reason \
         FROM decision_conflicts c JOIN members m ON m.id = c.reviewer_id \
         WHERE c.subject_id = ?1 ORDER BY c.created_at, c.rowid",
    )?;
    let rows = statement.query_map([subject_id.to_string()], |row| {
        Ok(DecisionConflict {
            decision_id: parse_uuid(&row.get::<_, String>(0)?)?,
            reviewer_id: parse_uuid(&row.get::<_, String>(1)?)?,
            reviewer_name: row.get(2)?,
            action: row.get(3)?,
            based_on_version: row.get(4)?,
            reason: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Renders a submission: the record, its owner, review and photo counts.
pub fn submission(
    conn: &Connection,
    subject_id: Uuid,
) -> Result<Option<(Submission, ReviewRow)>, StoreError> {
    let Some(row) = review_row(conn, subject_id)? else {
        return Ok(None);
    };
    let review = review_info(conn, subject_id)?.expect("the review row was just read");
    let (body, received_at, owner_name): (String, String, String) = conn.query_row(
        "SELECT r.body, r.received_at, m.name FROM records r JOIN members m ON m.id = \
            r.member_id WHERE r.id = ?1",
        [subject_id.to_string()],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    let record: Record = serde_json::from_str(&body)?;
    let received_at: DateTime<Utc> = parse_time(&received_at)?;
    let photos_total = match &record.body {
        RecordBody::Lead(lead) => lead
            .photos
            .iter()
            .map(|photo| &photo.sha256)
            .collect::<HashSet<_>>()
            .len() as u32,
        _ => 0,
    };
    let photos_received = photos_received(conn, subject_id)?;
    let submission = Submission {
        record,
        owner_name,
        review,
        received_at,
        photos_total,
        photos_received,
    };
    Ok(Some((submission, row)))
}

fn photos_received(conn: &Connection, subject_id: Uuid) -> Result<u32, StoreError> {
    let count: i64 = conn.query_row(
        "SELECT count(*) FROM record_photos rp JOIN records r ON r.id = rp.record_id \
         JOIN photo_uploaders pu ON pu.sha256 = rp.sha256 AND pu.member_id = r.member_id \
         WHERE rp.record_id = ?1",
        [subject_id.to_string()],
        |row| row.get(0),
    )?;
    Ok(count as u32)
}
