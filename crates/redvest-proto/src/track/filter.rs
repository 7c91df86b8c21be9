//! Filtering of the raw fixes of one patrol: every rejected fix is kept with
//! its reason, the rest are sorted by fix time, split into segments at gaps
//! and measured.
//!
//! The passes run in order. Each fix is first checked on its own (position,
//! mock flag, date, accuracy), then the rest are sorted and deduplicated. A
//! neighbour vote removes isolated wild fixes, and a forward pass removes the
//! remaining excursions without letting one bad fix reject its good
//! neighbours.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::geo::{distance_m, is_valid_position, Fix};
use crate::records::{PatrolMode, PatrolStop};
use crate::track::figures::{measure, Figures};
use crate::track::TrackPoint;

/// A GPS receiver with the week-number rollover bug dates its fixes
/// 1024 weeks (about 19.6 years) in the past.
const ROLLOVER_WEEKS: i64 = 1024;

/// How far from exactly 1024 weeks back a date still counts as a rollover.
const ROLLOVER_TOLERANCE_WEEKS: i64 = 4;

/// Tunable limits of [`filter`]; `Default` gives the values used in the app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterParams {
    /// Fixes whose accuracy radius is worse than this many metres are rejected.
    pub max_accuracy_m: f64,
    /// Accuracy in metres assumed for a fix that reports none, in the speed check.
    pub assumed_accuracy_m: f64,
    /// Sampling interval in seconds; `None` estimates it as the median spacing.
    pub sampling_interval_s: Option<f64>,
    /// A pause between fixes shorter than this many seconds is never a
    /// silence, even when it exceeds twice the sampling interval. Devices that
    /// record less often on straight stretches pause 10–12 s routinely (a
    /// real Garmin walk export did), and rejecting a few 1 s fixes leaves the
    /// same kind of pause.
    pub min_silence_s: f64,
    /// A jump between consecutive kept fixes longer than this starts a new
    /// segment, unless the mode can cover more in two sampling intervals (a
    /// car sampled every 10 s moves further than 200 m between fixes).
    pub max_jump_m: f64,
    /// Below this speed in m/s the member counts as stopped, for moving time.
    pub stop_speed_mps: f64,
    /// How many fixes on each side of a fix vote on whether it is plausible.
    pub vote_window: usize,
    /// A run of this many mutually plausible fixes is kept even when it cannot
    /// be reached from the last kept fix, and starts a new segment.
    pub min_consistent_run: usize,
}

impl Default for FilterParams {
    fn default() -> Self {
        Self {
            max_accuracy_m: 50.0,
            assumed_accuracy_m: 10.0,
            sampling_interval_s: None,
            min_silence_s: 30.0,
            max_jump_m: 200.0,
            stop_speed_mps: 0.3,
            vote_window: 3,
            min_consistent_run: 5,
        }
    }
}

/// Returns the highest plausible speed in m/s for a patrol mode.
///
/// The limits catch position jumps, not fast members, so each sits well above
/// what the mode reaches. 6 m/s (21.6 km/h) lets a walking patroller run to an
/// incident, and 15 m/s (54 km/h) is beyond an e-bike downhill. 50 m/s
/// (180 km/h) is beyond any urban or expressway driving.
pub fn max_speed_mps(mode: PatrolMode) -> f64 {
    match mode {
        PatrolMode::Walking => 6.0,
        PatrolMode::Cycling => 15.0,
        PatrolMode::Vehicle => 50.0,
    }
}

/// Reason a fix was left out of the track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RejectReason {
    /// Latitude or longitude is not finite or out of range.
    InvalidPosition,
    /// The platform marked the fix as coming from a mock provider.
    MockLocation,
    /// Accuracy radius worse than the threshold, or not a valid number.
    LowAccuracy { accuracy_m: f64 },
    /// Dated about 1024 weeks in the past by a receiver's week-number rollover.
    WeekRollover,
    /// Dated before the patrol started: a cached fix from an earlier moment.
    BeforeStart,
    /// Same fix time as a fix already taken.
    Duplicate,
    /// The first fix is implausibly far from the fresh fixes that follow it.
    StaleFirstFix,
    /// Reaching the fix from its neighbours needs a speed the mode cannot reach.
    ImpossibleSpeed { speed_mps: f64 },
}

impl RejectReason {
    /// Returns the snake_case name of the reason, as it appears on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectReason::InvalidPosition => "invalid_position",
            RejectReason::MockLocation => "mock_location",
            RejectReason::LowAccuracy { .. } => "low_accuracy",
            RejectReason::WeekRollover => "week_rollover",
            RejectReason::BeforeStart => "before_start",
            RejectReason::Duplicate => "duplicate",
            RejectReason::StaleFirstFix => "stale_first_fix",
            RejectReason::ImpossibleSpeed { .. } => "impossible_speed",
        }
    }
}

