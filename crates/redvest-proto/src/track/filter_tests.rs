//! Filter cases on walks generated here: wild fixes, stale starts, arrival
//! order, duplicates, silences and the per-mode speed limits.

use chrono::{DateTime, TimeDelta, Utc};

use crate::geo::{distance_m, Fix};
use crate::records::PatrolMode;
use crate::track::filter::{
    filter, max_speed_mps, FilterParams, FilteredTrack, GapReason, RejectReason,
};

const START_LAT: f64 = 36.6610;
const START_LON: f64 = 117.0210;
const METRES_PER_DEGREE_LAT: f64 = 111_195.0;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z")
        .unwrap()
        .to_utc()
}

/// Returns the position `east_m` east and `north_m` north of the start.
fn offset(east_m: f64, north_m: f64) -> (f64, f64) {
    let lat = START_LAT + north_m / METRES_PER_DEGREE_LAT;
    let lon = START_LON + east_m / (METRES_PER_DEGREE_LAT * START_LAT.to_radians().cos());
    (lat, lon)
}

/// Generates a walk of `seconds` fixes, one per second at 1.25 m/s: east
/// for the first half, then north, with a slight sideways sway.
fn walk(seconds: usize) -> Vec<Fix> {
    let half = seconds / 2;
    (0..seconds)
        .map(|i| {
            let sway = (i as f64 / 20.0).sin() * 0.5;
            let (east, north) = if i < half {
                (i as f64 * 1.25, sway)
            } else {
                (half as f64 * 1.25 + sway, (i - half) as f64 * 1.25)
            };
            let (lat, lon) = offset(east, north);
            Fix::new(
                lat,
                lon,
                Some(5.0),
                start() + TimeDelta::seconds(i as i64),
                "gps",
            )
        })
        .collect()
}

/// Geodesic length of the fixes in the order given, with no filtering.
fn raw_length(fixes: &[Fix]) -> f64 {
    fixes
        .windows(2)
        .map(|pair| distance_m((pair[0].lat, pair[0].lon), (pair[1].lat, pair[1].lon)))
        .sum()
}

fn run(fixes: &[Fix], mode: PatrolMode) -> FilteredTrack {
    filter(fixes, start(), mode, &FilterParams::default())
}

fn reasons(track: &FilteredTrack) -> Vec<&'static str> {
    track
        .rejected
        .iter()
        .map(|(_, reason)| reason.as_str())
        .collect()
}

fn fix_at(position: (f64, f64), at: DateTime<Utc>) -> Fix {
    Fix::new(position.0, position.1, Some(5.0), at, "gps")
}

#[test]
fn generated_walk_is_three_kilometres() {
    let length = raw_length(&walk(2400));

    assert!((length - 3000.0).abs() < 15.0, "length {length}");
}

#[test]
fn clean_walk_keeps_every_fix() {
    let fixes = walk(2400);

    let track = run(&fixes, PatrolMode::Walking);

    assert_eq!(track.kept.len(), 2400);
    assert!(track.rejected.is_empty(), "rejected {:?}", reasons(&track));
    assert_eq!(track.segments.len(), 1);
    assert!(!track.is_incomplete());
    assert_eq!(track.interval_s, 1.0);
}

#[test]
fn null_island_fix_mid_walk() {
    let clean = walk(2400);
    let mut fixes = clean.clone();
    fixes[1200].lat = 0.0;
    fixes[1200].lon = 0.0;

    let track = run(&fixes, PatrolMode::Walking);

    let expected = raw_length(&clean);
    assert!(
        (track.distance_m() - expected).abs() < expected * 0.01,
        "distance {}",
        track.distance_m()
    );
    assert_eq!(reasons(&track), ["impossible_speed"]);
    assert_eq!(track.rejected[0].0.at, clean[1200].at);
    assert_eq!(track.kept.len(), 2399);
    assert_eq!(track.segments.len(), 1);
}

#[test]
fn wild_bursts_spare_their_neighbours() {
    let cases: [(&str, Vec<usize>); 4] = [
        ("one wild fix", vec![600]),
        ("two in a row", vec![600, 601]),
        ("three in a row", vec![600, 601, 602]),
        ("four in a row", vec![600, 601, 602, 603]),
    ];
    for (name, indices) in cases {
        let mut fixes = walk(1200);
        for &i in &indices {
            fixes[i].lat += 0.01;
        }
        let before = &fixes[599];
        let after = &fixes[600 + indices.len()];

        let track = run(&fixes, PatrolMode::Walking);

        assert_eq!(
            track.rejected.len(),
            indices.len(),
            "{name}: rejected {:?}",
            reasons(&track)
        );
        assert_eq!(track.kept.len(), 1200 - indices.len(), "{name}: kept");
        assert!(track.kept.contains(before), "{name}: fix before the burst");
        assert!(track.kept.contains(after), "{name}: fix after the burst");
    }
}

