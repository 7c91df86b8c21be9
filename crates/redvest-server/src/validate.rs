//! Checks of a pushed record that need no storage. A failure is permanent,
//! so the phone receives the reason and stops retrying that record. Checks
//! that need stored data (the clock-in's site exists) live in the store.

use base64::Engine;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use redvest_proto::geo::{is_valid_position, Fix};
use redvest_proto::records::{Lead, Monotonic, PatrolStop, PositionSource, Record, RecordBody};
use uuid::Uuid;

use crate::store::photo_files::{is_sha256_hex, MAX_PHOTO_BYTES};

/// Maximum length of a lead note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Most photos one lead may name.
pub const MAX_LEAD_PHOTOS: usize = 9;
/// Maximum length of a lead's typed address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 500;
/// Maximum length of a fix's provider name, in characters.
pub const MAX_PROVIDER_CHARS: usize = 32;
/// Maximum length of a monotonic reading's boot id, in characters.
pub const MAX_BOOT_ID_CHARS: usize = 64;
/// Largest UTC offset a device may report, in minutes (UTC±18:00 as in ISO 8601).
pub const MAX_OFFSET_MIN: i32 = 18 * 60;
/// How far ahead of the server clock a capture time may lie.
pub const MAX_CAPTURE_AHEAD: TimeDelta = TimeDelta::days(1);

/// The earliest capture time accepted: no record predates the app.
pub fn earliest_capture() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2020, 1, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .expect("2020-01-01 00:00 is a valid date and time")
        .and_utc()
}

/// Returns why a record must be rejected, or `None` when it may be stored.
/// `now` is the server clock, which bounds the capture time.
pub fn rejection(record: &Record, caller_id: Uuid, now: DateTime<Utc>) -> Option<String> {
    if record.member_id != caller_id {
        return Some(format!(
            "member_id {} is not the signed-in member {caller_id}; sign in as the member who \
                captured it",
            record.member_id
        ));
    }
    if record.captured_at.offset_min.abs() > MAX_OFFSET_MIN {
        return Some(format!(
            "captured_at offset {} min is outside ±{MAX_OFFSET_MIN} min",
            record.captured_at.offset_min
        ));
    }
    if let Some(problem) = capture_time_problem(record.captured_at.utc, now) {
        return Some(problem);
    }
    match &record.body {
        RecordBody::ClockIn(clock_in) => fix_problem(clock_in.fix.as_ref())
            .or_else(|| monotonic_problem(clock_in.monotonic.as_ref())),
        RecordBody::ClockOut(clock_out) => fix_problem(clock_out.fix.as_ref())
            .or_else(|| monotonic_problem(clock_out.monotonic.as_ref())),
        RecordBody::PatrolStart(_) => None,
        RecordBody::PatrolStop(stop) => patrol_stop_problem(stop),
        RecordBody::TrackChunk(chunk) => base64_problem(&chunk.data),
        RecordBody::Lead(lead) => lead_problem(lead),
    }
}

/// Rejects capture times before 2020 or more than a day ahead of the
/// server clock, so that later date arithmetic cannot overflow and a forged
/// date cannot stretch a shift.
fn capture_time_problem(captured_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
    let earliest = earliest_capture();
    if captured_at < earliest {
        return Some(format!(
            "captured_at {captured_at} is before {earliest}; set the phone's date and capture \
                again"
        ));
    }
    let latest = now.checked_add_signed(MAX_CAPTURE_AHEAD).unwrap_or(now);
    if captured_at > latest {
        return Some(format!(
            "captured_at {captured_at} is more than 1 day ahead of the server clock {now}; set \
                the phone's date and capture again"
        ));
    }
    None
}

fn monotonic_problem(monotonic: Option<&Monotonic>) -> Option<String> {
    let monotonic = monotonic?;
    if monotonic.millis < 0 {
        return Some(format!(
            "monotonic millis {} is negative; a clock since boot is ≥ 0",
            monotonic.millis
        ));
    }
    too_long("monotonic boot_id", &monotonic.boot_id, MAX_BOOT_ID_CHARS)
}

/// Returns a rejection when `text` has more than `max` characters.
pub fn too_long(name: &str, text: &str, max: usize) -> Option<String> {
    let chars = text.chars().count();
    (chars > max).then(|| format!("{name} has {chars} characters; shorten it to at most {max}"))
}

fn fix_problem(fix: Option<&Fix>) -> Option<String> {
    let fix = fix?;
    if let Some(problem) = too_long("fix provider", &fix.provider, MAX_PROVIDER_CHARS) {
        return Some(problem);
    }
    if !is_valid_position(fix.lat, fix.lon) {
        return Some(format!(
            "position ({}, {}) is not a finite WGS-84 latitude and longitude",
            fix.lat, fix.lon
        ));
    }
    let optional = [
        ("accuracy_m", fix.accuracy_m),
        ("speed_mps", fix.speed_mps),
        ("bearing_deg", fix.bearing_deg),
    ];
    optional
        .into_iter()
        .find(|(_, value)| value.is_some_and(|v| !v.is_finite() || v < 0.0))
        .map(|(name, value)| {
            format!(
                "{name} {} must be a finite number ≥ 0",
                value.unwrap_or_default()
            )
        })
}