/// Reason a new segment starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum GapReason {
    /// No fix for longer than twice the sampling interval (and than
    /// `FilterParams::min_silence_s`).
    Silence { seconds: f64 },
    /// The position jumped further than the jump limit, or to a run of fixes
    /// that the last kept fix could not reach at a plausible speed.
    Jump { metres: f64 },
}

/// A break between two segments: the track does not know where the member
/// went between `from` and `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// Index into `kept` of the first fix after the gap.
    pub next_index: usize,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: GapReason,
}

/// A run of kept fixes with no gap, `kept[start..end]`, and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start: usize,
    pub end: usize,
    pub figures: Figures,
}

/// The result of [`filter`]: kept fixes in time order, rejected fixes with
/// their reasons, and the segments the kept fixes form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilteredTrack {
    pub kept: Vec<Fix>,
    /// Rejected fixes in fix-time order.
    pub rejected: Vec<(Fix, RejectReason)>,
    pub segments: Vec<Segment>,
    pub gaps: Vec<Gap>,
    /// Sampling interval in seconds used to find silences.
    pub interval_s: f64,
}

impl FilteredTrack {
    /// Returns the geodesic length in metres of all segments, gaps excluded.
    pub fn distance_m(&self) -> f64 {
        self.segments
            .iter()
            .fold(0.0, |sum, s| sum + s.figures.distance_m)
    }

    /// Returns the time in seconds spent moving, summed over segments.
    pub fn moving_s(&self) -> f64 {
        self.segments
            .iter()
            .fold(0.0, |sum, s| sum + s.figures.moving_s)
    }

    /// Returns the seconds from the first to the last kept fix, gaps included.
    pub fn duration_s(&self) -> f64 {
        match (self.kept.first(), self.kept.last()) {
            (Some(first), Some(last)) => seconds_between(first.at, last.at),
            _ => 0.0,
        }
    }

    /// Tells whether the track has gaps, listed with their reasons in `gaps`.
    pub fn is_incomplete(&self) -> bool {
        !self.gaps.is_empty()
    }

    /// Returns the kept points grouped by segment, for export and encoding.
    pub fn segment_points(&self) -> Vec<Vec<TrackPoint>> {
        self.segments
            .iter()
            .map(|s| {
                self.kept[s.start..s.end]
                    .iter()
                    .map(TrackPoint::from)
                    .collect()
            })
            .collect()
    }

