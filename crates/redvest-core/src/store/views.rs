//! Read models for the screens (my submissions, the leader's review queue,
//! the sync badge) and the leader's offline decision.

use chrono::{DateTime, Utc};
use redvest_proto::review::{transition, Action, ReviewState, Reviewer};
use redvest_proto::wire::{DecisionConflict, DecisionRequest, Member, Role};
use redvest_proto::{Record, Stamp};
use rusqlite::{params, Connection, OptionalExtension, Row};
use tracing::info;
use uuid::Uuid;

use super::{parse_time, parse_uuid, Store};
use crate::error::{Result, StoreError};

/// The sync state of a captured record on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalState {
    /// Waiting in the outbox.
    Queued,
    /// Stored by the server.
    Sent,
    /// The server can never store it as it is, and the reason gives the cause.
    Rejected,
    /// The server contains a different body under the same id.
    Conflict,
}

impl LocalState {
    fn parse(text: &str) -> Result<Self> {
        match text {
            "queued" => Ok(Self::Queued),
            "sent" => Ok(Self::Sent),
            "rejected" => Ok(Self::Rejected),
            "conflict" => Ok(Self::Conflict),
            _ => Err(StoreError::Corrupt {
                column: "records.state",
                value: text.to_owned(),
            }),
        }
    }
}

/// The server's review of a submission, as last pulled.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewView {
    pub state: ReviewState,
    pub version: i64,
    pub flags: Vec<String>,
    pub reason: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub conflicts: Vec<DecisionConflict>,
}

/// One of the member's own submissions with its local and review state.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionView {
    pub record: Record,
    pub local_state: LocalState,
    /// The server's reason for a rejected or conflicting record.
    pub local_reason: Option<String>,
    /// Absent until a pull brings the server's review.
    pub review: Option<ReviewView>,
    pub photos_sent: u32,
    pub photos_total: u32,
}

/// A submission of another member waiting for the leader.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub record: Record,
    pub owner_name: String,
    pub received_at: DateTime<Utc>,
    pub review: ReviewView,
    pub photos_total: u32,
    pub photos_received: u32,
    /// The decision this device queued that the server has not yet acknowledged.
    pub pending_decision: Option<Action>,
}

/// The figures the sync badge shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// Outbox entries (records, decisions, photos) not yet acknowledged.
    pub pending: u32,
    /// Records and decisions the server rejected for good.
    pub rejected: u32,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub needs_sign_in: bool,
}

const REVIEW_COLUMNS: &str = "v.state, v.version, v.flags, v.reason, v.assignee_id, v.conflicts";

impl Store {
    /// Returns the signed-in member's reviewable records, newest first.
    pub fn my_submissions(&self) -> Result<Vec<SubmissionView>> {
        let conn = self.conn();
        let member = Self::session_member(&conn)?;
        let sql = format!(
            "SELECT r.json, r.state, r.reason, v.subject_id, {REVIEW_COLUMNS},
                    (SELECT COUNT(*) FROM lead_photos lp WHERE lp.lead_id = r.id),
                    (SELECT COUNT(*) FROM lead_photos lp JOIN photos p ON p.sha256 = lp.sha256
                     WHERE lp.lead_id = r.id AND p.state = 'done')
             FROM records r LEFT JOIN reviews v ON v.subject_id = r.id
             WHERE r.member_id = ?1 AND r.kind IN ('clock_in', 'lead', 'patrol_stop')
             ORDER BY r.captured_at DESC, r.id DESC"
        );
        let mut statement = conn.prepare(&sql)?;
        let mut rows = statement.query([member.id.to_string()])?;
        let mut views = Vec::new();
        while let Some(row) = rows.next()? {
            views.push(submission_view(row)?);
        }
        Ok(views)
    }

