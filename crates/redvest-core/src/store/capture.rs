//! Capture calls: clock-in and clock-out, patrols with their fixes, and
//! leads. Each call that creates a record writes the domain row, the
//! canonical record and its outbox entry in one transaction.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use redvest_proto::duty;
use redvest_proto::geo::Fix;
use redvest_proto::records::{
    ClockIn, ClockOut, Lead, LeadCategory, Monotonic, PatrolMode, PatrolStart, PatrolStop,
    PhotoRef, PositionSource, TrackChunk,
};
use redvest_proto::{Record, RecordBody, Stamp};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use tracing::info;
use uuid::Uuid;

use super::{check_position, parse_time, parse_uuid, rules, Store};
use crate::error::{Result, StoreError};

/// The instant verdict of a clock-in, computed on the phone; the server's
/// judgement arrives later as the submission's review flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalVerdict {
    /// Metres from the fix to the fence (0 inside), absent without a fix.
    pub distance_m: Option<f64>,
    /// Machine codes such as `outside_fence` or `stale_fix`.
    pub flags: Vec<String>,
}

impl LocalVerdict {
    /// Tells whether no rule was broken, so no review is expected.
    pub fn is_clean(&self) -> bool {
        self.flags.is_empty()
    }
}

/// The result of a clock-in: the shift and the local verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockInReceipt {
    /// The id of the clock-in record, which is also the shift id.
    pub shift_id: Uuid,
    pub site_name: String,
    pub verdict: LocalVerdict,
}

/// The shift a member is on, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenShift {
    pub shift_id: Uuid,
    pub site_id: Uuid,
    pub clock_in_at: chrono::DateTime<chrono::Utc>,
}

/// A photo of a lead draft: already processed by the photo pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadPhoto {
    pub photo: PhotoRef,
    /// Path of the processed file on the phone.
    pub path: PathBuf,
}

/// A lead as the capture screen hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadDraft {
    pub category: LeadCategory,
    pub note: String,
    pub position: Option<Fix>,
    pub position_source: PositionSource,
    pub address: Option<String>,
    pub photos: Vec<LeadPhoto>,
    pub patrol_id: Option<Uuid>,
}

/// The figures of a stopped patrol.
#[derive(Debug, Clone, PartialEq)]
pub struct PatrolSummary {
    pub patrol_id: Uuid,
    pub stop_record_id: Uuid,
    pub stop: PatrolStop,
}

impl Store {
    /// Returns the member's open shift, if they are on duty.
    pub fn open_shift(&self) -> Result<Option<OpenShift>> {
        open_shift(&self.conn())
    }

    /// Clocks the signed-in member in at a site and returns the local verdict.
    /// A clock-in that breaks a rule is still stored and sent, flagged.
    pub fn clock_in(
        &self,
        site_id: Uuid,
        fix: Option<Fix>,
        fix_requested_at: Option<Stamp>,
        monotonic: Option<Monotonic>,
    ) -> Result<ClockInReceipt> {
        if let Some(fix) = &fix {
            check_position(fix.lat, fix.lon)?;
        }

        let receipt = self.write(|tx| {
            let member = Self::session_member(tx)?;
            let site = Self::site(tx, site_id)?;
            if let Some(open) = open_shift(tx)? {
                return Err(StoreError::ShiftAlreadyOpen(open.shift_id));
            }

            let device_time = Stamp::now_local();
            let (distance_m, flags) =
                rules::judge_clock_in(&site, fix.as_ref(), fix_requested_at, device_time);
            let verdict = LocalVerdict { distance_m, flags };
            let body = RecordBody::ClockIn(ClockIn {
                site_id,
                fix,
                fix_requested_at,
                monotonic,
            });
            let record = Record {
                id: Uuid::now_v7(),
                member_id: member.id,
                captured_at: device_time,
                body,
            };
            insert_record(tx, &record)?;
            tx.execute(
                "INSERT INTO shifts (id, site_id, clock_in_at, verdict) VALUES (?1, ?2, ?3, ?4)",
                params![
                    record.id.to_string(),
                    site_id.to_string(),
                    record.captured_at.utc.to_rfc3339(),
                    serde_json::to_string(&verdict)?
                ],
            )?;
            Ok(ClockInReceipt {
                shift_id: record.id,
                site_name: site.name,
                verdict,
            })
        })?;
        info!(shift_id = %receipt.shift_id, %site_id, flags = ?receipt.verdict.flags, "clocked in");
        Ok(receipt)
    }

