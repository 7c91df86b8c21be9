//! Read models for the screens (my submissions, the leader's review queue
//! with its conflicts and assignable members, the active patrol and its
//! track, a lead's photos, the sync badge) and the leader's offline decision.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use redvest_proto::geo::Fix;
use redvest_proto::records::PatrolMode;
use redvest_proto::review::{transition, Action, ReviewState, Reviewer};
use redvest_proto::track::{self, FilterParams, TrackPoint};
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

/// A patrol that has started and not stopped on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivePatrol {
    pub patrol_id: Uuid,
    pub mode: PatrolMode,
    pub paused: bool,
}

/// A stored patrol track ready to draw: the kept points of each segment,
/// simplified for display, and the fixes the filter rejected.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatrolTrack {
    /// One entry per segment; a gap lies between two entries, never inside one.
    pub segments: Vec<Vec<TrackPoint>>,
    /// Rejected fixes with the reason name, such as `low_accuracy`.
    pub rejected: Vec<(TrackPoint, &'static str)>,
}

/// A processed photo of a lead captured on this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPhoto {
    pub sha256: String,
    pub path: PathBuf,
    /// Whether the server holds the whole photo.
    pub sent: bool,
}

/// A submission in the review queue whose review names a decision conflict,
/// or on which a decision from this device lost.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictView {
    pub subject_id: Uuid,
    pub owner_name: String,
    pub state: ReviewState,
    /// Decisions the server kept as conflicts, from any reviewer.
    pub conflicts: Vec<DecisionConflict>,
    /// The server's reason when a decision from this device lost.
    pub own_lost_reason: Option<String>,
}

impl Store {
    /// Returns the members the signed-in reviewer may assign a follow-up to:
    /// their squad for a squad leader, their brigade otherwise, by name.
    pub fn assignable_members(&self) -> Result<Vec<Member>> {
        let conn = self.conn();
        let me = Self::session_member(&conn)?;
        let mut statement = conn.prepare("SELECT json FROM members")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        let mut members = Vec::new();
        for json in rows {
            let member: Member = serde_json::from_str(&json?)?;
            let same_group = match me.squad_id {
                Some(squad) => member.squad_id == Some(squad),
                None => member.brigade_id == me.brigade_id,
            };
            if same_group && member.id != me.id {
                members.push(member);
            }
        }
        members.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(members)
    }