#[test]
fn long_consistent_excursion_is_kept_as_new_segment() {
    let mut fixes = walk(1200);
    for fix in &mut fixes[600..700] {
        fix.lat += 0.01;
    }

    let track = run(&fixes, PatrolMode::Walking);

    assert!(track.rejected.is_empty(), "rejected {:?}", reasons(&track));
    assert_eq!(track.segments.len(), 3);
    assert!(matches!(track.gaps[0].reason, GapReason::Jump { .. }));
}

#[test]
fn stale_first_fix_is_discarded() {
    let far = offset(-2000.0, 0.0);
    let cases = [
        (
            "dated five minutes before start",
            start() - TimeDelta::minutes(5),
            "before_start",
        ),
        ("dated at start but 2 km away", start(), "stale_first_fix"),
    ];
    for (name, at, expected) in cases {
        let mut fixes = walk(600);
        for fix in &mut fixes {
            fix.at += TimeDelta::seconds(1);
        }
        fixes.insert(0, fix_at(far, at));

        let track = run(&fixes, PatrolMode::Walking);

        assert_eq!(reasons(&track), [expected], "{name}: reasons");
        assert_eq!(track.kept.len(), 600, "{name}: kept");
        assert!(
            (track.distance_m() - raw_length(&fixes[1..])).abs() < 1e-6,
            "{name}: distance"
        );
    }
}

#[test]
fn arrival_order_does_not_change_distance() {
    let in_order = walk(3);
    let shuffled = vec![
        in_order[0].clone(),
        in_order[2].clone(),
        in_order[1].clone(),
    ];

    let sorted = run(&in_order, PatrolMode::Walking);
    let unsorted = run(&shuffled, PatrolMode::Walking);

    assert_eq!(unsorted.distance_m(), sorted.distance_m());
    assert_eq!(unsorted.kept, in_order);
    assert!(unsorted.rejected.is_empty());
}

#[test]
fn reversed_walk_sorts_back() {
    let in_order = walk(600);
    let reversed: Vec<Fix> = in_order.iter().rev().cloned().collect();

    let track = run(&reversed, PatrolMode::Walking);

    assert_eq!(track.kept, in_order);
    assert_eq!(
        track.distance_m(),
        run(&in_order, PatrolMode::Walking).distance_m()
    );
}

#[test]
fn duplicates_counted_once() {
    let clean = walk(600);
    let doubled: Vec<Fix> = clean.iter().chain(clean.iter()).cloned().collect();

    let track = run(&doubled, PatrolMode::Walking);

    assert_eq!(track.kept, clean);
    assert_eq!(track.rejected.len(), 600);
    assert!(reasons(&track).iter().all(|r| *r == "duplicate"));
    assert_eq!(
        track.distance_m(),
        run(&clean, PatrolMode::Walking).distance_m()
    );
}

#[test]
fn ten_minute_silence_splits_track() {
    let mut fixes = walk(2400);
    fixes.drain(1200..1800);

    let track = run(&fixes, PatrolMode::Walking);

    assert_eq!(track.segments.len(), 2);
    assert!(track.is_incomplete());
    assert_eq!(track.gaps.len(), 1);
    assert_eq!(track.gaps[0].reason, GapReason::Silence { seconds: 601.0 });
    assert_eq!(track.gaps[0].next_index, 1200);
    assert!(track.rejected.is_empty());
}

#[test]
fn silence_never_bridged_in_distance() {
    let mut fixes = walk(2400);
    fixes.drain(1200..1800);

    let track = run(&fixes, PatrolMode::Walking);

    let walked = raw_length(&fixes[..1200]) + raw_length(&fixes[1200..]);
    assert!(
        (track.distance_m() - walked).abs() < 1e-6,
        "distance {}",
        track.distance_m()
    );
    assert_eq!(track.duration_s(), 2399.0);
    assert!(track.moving_s() < 1800.0);
}

#[test]
fn explicit_interval_overrides_median() {
    let mut fixes = walk(600);
    fixes.drain(300..303);
    let params = FilterParams {
        sampling_interval_s: Some(5.0),
        ..FilterParams::default()
    };

    let track = filter(&fixes, start(), PatrolMode::Walking, &params);

    assert_eq!(track.interval_s, 5.0);
    assert!(!track.is_incomplete());
}