    /// Clocks the member out of their open shift and returns the record id.
    pub fn clock_out(&self, auto_closed: bool, fix: Option<Fix>) -> Result<Uuid> {
        self.clock_out_with(fix, None, auto_closed, None)
    }

    /// Clocks out with a monotonic reading, so a shift that starts and ends
    /// in the same boot is measured by the monotonic clock, not wall time.
    pub fn clock_out_monotonic(
        &self,
        fix: Option<Fix>,
        monotonic: Option<Monotonic>,
    ) -> Result<Uuid> {
        self.clock_out_with(fix, monotonic, false, None)
    }

    /// Closes the open shift if its duty window plus grace has ended by
    /// `now`, dating the clock-out at that end and marking it auto-closed.
    /// Returns the clock-out record id when a shift was closed.
    pub fn close_overdue_shift(&self, now: DateTime<Utc>) -> Result<Option<Uuid>> {
        let Some(shift) = self.open_shift()? else {
            return Ok(None);
        };
        let site = Self::site(&self.conn(), shift.site_id)?;
        let Some(closes_at) = duty::auto_close_at(&site, shift.clock_in_at) else {
            return Ok(None);
        };
        if closes_at > now {
            return Ok(None);
        }

        let offset_min = Stamp::now_local().offset_min;
        let at = Stamp {
            utc: closes_at,
            offset_min,
        };
        self.clock_out_with(None, None, true, Some(at)).map(Some)
    }

    fn clock_out_with(
        &self,
        fix: Option<Fix>,
        monotonic: Option<Monotonic>,
        auto_closed: bool,
        at: Option<Stamp>,
    ) -> Result<Uuid> {
        if let Some(fix) = &fix {
            check_position(fix.lat, fix.lon)?;
        }

        let (shift_id, record_id) = self.write(|tx| {
            let member = Self::session_member(tx)?;
            let shift = open_shift(tx)?.ok_or(StoreError::NoOpenShift)?;
            let body = RecordBody::ClockOut(ClockOut {
                shift_id: shift.shift_id,
                fix,
                monotonic,
                auto_closed,
            });
            let mut record = new_record(member.id, body);
            if let Some(at) = at {
                record.captured_at = at;
            }
            insert_record(tx, &record)?;
            tx.execute(
                "UPDATE shifts SET clock_out_id = ?1, clock_out_at = ?2, auto_closed = ?3 WHERE id = ?4",
                params![
                    record.id.to_string(),
                    record.captured_at.utc.to_rfc3339(),
                    auto_closed,
                    shift.shift_id.to_string()
                ],
            )?;
            Ok((shift.shift_id, record.id))
        })?;
        info!(%shift_id, %record_id, auto_closed, "clocked out");
        Ok(record_id)
    }

    /// Starts (or joins, with `team_patrol_id`) a patrol and returns its id.
    pub fn start_patrol(&self, mode: PatrolMode, team_patrol_id: Option<Uuid>) -> Result<Uuid> {
        let patrol_id = Uuid::now_v7();
        self.write(|tx| {
            let member = Self::session_member(tx)?;
            let record = new_record(
                member.id,
                RecordBody::PatrolStart(PatrolStart {
                    patrol_id,
                    mode,
                    team_patrol_id,
                }),
            );
            insert_record(tx, &record)?;
            tx.execute(
                "INSERT INTO patrols (id, start_record_id, mode, team_patrol_id, state, started_at)
                 VALUES (?1, ?2, ?3, ?4, 'recording', ?5)",
                params![
                    patrol_id.to_string(),
                    record.id.to_string(),
                    serde_json::to_string(&mode)?,
                    team_patrol_id.map(|id| id.to_string()),
                    record.captured_at.utc.to_rfc3339(),
                ],
            )?;
            Ok(())
        })?;
        info!(%patrol_id, ?mode, "patrol started");
        Ok(patrol_id)
    }

    /// Stores one fix of a recording patrol, in its own small transaction so
    /// a crash loses at most the fix being written.
    pub fn record_fix(&self, patrol_id: Uuid, fix: &Fix) -> Result<()> {
        check_position(fix.lat, fix.lon)?;

        self.write(|tx| {
            let (state, segment) = patrol_state(tx, patrol_id)?;
            if state != "recording" {
                let fix = if state == "stopped" { "start a new patrol" } else { "resume it first" };
                return Err(StoreError::PatrolState { id: patrol_id, state: state_name(&state), fix });
            }
            tx.execute(
                "INSERT INTO track_points (patrol_id, seq, segment, fix)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM track_points WHERE patrol_id = ?1), ?2, ?3)",
                params![patrol_id.to_string(), segment, serde_json::to_string(fix)?],
            )?;
            Ok(())
        })
    }

