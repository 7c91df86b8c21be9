//! Requests and responses of the sync API, shared by the phone's sync client
//! and the server so both sides always agree on the shape of every message.
//!
//! Routes (all under `/v1`, bearer token except sign-in and health):
//! `POST /session`, `DELETE /session`, `POST /push`, `GET /changes?after=N`,
//! `PUT /photos/{sha256}`, `POST /decisions`, `PUT /sites/{id}`, `DELETE /sites/{id}`,
//! `GET /duty-hours?month=YYYY-MM`, `GET /health`.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::records::Record;
use crate::review::{Action, ReviewState};
use crate::time::Stamp;

/// A member's role in the alliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Volunteer,
    SquadLeader,
    Brigade,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Volunteer => "volunteer",
            Role::SquadLeader => "squad_leader",
            Role::Brigade => "brigade",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Role::Volunteer, Role::SquadLeader, Role::Brigade]
            .into_iter()
            .find(|role| role.as_str() == text)
    }
}

/// A member as other members and the phone see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub brigade_id: Uuid,
    /// Brigade staff belong to no squad.
    pub squad_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInRequest {
    pub phone: String,
    pub password: String,
    pub device_id: Uuid,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct SignInResponse {
    pub token: String,
    pub member: Member,
    pub epoch: Uuid,
    pub server_time: DateTime<Utc>,
}

impl std::fmt::Debug for SignInResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInResponse")
            .field("token", &"<redacted>")
            .field("member", &self.member)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// A geofence around a duty site, in WGS-84.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Fence {
    Circle {
        lat: f64,
        lon: f64,
        radius_m: f64,
    },
    /// A closed ring of (lat, lon) vertices; concave rings are allowed.
    Polygon {
        ring: Vec<(f64, f64)>,
    },
}

/// A duty window on one weekday, in the site's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyWindow {
    /// ISO weekday: 1 is Monday, 7 is Sunday.
    pub weekday: u8,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// The school calendar a site follows on top of its weekly windows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchoolCalendar {
    /// Days with no duty even though the weekday has windows.
    pub holidays: Vec<NaiveDate>,
    /// Make-up working days: duty with the windows of `makeup_weekday`.
    pub makeup_days: Vec<NaiveDate>,
    /// The weekday whose windows a make-up day uses (Monday when absent).
    pub makeup_weekday: Option<u8>,
}

/// A duty site (a school gate, a square, a market).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: Uuid,
    pub name: String,
    pub fence: Fence,
    /// IANA time zone name, `Asia/Shanghai` by default.
    pub time_zone: String,
    pub windows: Vec<DutyWindow>,
    pub calendar: SchoolCalendar,
    pub grace_before_min: u32,
    pub grace_after_min: u32,
    /// Set on sites created by `seed-demo`.
    pub demo: bool,
}

/// A batch of captured records, numbered by the device.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushRequest {
    pub device_id: Uuid,
    /// The device's push sequence number of this batch.
    pub batch_seq: i64,
    pub records: Vec<Record>,
    /// The device clock when this attempt was sent, so the server can tell
    /// a record that waited offline from a device clock that is wrong.
    #[serde(default)]
    pub sent_at: Option<Stamp>,
}

/// What the server did with one record of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PushOutcome {
    /// Stored durably (now or by an earlier push of the same body).
    Stored { server_seq: i64 },
    /// The id is already stored with a different body; the new body is
    /// kept for review and nothing is overwritten.
    Conflict { reason: String },
    /// The record can never be stored as it is; retrying will not help.
    Rejected { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResult {
    pub id: Uuid,
    #[serde(flatten)]
    pub outcome: PushOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    pub batch_seq: i64,
    pub results: Vec<PushResult>,
}

/// Query of `GET /v1/changes`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ChangesQuery {
    pub after: i64,
    pub limit: Option<u32>,
}

/// One page of changes visible to the caller, in server sequence order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangesResponse {
    /// Identifies the server database; a new epoch means it was restored or replaced.
    pub epoch: Uuid,
    pub changes: Vec<Change>,
    /// The cursor to send next time: the highest sequence in this page.
    pub cursor: i64,
    pub more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub seq: i64,
    #[serde(flatten)]
    pub entity: Entity,
}