    /// Returns the newest patrol that is recording or paused, if any.
    pub fn active_patrol(&self) -> Result<Option<ActivePatrol>> {
        let conn = self.conn();
        let row: Option<(String, String, String)> = conn
            .query_row(
                "SELECT id, mode, state FROM patrols WHERE state <> 'stopped'
                 ORDER BY started_at DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((id, mode, state)) = row else {
            return Ok(None);
        };
        Ok(Some(ActivePatrol {
            patrol_id: parse_uuid("patrols.id", &id)?,
            mode: serde_json::from_str(&mode)?,
            paused: state == "paused",
        }))
    }

    /// Filters a patrol's stored fixes the way stopping it does and returns
    /// each segment simplified at [`track::figures::DISPLAY_TOLERANCE_M`].
    pub fn patrol_track(&self, patrol_id: Uuid) -> Result<PatrolTrack> {
        let conn = self.conn();
        let (mode, started_at): (String, String) = conn
            .query_row(
                "SELECT mode, started_at FROM patrols WHERE id = ?1",
                [patrol_id.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?
            .ok_or(StoreError::UnknownPatrol(patrol_id))?;
        let mode: PatrolMode = serde_json::from_str(&mode)?;
        let started_at = parse_time("patrols.started_at", &started_at)?;
        let fixes = patrol_fixes(&conn, patrol_id)?;

        let filtered = track::filter(&fixes, started_at, mode, &FilterParams::default());
        let segments = filtered
            .segment_points()
            .iter()
            .map(|points| track::simplify(points, track::figures::DISPLAY_TOLERANCE_M))
            .collect();
        let rejected = filtered
            .rejected
            .iter()
            .map(|(fix, reason)| (TrackPoint::from(fix), reason.as_str()))
            .collect();
        Ok(PatrolTrack { segments, rejected })
    }

    /// Returns the photos of a lead captured here, in capture order.
    pub fn lead_photos(&self, lead_id: Uuid) -> Result<Vec<LocalPhoto>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT p.sha256, p.local_path, p.state FROM lead_photos lp
             JOIN photos p ON p.sha256 = lp.sha256
             WHERE lp.lead_id = ?1 ORDER BY lp.position",
        )?;
        let rows = statement.query_map([lead_id.to_string()], |row| {
            Ok(LocalPhoto {
                sha256: row.get(0)?,
                path: PathBuf::from(row.get::<_, String>(1)?),
                sent: row.get::<_, String>(2)? == "done",
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Returns the queued submissions with a decision conflict, oldest first.
    pub fn review_conflicts(&self) -> Result<Vec<ConflictView>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT q.subject_id, q.owner_name, v.state, v.conflicts,
                    (SELECT d.reason FROM decisions d WHERE d.subject_id = q.subject_id
                     AND d.state = 'conflict' ORDER BY d.id DESC LIMIT 1)
             FROM review_queue q JOIN reviews v ON v.subject_id = q.subject_id
             WHERE v.conflicts <> '[]' OR EXISTS (SELECT 1 FROM decisions d
                   WHERE d.subject_id = q.subject_id AND d.state = 'conflict')
             ORDER BY q.received_at, q.subject_id",
        )?;
        let mut rows = statement.query([])?;
        let mut views = Vec::new();
        while let Some(row) = rows.next()? {
            views.push(conflict_view(row)?);
        }
        Ok(views)
    }
}

fn conflict_view(row: &Row) -> Result<ConflictView> {
    let state: String = row.get(2)?;
    Ok(ConflictView {
        subject_id: parse_uuid("review_queue.subject_id", &row.get::<_, String>(0)?)?,
        owner_name: row.get(1)?,
        state: ReviewState::parse(&state).ok_or(StoreError::Corrupt {
            column: "reviews.state",
            value: state,
        })?,
        conflicts: serde_json::from_str(&row.get::<_, String>(3)?)?,
        own_lost_reason: row.get(4)?,
    })
}

fn patrol_fixes(conn: &Connection, patrol_id: Uuid) -> Result<Vec<Fix>> {
    let mut statement =
        conn.prepare("SELECT fix FROM track_points WHERE patrol_id = ?1 ORDER BY seq")?;
    let rows = statement.query_map([patrol_id.to_string()], |row| row.get::<_, String>(0))?;
    let mut fixes = Vec::new();
    for json in rows {
        fixes.push(serde_json::from_str(&json?)?);
    }
    Ok(fixes)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use redvest_proto::records::{Lead, LeadCategory, PositionSource, RecordBody};
    use redvest_proto::wire::{Change, ChangesResponse, Entity, ReviewInfo, Submission};

    use super::*;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("views.sqlite3")).unwrap();
        (dir, store)
    }

    fn member(name: &str, role: Role, brigade_id: Uuid, squad_id: Option<Uuid>) -> Member {
        Member {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            role,
            brigade_id,
            squad_id,
        }
    }

    fn apply(store: &Store, entities: Vec<Entity>) {
        let changes = entities
            .into_iter()
            .enumerate()
            .map(|(index, entity)| Change {
                seq: index as i64 + 1,
                entity,
            })
            .collect();
        let page = ChangesResponse {
            epoch: Uuid::nil(),
            changes,
            cursor: 100,
            more: false,
        };
        store.apply_changes(&page).unwrap();
    }

    fn submission(conflicts: Vec<DecisionConflict>) -> Submission {
        let owner = Uuid::now_v7();
        let record = Record {
            id: Uuid::now_v7(),
            member_id: owner,
            captured_at: Stamp::now_local(),
            body: RecordBody::Lead(Lead {
                category: LeadCategory::Traffic,
                note: String::new(),
                position: None,
                position_source: PositionSource::Address,
                address: Some("东门".to_owned()),
                photos: vec![],
                patrol_id: None,
            }),
        };
        Submission {
            review: ReviewInfo {
                subject_id: record.id,
                state: ReviewState::Submitted,
                version: 1,
                flags: vec![],
                last_reason: None,
                assignee_id: None,
                conflicts,
            },
            record,
            owner_name: "王芳".to_owned(),
            received_at: Utc::now(),
            photos_total: 0,
            photos_received: 0,
        }
    }

    #[test]
    fn assignable_members_are_own_squad() {
        let (_dir, store) = open();
        let brigade = Uuid::now_v7();
        let squad = Uuid::now_v7();
        let leader = member("中队长", Role::SquadLeader, brigade, Some(squad));
        store.set_session(&leader, "http://127.0.0.1:9").unwrap();
        let mate = member("张伟", Role::Volunteer, brigade, Some(squad));
        let other = member("刘洋", Role::Volunteer, brigade, Some(Uuid::now_v7()));
        apply(
            &store,
            vec![
                Entity::Member(leader.clone()),
                Entity::Member(mate.clone()),
                Entity::Member(other),
            ],
        );

        let members = store.assignable_members().unwrap();

        assert_eq!(members, vec![mate]);
    }

    #[test]
    fn active_patrol_until_stopped() {
        let (_dir, store) = open();
        let me = member(
            "队员",
            Role::Volunteer,
            Uuid::now_v7(),
            Some(Uuid::now_v7()),
        );
        store.set_session(&me, "http://127.0.0.1:9").unwrap();
        let patrol_id = store.start_patrol(PatrolMode::Cycling, None).unwrap();
        store.pause_patrol(patrol_id).unwrap();

        let active = store.active_patrol().unwrap();
        store.stop_patrol(patrol_id).unwrap();

        assert_eq!(
            active,
            Some(ActivePatrol {
                patrol_id,
                mode: PatrolMode::Cycling,
                paused: true
            })
        );
        assert_eq!(store.active_patrol().unwrap(), None);
    }

    #[test]
    fn patrol_track_keeps_gap_between_segments() {
        let (_dir, store) = open();
        let me = member(
            "队员",
            Role::Volunteer,
            Uuid::now_v7(),
            Some(Uuid::now_v7()),
        );
        store.set_session(&me, "http://127.0.0.1:9").unwrap();
        let patrol_id = store.start_patrol(PatrolMode::Walking, None).unwrap();
        let start = Utc::now() + TimeDelta::seconds(5);
        for (second, lat) in (0..10).map(|i| (i * 5, 36.64 + f64::from(i) * 5e-5)) {
            let at = start + TimeDelta::seconds(second.into());
            store
                .record_fix(patrol_id, &Fix::new(lat, 117.97, Some(5.0), at, "gps"))
                .unwrap();
        }
        let late = start + TimeDelta::seconds(600);
        for (index, lat) in (0..10).map(|i: i32| (i, 36.65 + f64::from(i) * 5e-5)) {
            let at = late + TimeDelta::seconds((index * 5).into());
            store
                .record_fix(patrol_id, &Fix::new(lat, 117.97, Some(5.0), at, "gps"))
                .unwrap();
        }
        let poor = Fix::new(
            36.645,
            117.97,
            Some(400.0),
            start + TimeDelta::seconds(7),
            "gps",
        );
        store.record_fix(patrol_id, &poor).unwrap();

        let track = store.patrol_track(patrol_id).unwrap();

        assert_eq!(track.segments.len(), 2);
        assert!(track.segments.iter().all(|segment| segment.len() >= 2));
        assert_eq!(track.rejected.len(), 1);
        assert_eq!(track.rejected[0].1, "low_accuracy");
    }

    #[test]
    fn patrol_track_unknown_patrol() {
        let (_dir, store) = open();

        let error = store.patrol_track(Uuid::now_v7()).unwrap_err();

        assert!(matches!(error, StoreError::UnknownPatrol(_)), "{error}");
    }

    #[test]
    fn lead_photos_of_unknown_lead_empty() {
        let (_dir, store) = open();

        assert!(store.lead_photos(Uuid::now_v7()).unwrap().is_empty());
    }

    #[test]
    fn review_conflicts_lists_named_conflicts() {
        let (_dir, store) = open();
        let leader = member(
            "中队长",
            Role::SquadLeader,
            Uuid::now_v7(),
            Some(Uuid::now_v7()),
        );
        store.set_session(&leader, "http://127.0.0.1:9").unwrap();
        let conflict = DecisionConflict {
            decision_id: Uuid::now_v7(),
            reviewer_id: Uuid::now_v7(),
            reviewer_name: "赵敏".to_owned(),
            action: "reject".to_owned(),
            based_on_version: 1,
            reason: "already approved".to_owned(),
        };
        let with_conflict = submission(vec![conflict.clone()]);
        apply(
            &store,
            vec![
                Entity::Submission(with_conflict.clone()),
                Entity::Submission(submission(vec![])),
            ],
        );

        let views = store.review_conflicts().unwrap();

        assert_eq!(views.len(), 1);
        assert_eq!(views[0].subject_id, with_conflict.record.id);
        assert_eq!(views[0].conflicts, vec![conflict]);
        assert_eq!(views[0].own_lost_reason, None);
    }

    #[test]
    fn review_conflicts_lists_own_lost_decision() {
        let (_dir, store) = open();
        let leader = member(
            "中队长",
            Role::SquadLeader,
            Uuid::now_v7(),
            Some(Uuid::now_v7()),
        );
        store.set_session(&leader, "http://127.0.0.1:9").unwrap();
        let queued = submission(vec![]);
        apply(&store, vec![Entity::Submission(queued.clone())]);
        let decision = store.decide(queued.record.id, Action::Approve).unwrap();
        let outcome = redvest_proto::wire::DecisionOutcome::Conflict {
            reason: "rejected first by 赵敏".to_owned(),
        };
        store.apply_decision_outcome(decision, &outcome).unwrap();

        let views = store.review_conflicts().unwrap();

        assert_eq!(views.len(), 1);
        assert_eq!(
            views[0].own_lost_reason.as_deref(),
            Some("rejected first by 赵敏")
        );
    }
}