#[test]
fn single_fix_screens() {
    let at = start() + TimeDelta::seconds(1);
    let mut mock = fix_at(offset(0.0, 0.0), at);
    mock.mock = true;
    let cases = [
        (
            "low accuracy",
            Fix::new(START_LAT, START_LON, Some(80.0), at, "gps"),
            "low_accuracy",
        ),
        (
            "nan accuracy",
            Fix::new(START_LAT, START_LON, Some(f64::NAN), at, "gps"),
            "low_accuracy",
        ),
        (
            "latitude out of range",
            fix_at((91.0, START_LON), at),
            "invalid_position",
        ),
        (
            "nan longitude",
            fix_at((START_LAT, f64::NAN), at),
            "invalid_position",
        ),
        ("mock provider", mock, "mock_location"),
        (
            "gps week rollover",
            fix_at(offset(0.0, 0.0), at - TimeDelta::weeks(1024)),
            "week_rollover",
        ),
        (
            "a day before start",
            fix_at(offset(0.0, 0.0), at - TimeDelta::days(1)),
            "before_start",
        ),
    ];
    for (name, bad, expected) in cases {
        let mut fixes = walk(60);
        fixes.insert(30, bad);

        let track = run(&fixes, PatrolMode::Walking);

        assert_eq!(reasons(&track), [expected], "{name}");
        assert_eq!(track.kept.len(), 60, "{name}: kept");
    }
}

#[test]
fn missing_accuracy_is_accepted() {
    let mut fixes = walk(60);
    for fix in &mut fixes {
        fix.accuracy_m = None;
    }

    let track = run(&fixes, PatrolMode::Walking);

    assert_eq!(track.kept.len(), 60);
}

#[test]
fn speed_limit_depends_on_mode() {
    // A fix 150 m off the line, sampled every 10 s: 14 m/s after the 10 m
    // accuracy slack, impossible on foot and ordinary in a car.
    let cases = [
        (PatrolMode::Walking, 1),
        (PatrolMode::Cycling, 0),
        (PatrolMode::Vehicle, 0),
    ];
    for (mode, expected_rejections) in cases {
        let mut fixes: Vec<Fix> = walk(600).into_iter().step_by(10).collect();
        fixes[30].lat += 150.0 / METRES_PER_DEGREE_LAT;

        let track = run(&fixes, mode);

        assert_eq!(track.rejected.len(), expected_rejections, "{mode:?}");
    }
}

#[test]
fn mode_limits_are_ordered() {
    assert!(max_speed_mps(PatrolMode::Walking) < max_speed_mps(PatrolMode::Cycling));
    assert!(max_speed_mps(PatrolMode::Cycling) < max_speed_mps(PatrolMode::Vehicle));
}

#[test]
fn every_fix_accounted_for() {
    let mut fixes = walk(900);
    fixes[100].accuracy_m = Some(120.0);
    fixes[200].lat = 0.0;
    fixes.push(fixes[300].clone());
    fixes.swap(400, 401);

    let track = run(&fixes, PatrolMode::Walking);

    assert_eq!(track.kept.len() + track.rejected.len(), fixes.len());
    assert!(track.kept.windows(2).all(|pair| pair[0].at < pair[1].at));
}

#[test]
fn empty_input_gives_empty_track() {
    let track = run(&[], PatrolMode::Walking);

    assert!(track.kept.is_empty());
    assert!(track.segments.is_empty());
    assert_eq!(track.distance_m(), 0.0);
}

#[test]
fn patrol_stop_carries_figures() {
    let mut fixes = walk(2400);
    fixes.drain(1200..1800);
    fixes[10].accuracy_m = Some(99.0);
    let track = run(&fixes, PatrolMode::Walking);

    let stop = track.patrol_stop(uuid::Uuid::nil(), 7);

    assert_eq!(stop.points_kept, 1799);
    assert_eq!(stop.points_rejected, 1);
    assert_eq!(stop.segments, 2);
    assert!(stop.incomplete);
    assert_eq!(stop.duration_s, 2399);
    assert_eq!(stop.chunks, 7);
    assert!(
        matches!(track.rejected[0].1, RejectReason::LowAccuracy { accuracy_m } if accuracy_m == 99.0)
    );
}

#[test]
fn silence_threshold_cases() {
    // (case, seconds of fixes removed, min_silence_s, expected segments)
    let cases = [
        ("short pause under the floor", 20, 30.0, 1),
        ("pause over the floor", 40, 30.0, 2),
        ("floor off, over twice the interval", 2, 0.0, 2),
        ("floor off, exactly twice the interval", 1, 0.0, 1),
    ];
    for (name, removed, min_silence_s, expected) in cases {
        let mut fixes = walk(600);
        fixes.drain(300..300 + removed);
        let params = FilterParams {
            min_silence_s,
            ..FilterParams::default()
        };

        let track = filter(&fixes, start(), PatrolMode::Walking, &params);

        assert_eq!(track.segments.len(), expected, "{name}");
    }
}
