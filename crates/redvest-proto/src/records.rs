//! Records a member captures on the phone. Each record is immutable once
//! captured: its id (a client-generated UUIDv7) names exactly one body, and
//! a later event about the same thing (a clock-out, a patrol stop) is a new
//! record that points at the first one.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::geo::Fix;
use crate::time::Stamp;

/// One captured record as it travels from phone to server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: Uuid,
    /// The member who captured it; the server checks it against the token.
    pub member_id: Uuid,
    pub captured_at: Stamp,
    #[serde(flatten)]
    pub body: RecordBody,
}

/// The kinds of records, tagged by `kind` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum RecordBody {
    ClockIn(ClockIn),
    ClockOut(ClockOut),
    PatrolStart(PatrolStart),
    PatrolStop(PatrolStop),
    TrackChunk(TrackChunk),
    Lead(Lead),
}

impl RecordBody {
    /// Returns the wire name of the kind, as stored in the `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordBody::ClockIn(_) => "clock_in",
            RecordBody::ClockOut(_) => "clock_out",
            RecordBody::PatrolStart(_) => "patrol_start",
            RecordBody::PatrolStop(_) => "patrol_stop",
            RecordBody::TrackChunk(_) => "track_chunk",
            RecordBody::Lead(_) => "lead",
        }
    }

    /// Tells whether the record starts a submission that goes through review.
    pub fn is_reviewable(&self) -> bool {
        matches!(
            self,
            RecordBody::ClockIn(_) | RecordBody::Lead(_) | RecordBody::PatrolStop(_)
        )
    }
}

/// A monotonic clock reading, comparable only within one boot of a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monotonic {
    pub boot_id: String,
    pub millis: i64,
}

/// Clocking on at a duty site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockIn {
    pub site_id: Uuid,
    /// The fix used as proof of presence, if the phone had one.
    pub fix: Option<Fix>,
    /// When the app asked the platform for a fix; an older fix is stale.
    pub fix_requested_at: Option<Stamp>,
    pub monotonic: Option<Monotonic>,
}

/// Clocking off; `shift_id` is the id of the clock-in record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockOut {
    pub shift_id: Uuid,
    pub fix: Option<Fix>,
    pub monotonic: Option<Monotonic>,
    /// Set when the app closed the shift at the end of the window plus grace.
    pub auto_closed: bool,
}

/// How a patrol moves, which bounds the plausible speed of a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PatrolMode {
    #[default]
    Walking,
    Cycling,
    Vehicle,
}

/// Starting (or joining) a patrol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatrolStart {
    pub patrol_id: Uuid,
    pub mode: PatrolMode,
    /// Set when the member joins a team patrol another member started.
    pub team_patrol_id: Option<Uuid>,
}

/// Stopping a patrol, with the figures computed from the filtered track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatrolStop {
    pub patrol_id: Uuid,
    pub distance_m: f64,
    pub moving_s: i64,
    pub duration_s: i64,
    pub points_kept: u32,
    pub points_rejected: u32,
    pub segments: u32,
    /// True when the track has gaps, which the app explains to the member.
    pub incomplete: bool,
    pub chunks: u32,
}

/// A chunk of track points in the compact column encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackChunk {
    pub patrol_id: Uuid,
    pub index: u32,
    pub points: u32,
    /// Base64 of the encoded columns.
    pub data: String,
}

/// Categories of a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadCategory {
    FireHazard,
    Traffic,
    PublicOrder,
    Suspicious,
    Dispute,
    NeedsHelp,
    Other,
}

impl LeadCategory {
    pub const ALL: [LeadCategory; 7] = [
        LeadCategory::FireHazard,
        LeadCategory::Traffic,
        LeadCategory::PublicOrder,
        LeadCategory::Suspicious,
        LeadCategory::Dispute,
        LeadCategory::NeedsHelp,
        LeadCategory::Other,
    ];
}

/// Where a lead's position came from, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionSource {
    Fix,
    PhotoExif,
    MapPick,
    /// No position: only a typed address, and the lead is flagged "no GPS".
    Address,
}

/// A photo a record names, by the SHA-256 of its processed bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRef {
    pub sha256: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
}

/// A lead or hazard report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub category: LeadCategory,
    pub note: String,
    /// WGS-84 position, absent when only an address was typed.
    pub position: Option<Fix>,
    pub position_source: PositionSource,
    pub address: Option<String>,
    pub photos: Vec<PhotoRef>,
    /// The patrol the lead was captured on, if any.
    pub patrol_id: Option<Uuid>,
}
