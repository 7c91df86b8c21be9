//! Duty days and duty windows of a site in its own IANA time zone: which
//! windows apply on a local date (weekday windows, minus holidays, plus
//! make-up working days) and how a local clock-in time falls against them.
//!
//! A window `start..end` with grace `before` and `after` (minutes) accepts
//! clock-ins from `start - before` to `end + after` as on time. Up to
//! [`JudgeRules::early_limit`] before that span a clock-in is early, up to
//! [`JudgeRules::late_limit`] after it late, and further away it belongs to no
//! window. A shift still open at `end + after` is closed automatically.
//!
//! [`JudgeRules::early_limit`]: super::JudgeRules::early_limit
//! [`JudgeRules::late_limit`]: super::JudgeRules::late_limit

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::geo::is_valid_position;
use crate::wire::{DutyWindow, Fence, Site};

/// The zone a site uses when its own zone name is invalid.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Asia::Shanghai;

/// Timing of a clock-in relative to the window it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowTiming {
    Early,
    OnTime,
    Late,
}

/// The window a clock-in belongs to, on its duty date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyWindowMatch {
    pub window: DutyWindow,
    pub timing: WindowTiming,
    /// Minutes before (early) or after (late) the window with its grace; 0 on time.
    pub minutes_off: i64,
    /// The window's start and end on the duty date, in UTC.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Errors in a site's definition that leave clock-ins impossible to judge.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SiteError {
    #[error("unknown time zone {0:?}: use an IANA name such as \"Asia/Shanghai\"")]
    TimeZone(String),
    #[error("invalid weekday {0}: use 1 (Monday) to 7 (Sunday)")]
    Weekday(u8),
    #[error("duty window {start}–{end} ends before it starts: windows cannot cross midnight")]
    WindowOrder {
        start: chrono::NaiveTime,
        end: chrono::NaiveTime,
    },
    #[error("invalid fence radius {0} m: use a positive radius")]
    Radius(f64),
    #[error("invalid fence position ({lat}, {lon}): use WGS-84 degrees")]
    Position { lat: f64, lon: f64 },
    #[error("fence polygon has {0} vertices: it needs at least 3")]
    TooFewVertices(usize),
    #[error("{0} is both a holiday and a make-up day: keep it in one list")]
    HolidayAndMakeup(NaiveDate),
}

/// Parses the site's time zone name.
pub fn site_time_zone(site: &Site) -> Result<Tz, SiteError> {
    site.time_zone
        .parse::<Tz>()
        .map_err(|_| SiteError::TimeZone(site.time_zone.clone()))
}

/// Returns the site's zone, or Asia/Shanghai when the name is invalid.
/// Sites are checked with [`validate_site`] when they are created.
pub(crate) fn site_time_zone_or_default(site: &Site) -> Tz {
    site_time_zone(site).unwrap_or(DEFAULT_TIME_ZONE)
}

/// Checks a site's zone, fence, windows and calendar.
pub fn validate_site(site: &Site) -> Result<(), SiteError> {
    site_time_zone(site)?;
    validate_fence(&site.fence)?;
    for window in &site.windows {
        validate_window(window)?;
    }
    if let Some(weekday) = site
        .calendar
        .makeup_weekday
        .filter(|day| !(1..=7).contains(day))
    {
        return Err(SiteError::Weekday(weekday));
    }
    let calendar = &site.calendar;
    if let Some(day) = calendar
        .holidays
        .iter()
        .find(|day| calendar.makeup_days.contains(day))
    {
        return Err(SiteError::HolidayAndMakeup(*day));
    }
    Ok(())
}

fn validate_fence(fence: &Fence) -> Result<(), SiteError> {
    let positions: Vec<(f64, f64)> = match fence {
        Fence::Circle { lat, lon, radius_m } => {
            if !(radius_m.is_finite() && *radius_m > 0.0) {
                return Err(SiteError::Radius(*radius_m));
            }
            vec![(*lat, *lon)]
        }
        Fence::Polygon { ring } if ring.len() < 3 => {
            return Err(SiteError::TooFewVertices(ring.len()));
        }
        Fence::Polygon { ring } => ring.clone(),
    };

    match positions
        .into_iter()
        .find(|&(lat, lon)| !is_valid_position(lat, lon))
    {
        Some((lat, lon)) => Err(SiteError::Position { lat, lon }),
        None => Ok(()),
    }
}