/// Something the server tells phones about.
// Boxing the large variant would change a type that the phone and server match on.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "entity", content = "data", rename_all = "snake_case")]
pub enum Entity {
    Site(Site),
    Member(Member),
    /// A reviewable record with its current review, for its owner and reviewers.
    Submission(Submission),
    /// A site or member removed on the server.
    Tombstone {
        kind: String,
        id: Uuid,
    },
}

/// A submission with the state the server gives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Submission {
    pub record: Record,
    pub owner_name: String,
    pub review: ReviewInfo,
    pub received_at: DateTime<Utc>,
    pub photos_total: u32,
    pub photos_received: u32,
}

/// The review state of one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewInfo {
    pub subject_id: Uuid,
    pub state: ReviewState,
    /// Bumped by every applied decision; offline decisions name the version they saw.
    pub version: i64,
    /// Machine codes of the flags the server's judgement raised.
    pub flags: Vec<String>,
    pub last_reason: Option<String>,
    pub assignee_id: Option<Uuid>,
    /// Decisions that arrived after another one had already been applied.
    pub conflicts: Vec<DecisionConflict>,
}

/// A decision the server did not apply because another came first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionConflict {
    pub decision_id: Uuid,
    pub reviewer_id: Uuid,
    pub reviewer_name: String,
    pub action: String,
    pub based_on_version: i64,
    pub reason: String,
}

/// A reviewer's decision, possibly made offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRequest {
    pub id: Uuid,
    pub device_id: Uuid,
    pub subject_id: Uuid,
    pub based_on_version: i64,
    #[serde(flatten)]
    pub action: Action,
    pub decided_at: Stamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DecisionOutcome {
    Applied,
    /// Another decision was applied first; this one is kept as a conflict.
    Conflict {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionResponse {
    pub id: Uuid,
    #[serde(flatten)]
    pub outcome: DecisionOutcome,
    pub review: ReviewInfo,
}

/// How much of a photo the server holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoStatus {
    pub sha256: String,
    pub bytes_received: u64,
    pub complete: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    pub epoch: Uuid,
    pub server_time: DateTime<Utc>,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable machine code such as `unauthorized` or `invalid_request`.
    pub code: String,
    /// A sentence for people, naming the value and the fix where possible.
    pub message: String,
}

/// Query of `GET /v1/duty-hours`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyHoursQuery {
    /// The month as `YYYY-MM`, counted in each site's time zone.
    pub month: String,
    /// Restricts the response to one member the caller may see.
    #[serde(default)]
    pub member: Option<Uuid>,
}

/// Duty hours of every member the caller may see, for one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DutyHoursResponse {
    pub month: String,
    pub members: Vec<MemberDutyHours>,
}

/// One member's duty in a month. Only shifts whose clock-in review is
/// accepted or approved and that have been closed are counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberDutyHours {
    pub member_id: Uuid,
    pub name: String,
    pub squad_id: Option<Uuid>,
    /// Counted shifts.
    pub shifts: u32,
    /// Counted time on duty in seconds.
    pub seconds: i64,
    /// `seconds` in hours, rounded to two decimals.
    pub hours: f64,
    /// Counted shifts that were closed automatically, by the phone or the server.
    pub auto_closed_shifts: u32,
    /// Accepted or approved clock-ins of the month that nothing has closed yet.
    pub open_shifts: u32,
    pub details: Vec<DutyShift>,
}

/// The side that closed a counted shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShiftClosedBy {
    /// A clock-out record from the phone (the member or the app's auto-close).
    Phone,
    /// The server's sweep, because no clock-out arrived after the window ended.
    Server,
}

/// One counted shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DutyShift {
    /// The id of the clock-in record.
    pub shift_id: Uuid,
    pub site_id: Uuid,
    /// The local date of the clock-in in the site's time zone.
    pub duty_date: NaiveDate,
    pub clock_in_at: DateTime<Utc>,
    pub clock_out_at: DateTime<Utc>,
    pub seconds: i64,
    pub auto_closed: bool,
    pub closed_by: ShiftClosedBy,
}
