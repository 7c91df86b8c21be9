//! Judging a clock-in at a duty site: one pure function that the phone runs
//! for instant feedback and the server runs again for the final word.
//!
//! A verdict never rejects a clock-in. It states where the member was
//! relative to the fence, which duty window the clock-in belongs to, which
//! clock was trusted, and a list of machine flags. A flagged clock-in is kept
//! and goes to the squad leader. Words for people live in the app's message
//! catalogue, keyed by [`Flag::as_str`].
//!
//! The fence geometry is in [`fence`], calendars and windows in [`calendar`].

pub mod calendar;
pub mod fence;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::geo::Fix;
use crate::records::{Monotonic, Record, RecordBody};
use crate::time::Stamp;
use crate::wire::Site;

pub use calendar::{
    auto_close_at, duty_windows_on, site_time_zone, validate_site, DutyWindowMatch, SiteError,
    WindowTiming,
};
pub use fence::{distance_to_fence_m, Presence};

/// Thresholds of the plausibility checks.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeRules {
    /// A fix whose accuracy radius exceeds this is flagged `poor_accuracy`.
    pub poor_accuracy_m: f64,
    /// A fix older than this at clock-in time is flagged `stale_fix`.
    pub stale_after: TimeDelta,
    /// A device clock further than this from the server clock is flagged `clock_skew`.
    pub max_clock_skew: TimeDelta,
    /// How long before a window and its grace a clock-in still counts as
    /// early for it rather than as outside every window.
    pub early_limit: TimeDelta,
    /// How long after a window and its grace a clock-in still counts as
    /// late for it rather than as outside every window.
    pub late_limit: TimeDelta,
}

impl Default for JudgeRules {
    fn default() -> Self {
        Self {
            poor_accuracy_m: 50.0,
            stale_after: TimeDelta::minutes(2),
            max_clock_skew: TimeDelta::minutes(2),
            early_limit: TimeDelta::minutes(60),
            late_limit: TimeDelta::minutes(60),
        }
    }
}

/// Everything the judge looks at for one clock-in.
#[derive(Debug, Clone, Copy)]
pub struct ClockInFacts<'a> {
    pub site: &'a Site,
    pub fix: Option<&'a Fix>,
    /// When the app asked the platform for a fix.
    pub fix_requested_at: Option<Stamp>,
    /// The device clock at clock-in, with the device's UTC offset.
    pub device_time: Stamp,
    /// The server clock at capture: `None` on the phone. A record pushed at
    /// once may pass its receive time. A record that waited offline must pass
    /// [`server_capture_time`], or the wait is mistaken for clock skew.
    pub received_at: Option<DateTime<Utc>>,
    /// The site of the member's open shift, if they are already on duty.
    pub open_shift_site: Option<Uuid>,
    pub rules: &'a JudgeRules,
}

/// The outcome of judging a clock-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub presence: Presence,
    /// Metres from the fix to the fence edge, 0 inside; `None` without a usable fix.
    pub distance_m: Option<f64>,
    /// Flags in the order of [`Flag::ALL`], without repeats.
    pub flags: Vec<Flag>,
    /// The local date in the site's zone that the clock-in counts for.
    pub duty_date: NaiveDate,
    /// The local wall time in the site's zone that the window was judged at.
    pub local_time: NaiveDateTime,
    pub window: Option<DutyWindowMatch>,
    /// The instant the date and window were taken from: the server's when
    /// the device clock was skewed, the device's otherwise.
    pub trusted_time: DateTime<Utc>,
    /// The device's own reading, kept beside the trusted one.
    pub device_time: DateTime<Utc>,
    /// Server clock minus device clock in seconds, when the server clock is known.
    pub skew_s: Option<i64>,
}

impl Verdict {
    /// Tells whether the clock-in raised no flag and can be accepted without review.
    pub fn is_clean(&self) -> bool {
        self.flags.is_empty()
    }

    /// Returns the flag codes, as stored and sent in `ReviewInfo::flags`.
    pub fn flag_codes(&self) -> Vec<String> {
        self.flags
            .iter()
            .map(|flag| flag.as_str().to_owned())
            .collect()
    }
}