fn validate_window(window: &DutyWindow) -> Result<(), SiteError> {
    if !(1..=7).contains(&window.weekday) {
        return Err(SiteError::Weekday(window.weekday));
    }
    if window.start >= window.end {
        return Err(SiteError::WindowOrder {
            start: window.start,
            end: window.end,
        });
    }
    Ok(())
}

/// Lists the duty windows of a local date, sorted by start; empty when the
/// date is no duty day.
///
/// A holiday has none. A make-up working day has the windows of the
/// calendar's `makeup_weekday` (Monday when absent). Any other day has the
/// windows of its own weekday.
pub fn duty_windows_on(site: &Site, date: NaiveDate) -> Vec<DutyWindow> {
    let calendar = &site.calendar;
    if calendar.holidays.contains(&date) {
        return Vec::new();
    }

    let weekday = if calendar.makeup_days.contains(&date) {
        calendar.makeup_weekday.unwrap_or(1)
    } else {
        date.weekday().number_from_monday() as u8
    };
    let mut windows: Vec<DutyWindow> = site
        .windows
        .iter()
        .filter(|window| window.weekday == weekday)
        .cloned()
        .collect();
    windows.sort_by_key(|window| window.start);
    windows
}

/// Finds the window a local clock-in time belongs to: the first window it is
/// on time for, else the one it is least early or late for.
pub(crate) fn match_window(
    site: &Site,
    tz: Tz,
    windows: &[DutyWindow],
    local_time: NaiveDateTime,
    limits: (TimeDelta, TimeDelta),
) -> Option<DutyWindowMatch> {
    windows
        .iter()
        .filter_map(|window| classify(site, tz, window, local_time, limits))
        .min_by_key(|found| found.minutes_off)
}

fn classify(
    site: &Site,
    tz: Tz,
    window: &DutyWindow,
    local_time: NaiveDateTime,
    (early_limit, late_limit): (TimeDelta, TimeDelta),
) -> Option<DutyWindowMatch> {
    let date = local_time.date();
    let start = date.and_time(window.start);
    let end = date.and_time(window.end);
    let open_from = start - TimeDelta::minutes(site.grace_before_min.into());
    let open_until = end + TimeDelta::minutes(site.grace_after_min.into());

    if local_time < open_from - early_limit || local_time > open_until + late_limit {
        return None;
    }

    let (timing, minutes_off) = if local_time < open_from {
        (WindowTiming::Early, minutes_ceil(open_from - local_time))
    } else if local_time > open_until {
        (WindowTiming::Late, minutes_ceil(local_time - open_until))
    } else {
        (WindowTiming::OnTime, 0)
    };

    Some(DutyWindowMatch {
        window: window.clone(),
        timing,
        minutes_off,
        starts_at: local_to_utc(tz, start),
        ends_at: local_to_utc(tz, end),
    })
}

/// Returns when a shift still open should be closed: the end of the window
/// its clock-in belongs to plus the grace after it, or the clock-in itself
/// when that is later. `None` when the clock-in belongs to no window under
/// the default [`JudgeRules`](super::JudgeRules).
pub fn auto_close_at(site: &Site, clock_in: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = site_time_zone_or_default(site);
    let local_time = clock_in.with_timezone(&tz).naive_local();
    let windows = duty_windows_on(site, local_time.date());
    let rules = super::JudgeRules::default();

    let limits = (rules.early_limit, rules.late_limit);
    let found = match_window(site, tz, &windows, local_time, limits)?;
    let closes_at = found.ends_at + TimeDelta::minutes(site.grace_after_min.into());
    Some(closes_at.max(clock_in))
}

fn minutes_ceil(span: TimeDelta) -> i64 {
    (span.num_seconds() + 59) / 60
}

/// Converts a local wall time to UTC. An ambiguous time (clocks turned back)
/// takes the earlier instant; a skipped one (clocks turned forward) takes the
/// instant an hour later.
fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(time) | LocalResult::Ambiguous(time, _) => time.with_timezone(&Utc),
        LocalResult::None => local_to_utc(tz, local + TimeDelta::hours(1)),
    }
}
