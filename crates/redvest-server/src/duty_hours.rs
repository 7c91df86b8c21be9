//! Duty hours per member and month, computed from shifts the store has
//! already read: which shifts count, how long each lasted and whether it was
//! closed automatically. No I/O happens here.
//!
//! A shift counts for a month when its clock-in's local date in the site's
//! time zone falls in that month. Its length comes from
//! [`duty_duration`]: monotonic time within one boot, wall time otherwise.
//! A clock-out record from the phone takes precedence over the server's
//! auto-close marker, because the phone's record is what the member captured.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use redvest_proto::duty::calendar::DEFAULT_TIME_ZONE;
use redvest_proto::duty::{duty_duration, site_time_zone};
use redvest_proto::records::{ClockOut, RecordBody};
use redvest_proto::wire::{
    DutyHoursResponse, DutyShift, Member, MemberDutyHours, ShiftClosedBy, Site,
};
use redvest_proto::Record;
use uuid::Uuid;

/// The stored facts of one accepted or approved clock-in.
#[derive(Debug, Clone)]
pub struct ShiftFacts {
    pub clock_in: Record,
    /// The earliest clock-out record the member pushed for this shift.
    pub clock_out: Option<Record>,
    /// When the server's sweep closed the shift, if it did.
    pub server_closed_at: Option<DateTime<Utc>>,
    /// The site, deleted or not; `None` when the clock-in names no stored site.
    pub site: Option<Site>,
}

/// Parses a month given as `YYYY-MM` into its first day.
pub fn parse_month(text: &str) -> Option<NaiveDate> {
    let (year, month) = text.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

/// Returns the local date of the clock-in in its site's time zone.
pub fn duty_date(shift: &ShiftFacts) -> NaiveDate {
    let tz = shift
        .site
        .as_ref()
        .and_then(|site| site_time_zone(site).ok())
        .unwrap_or(DEFAULT_TIME_ZONE);
    shift
        .clock_in
        .captured_at
        .utc
        .with_timezone(&tz)
        .date_naive()
}

/// Sums the shifts of `month` per member; every member listed gets a row,
/// also when it has no shift.
pub fn summarize(month: NaiveDate, members: &[Member], shifts: &[ShiftFacts]) -> DutyHoursResponse {
    let mut rows: BTreeMap<Uuid, MemberDutyHours> = members
        .iter()
        .map(|member| (member.id, empty_row(member)))
        .collect();

    for shift in shifts {
        let date = duty_date(shift);
        if (date.year(), date.month()) != (month.year(), month.month()) {
            continue;
        }
        let Some(row) = rows.get_mut(&shift.clock_in.member_id) else {
            continue;
        };
        match counted_shift(shift, date) {
            Some(counted) => add_shift(row, counted),
            None => row.open_shifts += 1,
        }
    }

    let mut members: Vec<MemberDutyHours> = rows.into_values().collect();
    members.sort_by(|a, b| a.name.cmp(&b.name).then(a.member_id.cmp(&b.member_id)));
    DutyHoursResponse {
        month: month.format("%Y-%m").to_string(),
        members,
    }
}

fn empty_row(member: &Member) -> MemberDutyHours {
    MemberDutyHours {
        member_id: member.id,
        name: member.name.clone(),
        squad_id: member.squad_id,
        shifts: 0,
        seconds: 0,
        hours: 0.0,
        auto_closed_shifts: 0,
        open_shifts: 0,
        details: Vec::new(),
    }
}

fn add_shift(row: &mut MemberDutyHours, shift: DutyShift) {
    row.shifts += 1;
    row.seconds += shift.seconds;
    row.hours = (row.seconds as f64 / 36.0).round() / 100.0;
    if shift.auto_closed {
        row.auto_closed_shifts += 1;
    }
    row.details.push(shift);
    row.details.sort_by_key(|detail| detail.clock_in_at);
}

/// Returns the counted shift, or `None` while nothing has closed it.
fn counted_shift(shift: &ShiftFacts, duty_date: NaiveDate) -> Option<DutyShift> {
    let RecordBody::ClockIn(clock_in) = &shift.clock_in.body else {
        return None;
    };
    let (clock_out, closed_by) = match (&shift.clock_out, shift.server_closed_at) {
        (Some(record), _) => (record.clone(), ShiftClosedBy::Phone),
        (None, Some(closed_at)) => (server_clock_out(shift, closed_at), ShiftClosedBy::Server),
        (None, None) => return None,
    };
    let auto_closed = match &clock_out.body {
        RecordBody::ClockOut(body) => body.auto_closed,
        _ => false,
    };

    Some(DutyShift {
        shift_id: shift.clock_in.id,
        site_id: clock_in.site_id,
        duty_date,
        clock_in_at: shift.clock_in.captured_at.utc,
        clock_out_at: clock_out.captured_at.utc,
        seconds: duty_duration(&shift.clock_in, &clock_out).num_seconds(),
        auto_closed,
        closed_by,
    })
}

/// Builds an in-memory clock-out at the server's closing time, so that
/// [`duty_duration`] measures the shift. It has no monotonic reading, so the
/// wall time is used, and it is never stored or sent as a record.
fn server_clock_out(shift: &ShiftFacts, closed_at: DateTime<Utc>) -> Record {
    let mut captured_at = shift.clock_in.captured_at;
    captured_at.utc = closed_at;
    Record {
        id: Uuid::nil(),
        member_id: shift.clock_in.member_id,
        captured_at,
        body: RecordBody::ClockOut(ClockOut {
            shift_id: shift.clock_in.id,
            fix: None,
            monotonic: None,
            auto_closed: true,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_parsing() {
        let cases = [
            ("2026-09", NaiveDate::from_ymd_opt(2026, 9, 1)),
            ("2026-12", NaiveDate::from_ymd_opt(2026, 12, 1)),
            ("2026-13", None),
            ("2026-9", None),
            ("26-09", None),
            ("2026-09-01", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_month(text), expected, "{text:?}");
        }
    }
}