/// A machine code for one thing a reviewer should look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    OutsideFence,
    UncertainPosition,
    PoorAccuracy,
    NoFix,
    StaleFix,
    MockLocation,
    Early,
    Late,
    OutsideWindow,
    NotDutyDay,
    ClockSkew,
    AlreadyOnDuty,
    ClockOutWithoutClockIn,
}

impl Flag {
    pub const ALL: [Flag; 13] = [
        Flag::OutsideFence,
        Flag::UncertainPosition,
        Flag::PoorAccuracy,
        Flag::NoFix,
        Flag::StaleFix,
        Flag::MockLocation,
        Flag::Early,
        Flag::Late,
        Flag::OutsideWindow,
        Flag::NotDutyDay,
        Flag::ClockSkew,
        Flag::AlreadyOnDuty,
        Flag::ClockOutWithoutClockIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::OutsideFence => "outside_fence",
            Flag::UncertainPosition => "uncertain_position",
            Flag::PoorAccuracy => "poor_accuracy",
            Flag::NoFix => "no_fix",
            Flag::StaleFix => "stale_fix",
            Flag::MockLocation => "mock_location",
            Flag::Early => "early",
            Flag::Late => "late",
            Flag::OutsideWindow => "outside_window",
            Flag::NotDutyDay => "not_duty_day",
            Flag::ClockSkew => "clock_skew",
            Flag::AlreadyOnDuty => "already_on_duty",
            Flag::ClockOutWithoutClockIn => "clock_out_without_clock_in",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Flag::ALL.into_iter().find(|flag| flag.as_str() == text)
    }
}

/// Judges a clock-in against the site's fence, windows and calendar, and
/// checks the fix and the clocks for plausibility.
pub fn judge_clock_in(facts: &ClockInFacts) -> Verdict {
    let mut flags = Vec::new();

    let (presence, distance_m) = judge_position(facts, &mut flags);
    judge_freshness(facts, &mut flags);
    let (trusted_time, skew_s) = judge_clocks(facts, &mut flags);

    let tz = calendar::site_time_zone_or_default(facts.site);
    let local_time = trusted_time.with_timezone(&tz).naive_local();
    let window = judge_window(facts, local_time, &mut flags);

    if facts
        .open_shift_site
        .is_some_and(|open| open != facts.site.id)
    {
        flags.push(Flag::AlreadyOnDuty);
    }

    flags.sort();
    flags.dedup();
    Verdict {
        presence,
        distance_m,
        flags,
        duty_date: local_time.date(),
        local_time,
        window,
        trusted_time,
        device_time: facts.device_time.utc,
        skew_s,
    }
}

/// Returns the server-clock instant of a capture that reached the server
/// later: the receive time minus how long the device reports the record waited.
pub fn server_capture_time(
    device_time: DateTime<Utc>,
    device_sent_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
) -> DateTime<Utc> {
    let waited = device_sent_at.signed_duration_since(device_time);
    received_at
        .checked_sub_signed(waited)
        .unwrap_or(received_at)
}

fn judge_position(facts: &ClockInFacts, flags: &mut Vec<Flag>) -> (Presence, Option<f64>) {
    let Some(fix) = facts.fix.filter(|fix| fence::is_usable(fix)) else {
        flags.push(Flag::NoFix);
        return (Presence::NoFix, None);
    };

    let accuracy_m = fence::usable_accuracy_m(fix);
    if accuracy_m.is_none_or(|accuracy| accuracy > facts.rules.poor_accuracy_m) {
        flags.push(Flag::PoorAccuracy);
    }
    if fix.mock {
        flags.push(Flag::MockLocation);
    }

    let distance_m = distance_to_fence_m(&facts.site.fence, fix);
    let presence = fence::presence(distance_m, accuracy_m.unwrap_or(0.0), fix.mock);
    let distance_m = Some(distance_m).filter(|distance| distance.is_finite());
    match presence {
        Presence::Uncertain => flags.push(Flag::UncertainPosition),
        Presence::Outside => flags.push(Flag::OutsideFence),
        Presence::Inside | Presence::NoFix => {}
    }
    (presence, distance_m)
}