    /// Pauses a recording patrol; fixes are refused until it resumes.
    pub fn pause_patrol(&self, patrol_id: Uuid) -> Result<()> {
        self.set_patrol_state(patrol_id, "recording", "paused", 0)?;
        info!(%patrol_id, "patrol paused");
        Ok(())
    }

    /// Resumes a paused patrol in a new segment, so the pause shows as a gap.
    pub fn resume_patrol(&self, patrol_id: Uuid) -> Result<()> {
        self.set_patrol_state(patrol_id, "paused", "recording", 1)?;
        info!(%patrol_id, "patrol resumed");
        Ok(())
    }

    fn set_patrol_state(
        &self,
        patrol_id: Uuid,
        from: &str,
        to: &str,
        segment_step: i64,
    ) -> Result<()> {
        self.write(|tx| {
            let (state, _) = patrol_state(tx, patrol_id)?;
            if state != from {
                let fix = if state == "stopped" {
                    "start a new patrol"
                } else {
                    "nothing to change"
                };
                return Err(StoreError::PatrolState {
                    id: patrol_id,
                    state: state_name(&state),
                    fix,
                });
            }
            tx.execute(
                "UPDATE patrols SET state = ?1, segment = segment + ?2 WHERE id = ?3",
                params![to, segment_step, patrol_id.to_string()],
            )?;
            Ok(())
        })
    }

    /// Stops a patrol: filters its track, writes the track chunks and the
    /// stop record with their outbox entries, and returns the figures.
    pub fn stop_patrol(&self, patrol_id: Uuid) -> Result<PatrolSummary> {
        let summary = self.write(|tx| {
            let member = Self::session_member(tx)?;
            let (state, _) = patrol_state(tx, patrol_id)?;
            if state == "stopped" {
                return Err(StoreError::PatrolState { id: patrol_id, state: "stopped", fix: "start a new patrol" });
            }

            let (mode_json, started_at): (String, String) = tx.query_row(
                "SELECT mode, started_at FROM patrols WHERE id = ?1",
                [patrol_id.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let mode: PatrolMode = serde_json::from_str(&mode_json)?;
            let started_at = parse_time("patrols.started_at", &started_at)?;
            let track = rules::filter_track(patrol_id, mode, started_at, &track_fixes(tx, patrol_id)?);
            for (index, (points, data)) in track.chunks.into_iter().enumerate() {
                let chunk = TrackChunk { patrol_id, index: index as u32, points, data };
                insert_record(tx, &new_record(member.id, RecordBody::TrackChunk(chunk)))?;
            }

            let stop_record = new_record(member.id, RecordBody::PatrolStop(track.stop.clone()));
            insert_record(tx, &stop_record)?;
            tx.execute(
                "UPDATE patrols SET state = 'stopped', stop_record_id = ?1, summary = ?2 WHERE id = ?3",
                params![stop_record.id.to_string(), serde_json::to_string(&track.stop)?, patrol_id.to_string()],
            )?;
            Ok(PatrolSummary { patrol_id, stop_record_id: stop_record.id, stop: track.stop })
        })?;
        info!(%patrol_id, points = summary.stop.points_kept, chunks = summary.stop.chunks, "patrol stopped");
        Ok(summary)
    }

    /// Stores a lead with its photos and queues the record and one upload
    /// per photo. Returns the lead's record id.
    pub fn capture_lead(&self, draft: LeadDraft) -> Result<Uuid> {
        check_lead_draft(&draft)?;

        let lead_id = self.write(|tx| insert_lead(tx, &draft))?;
        info!(%lead_id, photos = draft.photos.len(), "lead captured");
        Ok(lead_id)
    }
}

/// Writes a checked lead as the signed-in member: its record, its `leads`
/// row and its photos, each queued. Returns the lead's record id.
pub(super) fn insert_lead(tx: &Transaction, draft: &LeadDraft) -> Result<Uuid> {
    let member = Store::session_member(tx)?;
    let lead = Lead {
        category: draft.category,
        note: draft.note.trim().to_owned(),
        position: draft.position.clone(),
        position_source: draft.position_source,
        address: draft.address.clone(),
        photos: draft
            .photos
            .iter()
            .map(|photo| photo.photo.clone())
            .collect(),
        patrol_id: draft.patrol_id,
    };
    let record = new_record(member.id, RecordBody::Lead(lead));
    insert_record(tx, &record)?;
    tx.execute(
        "INSERT INTO leads (id, category, patrol_id, captured_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            record.id.to_string(),
            serde_json::to_string(&draft.category)?,
            draft.patrol_id.map(|id| id.to_string()),
            record.captured_at.utc.to_rfc3339()
        ],
    )?;
    for (position, photo) in draft.photos.iter().enumerate() {
        insert_lead_photo(tx, record.id, position, photo)?;
    }
    Ok(record.id)
}

pub(super) fn check_lead_draft(draft: &LeadDraft) -> Result<()> {
    if let Some(fix) = &draft.position {
        check_position(fix.lat, fix.lon)?;
    }
    let has_address = draft
        .address
        .as_deref()
        .is_some_and(|address| !address.trim().is_empty());
    if draft.position.is_none() && !has_address {
        return Err(StoreError::LeadWithoutPlace);
    }
    for photo in &draft.photos {
        if !photo.path.is_file() {
            return Err(StoreError::MissingPhotoFile {
                sha256: photo.photo.sha256.clone(),
                path: photo.path.display().to_string(),
            });
        }
    }
    Ok(())
}

fn insert_lead_photo(
    tx: &Transaction,
    lead_id: Uuid,
    position: usize,
    photo: &LeadPhoto,
) -> Result<()> {
    let sha256 = &photo.photo.sha256;
    tx.execute(
        "INSERT OR IGNORE INTO photos (sha256, local_path, bytes) VALUES (?1, ?2, ?3)",
        params![
            sha256,
            photo.path.display().to_string(),
            photo.photo.bytes as i64
        ],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO lead_photos (lead_id, sha256, position) VALUES (?1, ?2, ?3)",
        params![lead_id.to_string(), sha256, position as i64],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO outbox (kind, target_id) SELECT 'photo', sha256 FROM photos
         WHERE sha256 = ?1 AND state <> 'done'",
        [sha256],
    )?;
    Ok(())
}

/// Builds a record captured now by `member_id`, with a fresh UUIDv7.
fn new_record(member_id: Uuid, body: RecordBody) -> Record {
    Record {
        id: Uuid::now_v7(),
        member_id,
        captured_at: Stamp::now_local(),
        body,
    }
}

/// Writes the canonical record and queues it for push.
pub(super) fn insert_record(tx: &Transaction, record: &Record) -> Result<()> {
    tx.execute(
        "INSERT INTO records (id, kind, member_id, json, captured_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            record.id.to_string(),
            record.body.kind(),
            record.member_id.to_string(),
            serde_json::to_string(record)?,
            record.captured_at.utc.to_rfc3339()
        ],
    )?;
    tx.execute(
        "INSERT INTO outbox (kind, target_id) VALUES ('record', ?1)",
        [record.id.to_string()],
    )?;
    Ok(())
}