    /// Returns the submissions of others still open for review, oldest first.
    pub fn review_queue(&self) -> Result<Vec<QueueItem>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT q.record, q.owner_name, q.received_at, v.photos_total, v.photos_received,
                    (SELECT d.json FROM decisions d WHERE d.subject_id = q.subject_id AND d.state = 'queued'
                     ORDER BY d.id DESC LIMIT 1),
                    {REVIEW_COLUMNS}
             FROM review_queue q JOIN reviews v ON v.subject_id = q.subject_id
             WHERE v.state IN ('submitted', 'escalated', 'assigned')
             ORDER BY q.received_at, q.subject_id"
        );
        let mut statement = conn.prepare(&sql)?;
        let mut rows = statement.query([])?;
        let mut items = Vec::new();
        while let Some(row) = rows.next()? {
            items.push(queue_item(row)?);
        }
        Ok(items)
    }

    /// Queues a reviewer's decision on a submission, naming the review
    /// version the reviewer saw, and returns the decision id. The review row
    /// is not touched: the server settles the decision and a pull brings the
    /// result.
    pub fn decide(&self, subject_id: Uuid, action: Action) -> Result<Uuid> {
        let id = Uuid::now_v7();
        self.write(|tx| {
            let member = Self::session_member(tx)?;
            let review = queued_review(tx, subject_id)?;
            let reviewer = reviewer_role(&member, &review);
            transition(review.state, &action, reviewer)?;

            let request = DecisionRequest {
                id,
                device_id: parse_uuid("device.device_id", &device_id_text(tx)?)?,
                subject_id,
                based_on_version: review.version,
                action,
                decided_at: Stamp::now_local(),
            };
            tx.execute(
                "INSERT INTO decisions (id, subject_id, json) VALUES (?1, ?2, ?3)",
                params![
                    id.to_string(),
                    subject_id.to_string(),
                    serde_json::to_string(&request)?
                ],
            )?;
            tx.execute(
                "INSERT INTO outbox (kind, target_id) VALUES ('decision', ?1)",
                [id.to_string()],
            )?;
            Ok(())
        })?;
        info!(decision_id = %id, %subject_id, "decision queued");
        Ok(id)
    }

    /// Returns the figures of the sync badge.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let conn = self.conn();
        let pending: u32 = conn.query_row("SELECT COUNT(*) FROM outbox", [], |row| row.get(0))?;
        let rejected: u32 = conn.query_row(
            "SELECT (SELECT COUNT(*) FROM records WHERE state = 'rejected')
                  + (SELECT COUNT(*) FROM decisions WHERE state = 'rejected')",
            [],
            |row| row.get(0),
        )?;
        let (last_success, last_error, needs_sign_in): (Option<String>, Option<String>, bool) =
            conn.query_row(
                "SELECT last_success, last_error, needs_sign_in FROM sync_state",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )?;
        let last_success = last_success
            .map(|text| parse_time("sync_state.last_success", &text))
            .transpose()?;
        Ok(SyncStatus {
            pending,
            rejected,
            last_success,
            last_error,
            needs_sign_in,
        })
    }
}

fn device_id_text(conn: &Connection) -> Result<String> {
    Ok(conn.query_row("SELECT device_id FROM device", [], |row| row.get(0))?)
}

fn queued_review(conn: &Connection, subject_id: Uuid) -> Result<ReviewView> {
    let sql = format!(
        "SELECT {REVIEW_COLUMNS} FROM review_queue q JOIN reviews v ON v.subject_id = q.subject_id
         WHERE q.subject_id = ?1"
    );
    let review = conn
        .query_row(&sql, [subject_id.to_string()], |row| {
            Ok(review_view(row, 0))
        })
        .optional()?;
    review.ok_or(StoreError::UnknownSubmission(subject_id))?
}

fn reviewer_role(member: &Member, review: &ReviewView) -> Reviewer {
    if review.assignee_id == Some(member.id) {
        return Reviewer::Assignee;
    }
    match member.role {
        Role::SquadLeader => Reviewer::SquadLeader,
        Role::Brigade => Reviewer::Brigade,
        // A volunteer who is not the assignee may act only as one, and the
        // transition rules then refuse what they cannot do.
        Role::Volunteer => Reviewer::Assignee,
    }
}

/// Reads the six review columns starting at `first`.
fn review_view(row: &Row, first: usize) -> Result<ReviewView> {
    let state: String = row.get(first)?;
    let assignee: Option<String> = row.get(first + 4)?;
    Ok(ReviewView {
        state: ReviewState::parse(&state).ok_or(StoreError::Corrupt {
            column: "reviews.state",
            value: state,
        })?,
        version: row.get(first + 1)?,
        flags: serde_json::from_str(&row.get::<_, String>(first + 2)?)?,
        reason: row.get(first + 3)?,
        assignee_id: assignee
            .map(|text| parse_uuid("reviews.assignee_id", &text))
            .transpose()?,
        conflicts: serde_json::from_str(&row.get::<_, String>(first + 5)?)?,
    })
}

fn submission_view(row: &Row) -> Result<SubmissionView> {
    let has_review = row.get::<_, Option<String>>(3)?.is_some();
    Ok(SubmissionView {
        record: serde_json::from_str(&row.get::<_, String>(0)?)?,
        local_state: LocalState::parse(&row.get::<_, String>(1)?)?,
        local_reason: row.get(2)?,
        review: if has_review {
            Some(review_view(row, 4)?)
        } else {
            None
        },
        photos_total: row.get(10)?,
        photos_sent: row.get(11)?,
    })
}

fn queue_item(row: &Row) -> Result<QueueItem> {
    let pending: Option<String> = row.get(5)?;
    let pending_decision = match pending {
        Some(json) => Some(serde_json::from_str::<DecisionRequest>(&json)?.action),
        None => None,
    };
    Ok(QueueItem {
        record: serde_json::from_str(&row.get::<_, String>(0)?)?,
        owner_name: row.get(1)?,
        received_at: parse_time("review_queue.received_at", &row.get::<_, String>(2)?)?,
        photos_total: row.get(3)?,
        photos_received: row.get(4)?,
        pending_decision,
        review: review_view(row, 6)?,
    })
}