fn judge_freshness(facts: &ClockInFacts, flags: &mut Vec<Flag>) {
    let Some(fix) = facts.fix else {
        return;
    };

    let age = facts.device_time.utc - fix.at;
    let before_request = facts
        .fix_requested_at
        .is_some_and(|requested| fix.at < requested.utc);
    if age > facts.rules.stale_after || before_request {
        flags.push(Flag::StaleFix);
    }
}

fn judge_clocks(facts: &ClockInFacts, flags: &mut Vec<Flag>) -> (DateTime<Utc>, Option<i64>) {
    let device = facts.device_time.utc;
    let Some(server) = facts.received_at else {
        return (device, None);
    };

    let skew = server - device;
    if skew.abs() > facts.rules.max_clock_skew {
        flags.push(Flag::ClockSkew);
        return (server, Some(skew.num_seconds()));
    }
    (device, Some(skew.num_seconds()))
}

fn judge_window(
    facts: &ClockInFacts,
    local_time: NaiveDateTime,
    flags: &mut Vec<Flag>,
) -> Option<DutyWindowMatch> {
    let site = facts.site;
    let windows = duty_windows_on(site, local_time.date());
    if windows.is_empty() {
        flags.push(Flag::NotDutyDay);
        return None;
    }

    let tz = calendar::site_time_zone_or_default(site);
    let limits = (facts.rules.early_limit, facts.rules.late_limit);
    let matched = calendar::match_window(site, tz, &windows, local_time, limits);
    match matched.as_ref().map(|found| found.timing) {
        None => flags.push(Flag::OutsideWindow),
        Some(WindowTiming::Early) => flags.push(Flag::Early),
        Some(WindowTiming::Late) => flags.push(Flag::Late),
        Some(WindowTiming::OnTime) => {}
    }
    matched
}

/// Judges a clock-out: flags it when it names no clock-in of the same member.
pub fn judge_clock_out(clock_out: &Record, clock_in: Option<&Record>) -> Vec<Flag> {
    let RecordBody::ClockOut(body) = &clock_out.body else {
        return vec![Flag::ClockOutWithoutClockIn];
    };

    let matches = clock_in.is_some_and(|record| {
        record.id == body.shift_id
            && record.member_id == clock_out.member_id
            && matches!(record.body, RecordBody::ClockIn(_))
    });
    if matches {
        Vec::new()
    } else {
        vec![Flag::ClockOutWithoutClockIn]
    }
}

/// Measures the time on duty between a clock-in and its clock-out.
///
/// The monotonic readings are used when both were taken in the same boot of
/// the device and run forward, because a wall clock can be changed in
/// between. Otherwise the captured wall times are used, and a negative wall
/// span counts as zero.
pub fn duty_duration(clock_in: &Record, clock_out: &Record) -> TimeDelta {
    let monotonic = match (monotonic_of(clock_in), monotonic_of(clock_out)) {
        (Some(start), Some(end)) if start.boot_id == end.boot_id && end.millis >= start.millis => {
            end.millis
                .checked_sub(start.millis)
                .and_then(TimeDelta::try_milliseconds)
        }
        _ => None,
    };
    let wall = clock_out
        .captured_at
        .utc
        .signed_duration_since(clock_in.captured_at.utc);

    monotonic
        .unwrap_or(wall)
        .clamp(TimeDelta::zero(), MAX_SHIFT_DURATION)
}

/// The longest duty a single shift can count for. Readings that imply more
/// (a forged monotonic clock, a clock-out dated years ahead) are capped here
/// so that one bad record cannot inflate a member's duty hours.
pub const MAX_SHIFT_DURATION: TimeDelta = TimeDelta::hours(24);

fn monotonic_of(record: &Record) -> Option<&Monotonic> {
    match &record.body {
        RecordBody::ClockIn(body) => body.monotonic.as_ref(),
        RecordBody::ClockOut(body) => body.monotonic.as_ref(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