fn open_shift(conn: &Connection) -> Result<Option<OpenShift>> {
    let row: Option<(String, String, String)> = conn
        .query_row(
            // Only the signed-in member's shift: another member may have used this phone.
            "SELECT s.id, s.site_id, s.clock_in_at FROM shifts s
             JOIN records r ON r.id = s.id
             JOIN session_member m ON m.member_id = r.member_id
             WHERE s.clock_out_id IS NULL ORDER BY s.clock_in_at DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((id, site_id, at)) = row else {
        return Ok(None);
    };
    Ok(Some(OpenShift {
        shift_id: parse_uuid("shifts.id", &id)?,
        site_id: parse_uuid("shifts.site_id", &site_id)?,
        clock_in_at: parse_time("shifts.clock_in_at", &at)?,
    }))
}

fn patrol_state(conn: &Connection, patrol_id: Uuid) -> Result<(String, i64)> {
    conn.query_row(
        "SELECT state, segment FROM patrols WHERE id = ?1",
        [patrol_id.to_string()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()?
    .ok_or(StoreError::UnknownPatrol(patrol_id))
}

fn track_fixes(conn: &Connection, patrol_id: Uuid) -> Result<Vec<Fix>> {
    let mut statement =
        conn.prepare("SELECT fix FROM track_points WHERE patrol_id = ?1 ORDER BY seq")?;
    let rows = statement.query_map([patrol_id.to_string()], |row| row.get::<_, String>(0))?;
    let mut fixes = Vec::new();
    for json in rows {
        fixes.push(serde_json::from_str(&json?)?);
    }
    Ok(fixes)
}

fn state_name(state: &str) -> &'static str {
    match state {
        "recording" => "recording",
        "paused" => "paused",
        _ => "stopped",
    }
}