fn patrol_stop_problem(stop: &PatrolStop) -> Option<String> {
    if !stop.distance_m.is_finite() || stop.distance_m < 0.0 {
        return Some(format!(
            "patrol distance_m {} must be a finite number ≥ 0",
            stop.distance_m
        ));
    }
    if stop.duration_s < 0 || stop.moving_s < 0 {
        return Some(format!(
            "patrol durations {} s and {} s must be ≥ 0",
            stop.duration_s, stop.moving_s
        ));
    }
    None
}

fn base64_problem(data: &str) -> Option<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    engine
        .decode(data)
        .err()
        .map(|error| format!("track chunk data is not valid base64: {error}"))
}

fn lead_problem(lead: &Lead) -> Option<String> {
    if let Some(problem) = too_long("lead note", &lead.note, MAX_NOTE_CHARS) {
        return Some(problem);
    }
    let address = lead.address.as_deref().unwrap_or_default();
    if let Some(problem) = too_long("lead address", address, MAX_ADDRESS_CHARS) {
        return Some(problem);
    }
    if lead.photos.len() > MAX_LEAD_PHOTOS {
        return Some(format!(
            "lead names {} photos; at most {MAX_LEAD_PHOTOS} are allowed",
            lead.photos.len()
        ));
    }
    if let Some(problem) = lead_position_problem(lead) {
        return Some(problem);
    }
    lead.photos.iter().find_map(|photo| {
        if !is_sha256_hex(&photo.sha256) {
            return Some(format!(
                "photo sha256 {:?} is not 64 lowercase hex digits",
                photo.sha256
            ));
        }
        (photo.bytes > MAX_PHOTO_BYTES).then(|| {
            format!(
                "photo {} has {} bytes; the limit is {MAX_PHOTO_BYTES}",
                photo.sha256, photo.bytes
            )
        })
    })
}

fn lead_position_problem(lead: &Lead) -> Option<String> {
    match (&lead.position, lead.position_source) {
        (None, PositionSource::Address) => {
            let blank = lead
                .address
                .as_deref()
                .is_none_or(|text| text.trim().is_empty());
            blank.then(|| "lead has neither a position nor an address; add one of them".to_owned())
        }
        (None, source) => Some(format!("lead position_source {source:?} needs a position")),
        (Some(fix), _) => fix_problem(Some(fix)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use redvest_proto::records::{LeadCategory, PhotoRef};
    use redvest_proto::Stamp;

    use super::*;

    fn lead_record(member_id: Uuid, lead: Lead) -> Record {
        Record {
            id: Uuid::now_v7(),
            member_id,
            captured_at: Stamp::now_local(),
            body: RecordBody::Lead(lead),
        }
    }

    fn lead() -> Lead {
        Lead {
            category: LeadCategory::FireHazard,
            note: "blocked exit".into(),
            position: Some(Fix::new(36.64, 117.97, Some(8.0), Utc::now(), "gps")),
            position_source: PositionSource::Fix,
            address: None,
            photos: vec![],
            patrol_id: None,
        }
    }

    fn photo(sha256: &str) -> PhotoRef {
        PhotoRef {
            sha256: sha256.into(),
            bytes: 1000,
            width: 10,
            height: 10,
        }
    }

    #[test]
    fn lead_rules() {
        let me = Uuid::now_v7();
        let long_note = Lead {
            note: "字".repeat(2001),
            ..lead()
        };
        let max_note = Lead {
            note: "字".repeat(2000),
            ..lead()
        };
        let ten_photos = Lead {
            photos: (0..10).map(|i| photo(&format!("{i:064x}"))).collect(),
            ..lead()
        };
        let bad_sha = Lead {
            photos: vec![photo("ABC")],
            ..lead()
        };
        let nowhere = Lead {
            position: None,
            position_source: PositionSource::Address,
            ..lead()
        };
        let address_only = Lead {
            address: Some("般阳路 1 号".into()),
            ..nowhere.clone()
        };
        let long_address = Lead {
            address: Some("路".repeat(501)),
            ..lead()
        };
        let mut long_provider = lead();
        long_provider.position.as_mut().unwrap().provider = "g".repeat(33);
        let mut off_planet = lead();
        off_planet.position.as_mut().unwrap().lat = f64::NAN;
        let cases = [
            ("plain", lead(), true),
            ("note 2000 chars", max_note, true),
            ("note 2001 chars", long_note, false),
            ("ten photos", ten_photos, false),
            ("bad sha", bad_sha, false),
            ("no position no address", nowhere, false),
            ("address only", address_only, true),
            ("nan latitude", off_planet, false),
            ("address 501 chars", long_address, false),
            ("provider 33 chars", long_provider, false),
        ];
        for (name, lead, ok) in cases {
            let verdict = rejection(&lead_record(me, lead), me, Utc::now());
            assert_eq!(verdict.is_none(), ok, "{name}: {verdict:?}");
        }
    }

    #[test]
    fn other_member_is_rejected() {
        let record = lead_record(Uuid::now_v7(), lead());

        assert!(rejection(&record, Uuid::now_v7(), Utc::now()).is_some());
    }
}