    /// Counts rejected fixes by reason name.
    pub fn rejected_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for (_, reason) in &self.rejected {
            *counts.entry(reason.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// Builds the patrol-stop record body from the figures of this track.
    pub fn patrol_stop(&self, patrol_id: Uuid, chunks: u32) -> PatrolStop {
        PatrolStop {
            patrol_id,
            distance_m: self.distance_m(),
            moving_s: self.moving_s().round() as i64,
            duration_s: self.duration_s().round() as i64,
            points_kept: u32::try_from(self.kept.len()).unwrap_or(u32::MAX),
            points_rejected: u32::try_from(self.rejected.len()).unwrap_or(u32::MAX),
            segments: u32::try_from(self.segments.len()).unwrap_or(u32::MAX),
            incomplete: self.is_incomplete(),
            chunks,
        }
    }
}

/// Filters the raw fixes of a patrol that started at `started_at`.
///
/// Fixes may arrive in any order and more than once: the kept fixes come out
/// sorted by fix time with each fix time at most once. Every input fix ends
/// up either in `kept` or in `rejected`.
pub fn filter(
    fixes: &[Fix],
    started_at: DateTime<Utc>,
    mode: PatrolMode,
    params: &FilterParams,
) -> FilteredTrack {
    let mut rejected = Vec::new();
    let limit = SpeedLimit {
        max_mps: max_speed_mps(mode),
        assumed_accuracy_m: params.assumed_accuracy_m,
    };

    let screened = screen_each(fixes, started_at, params, &mut rejected);
    let sorted = sort_and_dedupe(screened, &mut rejected);
    let voted = vote_out_outliers(sorted, &limit, params.vote_window, &mut rejected);
    let (kept, forced_breaks) =
        drop_excursions(voted, &limit, params.min_consistent_run, &mut rejected);

    let interval_s = params
        .sampling_interval_s
        .unwrap_or_else(|| median_spacing_s(&kept));
    let jump_limit_m = params.max_jump_m.max(2.0 * limit.max_mps * interval_s);
    let silence_s = (2.0 * interval_s).max(params.min_silence_s);
    let gaps = find_gaps(&kept, silence_s, &forced_breaks, jump_limit_m);
    let segments = build_segments(&kept, &gaps, params.stop_speed_mps);
    rejected.sort_by_key(|(fix, _)| fix.at);

    FilteredTrack {
        kept,
        rejected,
        segments,
        gaps,
        interval_s,
    }
}

/// The speed check shared by the vote and the forward pass.
struct SpeedLimit {
    max_mps: f64,
    assumed_accuracy_m: f64,
}

impl SpeedLimit {
    /// Returns the speed needed to get from `a` to `b` once both accuracy
    /// radii are subtracted from the distance, so noise alone never trips it.
    fn implied_speed(&self, a: &Fix, b: &Fix) -> f64 {
        let slack = self.accuracy(a) + self.accuracy(b);
        let excess = (distance_m((a.lat, a.lon), (b.lat, b.lon)) - slack).max(0.0);
        let dt = seconds_between(a.at, b.at).abs();
        if dt == 0.0 {
            return if excess > 0.0 { f64::INFINITY } else { 0.0 };
        }
        excess / dt
    }

    fn is_plausible(&self, a: &Fix, b: &Fix) -> bool {
        self.implied_speed(a, b) <= self.max_mps
    }

    fn accuracy(&self, fix: &Fix) -> f64 {
        fix.accuracy_m.unwrap_or(self.assumed_accuracy_m)
    }
}

fn screen_each(
    fixes: &[Fix],
    started_at: DateTime<Utc>,
    params: &FilterParams,
    rejected: &mut Vec<(Fix, RejectReason)>,
) -> Vec<Fix> {
    let mut passed = Vec::with_capacity(fixes.len());
    for fix in fixes {
        match screen(fix, started_at, params.max_accuracy_m) {
            Some(reason) => rejected.push((fix.clone(), reason)),
            None => passed.push(fix.clone()),
        }
    }
    passed
}

/// Checks one fix on its own, without looking at its neighbours.
fn screen(fix: &Fix, started_at: DateTime<Utc>, max_accuracy_m: f64) -> Option<RejectReason> {
    if !is_valid_position(fix.lat, fix.lon) {
        return Some(RejectReason::InvalidPosition);
    }
    if fix.mock {
        return Some(RejectReason::MockLocation);
    }
    if is_week_rollover(fix.at, started_at) {
        return Some(RejectReason::WeekRollover);
    }
    if fix.at < started_at {
        return Some(RejectReason::BeforeStart);
    }
    match fix.accuracy_m {
        Some(accuracy_m) if !(0.0..=max_accuracy_m).contains(&accuracy_m) => {
            Some(RejectReason::LowAccuracy { accuracy_m })
        }
        _ => None,
    }
}

/// Tells whether `at` lies about 1024 weeks before the patrol start.
pub fn is_week_rollover(at: DateTime<Utc>, started_at: DateTime<Utc>) -> bool {
    let age_weeks = (started_at - at).num_weeks();
    (age_weeks - ROLLOVER_WEEKS).abs() <= ROLLOVER_TOLERANCE_WEEKS
}

/// Sorts by fix time, keeping arrival order among equal times, and rejects
/// every fix whose time was already taken.
fn sort_and_dedupe(mut fixes: Vec<Fix>, rejected: &mut Vec<(Fix, RejectReason)>) -> Vec<Fix> {
    fixes.sort_by_key(|fix| fix.at);
    let mut unique: Vec<Fix> = Vec::with_capacity(fixes.len());
    for fix in fixes {
        if unique.last().is_some_and(|last| last.at == fix.at) {
            rejected.push((fix, RejectReason::Duplicate));
            continue;
        }
        unique.push(fix);
    }
    unique
}

/// Rejects each fix that fewer than half of its neighbours (up to `window`
/// on each side) can reach at a plausible speed.
///
/// All votes are counted on the same input before anything is removed, so a
/// wild fix costs its neighbours one vote each and never their place.
fn vote_out_outliers(
    fixes: Vec<Fix>,
    limit: &SpeedLimit,
    window: usize,
    rejected: &mut Vec<(Fix, RejectReason)>,
) -> Vec<Fix> {
    let outliers: Vec<bool> = (0..fixes.len())
        .map(|i| is_outvoted(&fixes, i, limit, window))
        .collect();

    let mut kept = Vec::with_capacity(fixes.len());
    for (i, fix) in fixes.iter().enumerate() {
        if !outliers[i] {
            kept.push(fix.clone());
            continue;
        }
        let reason = if i == 0 {
            RejectReason::StaleFirstFix
        } else {
            let speed_mps = limit.implied_speed(&fixes[i - 1], fix);
            RejectReason::ImpossibleSpeed { speed_mps }
        };
        rejected.push((fix.clone(), reason));
    }
    kept
}

fn is_outvoted(fixes: &[Fix], i: usize, limit: &SpeedLimit, window: usize) -> bool {
    let first = i.saturating_sub(window);
    let last = (i + window).min(fixes.len().saturating_sub(1));
    let neighbours = (first..=last).filter(|&j| j != i);

    let (mut votes, mut plausible) = (0, 0);
    for j in neighbours {
        votes += 1;
        if limit.is_plausible(&fixes[j], &fixes[i]) {
            plausible += 1;
        }
    }
    plausible * 2 < votes
}

/// Walks forward from the last kept fix and rejects excursions it cannot
/// reach. An excursion that grows into `min_run` mutually plausible fixes is
/// kept instead, because then the earlier fixes may be the wrong ones; its
/// first index is returned as a forced segment break.
fn drop_excursions(
    fixes: Vec<Fix>,
    limit: &SpeedLimit,
    min_run: usize,
    rejected: &mut Vec<(Fix, RejectReason)>,
) -> (Vec<Fix>, Vec<usize>) {
    let mut kept: Vec<Fix> = Vec::with_capacity(fixes.len());
    let mut pending: Vec<(Fix, f64)> = Vec::new();
    let mut breaks = Vec::new();

    for fix in fixes {
        let Some(last) = kept.last() else {
            kept.push(fix);
            continue;
        };
        let speed_mps = limit.implied_speed(last, &fix);
        if speed_mps <= limit.max_mps {
            reject_pending(&mut pending, rejected);
            kept.push(fix);
            continue;
        }
        let continues_run = pending
            .last()
            .is_none_or(|(tail, _)| limit.is_plausible(tail, &fix));
        if !continues_run {
            reject_pending(&mut pending, rejected);
        }
        pending.push((fix, speed_mps));
        if pending.len() >= min_run.max(1) {
            breaks.push(kept.len());
            kept.extend(pending.drain(..).map(|(fix, _)| fix));
        }
    }
    reject_pending(&mut pending, rejected);
    (kept, breaks)
}

fn reject_pending(pending: &mut Vec<(Fix, f64)>, rejected: &mut Vec<(Fix, RejectReason)>) {
    for (fix, speed_mps) in pending.drain(..) {
        rejected.push((fix, RejectReason::ImpossibleSpeed { speed_mps }));
    }
}

/// Returns the median spacing in seconds between consecutive fixes, or
/// infinity when there are fewer than two fixes (so nothing is a silence).
pub fn median_spacing_s(fixes: &[Fix]) -> f64 {
    let mut spacings: Vec<f64> = fixes
        .windows(2)
        .map(|pair| seconds_between(pair[0].at, pair[1].at))
        .collect();
    if spacings.is_empty() {
        return f64::INFINITY;
    }
    spacings.sort_by(f64::total_cmp);
    spacings[spacings.len() / 2]
}

fn find_gaps(kept: &[Fix], silence_s: f64, forced_breaks: &[usize], max_jump_m: f64) -> Vec<Gap> {
    let mut gaps = Vec::new();
    for next_index in 1..kept.len() {
        let (before, after) = (&kept[next_index - 1], &kept[next_index]);
        let seconds = seconds_between(before.at, after.at);
        let metres = distance_m((before.lat, before.lon), (after.lat, after.lon));

        let reason = if seconds > silence_s {
            GapReason::Silence { seconds }
        } else if metres > max_jump_m || forced_breaks.contains(&next_index) {
            GapReason::Jump { metres }
        } else {
            continue;
        };
        gaps.push(Gap {
            next_index,
            from: before.at,
            to: after.at,
            reason,
        });
    }
    gaps
}

fn build_segments(kept: &[Fix], gaps: &[Gap], stop_speed_mps: f64) -> Vec<Segment> {
    if kept.is_empty() {
        return Vec::new();
    }
    let mut bounds: Vec<usize> = vec![0];
    bounds.extend(gaps.iter().map(|gap| gap.next_index));
    bounds.push(kept.len());

    bounds
        .windows(2)
        .map(|pair| Segment {
            start: pair[0],
            end: pair[1],
            figures: measure(&kept[pair[0]..pair[1]], stop_speed_mps),
        })
        .collect()
}

/// Returns the signed seconds from `from` to `to`, at millisecond resolution.
pub(crate) fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let delta: TimeDelta = to - from;
    delta.num_milliseconds() as f64 / 1000.0
}
