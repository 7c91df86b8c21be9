//! Table-driven cases for the clock-in judge, built on a school gate in
//! Jinan (Asia/Shanghai) with the windows 07:10–07:50 and 16:20–17:00.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use uuid::Uuid;

use super::*;
use crate::records::{ClockIn, ClockOut};
use crate::wire::{DutyWindow, Fence, SchoolCalendar};

const CENTRE: (f64, f64) = (36.6512, 117.1201);
const METRES_PER_DEGREE: f64 = 111_320.0;

fn site_id() -> Uuid {
    Uuid::from_u128(0x5173)
}

fn time(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn stamp(text: &str) -> Stamp {
    Stamp::from_local(DateTime::parse_from_rfc3339(text).unwrap())
}

/// Moves `east_m` and `north_m` metres from the fence centre.
fn offset(east_m: f64, north_m: f64) -> (f64, f64) {
    let (lat, lon) = CENTRE;
    let lon_scale = METRES_PER_DEGREE * lat.to_radians().cos();
    (lat + north_m / METRES_PER_DEGREE, lon + east_m / lon_scale)
}

/// Builds a 200 m square north-east of the centre with a notch 60 m wide and 120 m
/// deep cut into the middle of its north side.
fn notched_square() -> Fence {
    let corners = [
        (0.0, 0.0),
        (200.0, 0.0),
        (200.0, 200.0),
        (130.0, 200.0),
        (130.0, 80.0),
        (70.0, 80.0),
        (70.0, 200.0),
        (0.0, 200.0),
    ];
    let ring = corners
        .iter()
        .map(|&(east, north)| offset(east, north))
        .collect();
    Fence::Polygon { ring }
}

fn circle() -> Fence {
    Fence::Circle {
        lat: CENTRE.0,
        lon: CENTRE.1,
        radius_m: 50.0,
    }
}

fn school_gate(fence: Fence) -> Site {
    let mut windows = Vec::new();
    for weekday in 1..=5 {
        windows.push(DutyWindow {
            weekday,
            start: time(16, 20),
            end: time(17, 0),
        });
        windows.push(DutyWindow {
            weekday,
            start: time(7, 10),
            end: time(7, 50),
        });
    }
    Site {
        id: site_id(),
        name: "Lixia No. 2 Primary, south gate".to_owned(),
        fence,
        time_zone: "Asia/Shanghai".to_owned(),
        windows,
        calendar: SchoolCalendar {
            holidays: vec![date("2026-10-05")],
            makeup_days: vec![date("2026-09-27")],
            makeup_weekday: None,
        },
        grace_before_min: 10,
        grace_after_min: 5,
        demo: false,
    }
}

#[derive(Clone, Copy)]
enum Shape {
    Circle,
    Notched,
}

#[derive(Clone, Copy)]
struct FixSpec {
    east_m: f64,
    north_m: f64,
    accuracy_m: Option<f64>,
    /// Seconds before the device time that the fix was taken.
    age_s: i64,
    mock: bool,
}

const GOOD_FIX: FixSpec = FixSpec {
    east_m: 0.0,
    north_m: 0.0,
    accuracy_m: Some(10.0),
    age_s: 5,
    mock: false,
};

#[derive(Clone, Copy)]
enum OpenShift {
    None,
    SameSite,
    OtherSite,
}

struct Case {
    name: &'static str,
    shape: Shape,
    device_time: &'static str,
    fix: Option<FixSpec>,
    /// Seconds before the device time that the fix was requested.
    requested_ago_s: Option<i64>,
    received_at: Option<&'static str>,
    open_shift: OpenShift,
    presence: Presence,
    flags: &'static [Flag],
    timing: Option<WindowTiming>,
}

const ON_TIME: &str = "2026-09-01T07:30:00+08:00";

const BASE: Case = Case {
    name: "",
    shape: Shape::Circle,
    device_time: ON_TIME,
    fix: Some(GOOD_FIX),
    requested_ago_s: Some(15),
    received_at: None,
    open_shift: OpenShift::None,
    presence: Presence::Inside,
    flags: &[],
    timing: Some(WindowTiming::OnTime),
};

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "on time inside the circle",
            ..BASE
        },
        Case {
            name: "device two days fast",
            device_time: "2026-09-02T07:30:00+08:00",
            fix: Some(FixSpec {
                age_s: 5,
                ..GOOD_FIX
            }),
            received_at: Some("2026-08-31T07:30:20+08:00"),
            flags: &[Flag::ClockSkew],
            ..BASE
        },
        Case {
            name: "device one minute slow",
            received_at: Some("2026-09-01T07:31:00+08:00"),
            ..BASE
        },
        Case {
            name: "mock fix inside the fence",
            fix: Some(FixSpec {
                mock: true,
                ..GOOD_FIX
            }),
            presence: Presence::Uncertain,
            flags: &[Flag::UncertainPosition, Flag::MockLocation],
            ..BASE
        },
        Case {
            name: "accuracy circle reaches the fence",
            fix: Some(FixSpec {
                north_m: 60.0,
                accuracy_m: Some(20.0),
                ..GOOD_FIX
            }),
            presence: Presence::Uncertain,
            flags: &[Flag::UncertainPosition],
            ..BASE
        },
        Case {
            name: "accuracy circle clear of the fence",
            fix: Some(FixSpec {
                north_m: 60.0,
                accuracy_m: Some(5.0),
                ..GOOD_FIX
            }),
            presence: Presence::Outside,
            flags: &[Flag::OutsideFence],
            ..BASE
        },
        Case {
            name: "inside the notch of a concave polygon",
            shape: Shape::Notched,
            fix: Some(FixSpec {
                east_m: 100.0,
                north_m: 160.0,
                accuracy_m: Some(5.0),
                ..GOOD_FIX
            }),
            presence: Presence::Outside,
            flags: &[Flag::OutsideFence],
            ..BASE
        },
        Case {
            name: "inside an arm of a concave polygon",
            shape: Shape::Notched,
            fix: Some(FixSpec {
                east_m: 30.0,
                north_m: 160.0,
                ..GOOD_FIX
            }),
            ..BASE
        },
        Case {
            name: "poor accuracy inside",
            fix: Some(FixSpec {
                accuracy_m: Some(80.0),
                ..GOOD_FIX
            }),
            flags: &[Flag::PoorAccuracy],
            ..BASE
        },
        Case {
            name: "unknown accuracy inside",
            fix: Some(FixSpec {
                accuracy_m: None,
                ..GOOD_FIX
            }),
            flags: &[Flag::PoorAccuracy],
            ..BASE
        },
        Case {
            name: "no fix",
            fix: None,
            presence: Presence::NoFix,
            flags: &[Flag::NoFix],
            ..BASE
        },
        Case {
            name: "fix at an impossible latitude",
            fix: Some(FixSpec {
                north_m: 1.0e8,
                ..GOOD_FIX
            }),
            presence: Presence::NoFix,
            flags: &[Flag::NoFix],
            ..BASE
        },
        Case {
            name: "stale fix",
            fix: Some(FixSpec {
                age_s: 180,
                ..GOOD_FIX
            }),
            requested_ago_s: None,
            flags: &[Flag::StaleFix],
            ..BASE
        },
        Case {
            name: "fix taken before the request",
            fix: Some(FixSpec {
                age_s: 30,
                ..GOOD_FIX
            }),
            requested_ago_s: Some(20),
            flags: &[Flag::StaleFix],
            ..BASE
        },
        Case {
            name: "early beyond the grace",
            device_time: "2026-09-01T06:50:00+08:00",
            flags: &[Flag::Early],
            timing: Some(WindowTiming::Early),
            ..BASE
        },
        Case {
            name: "early within the grace",
            device_time: "2026-09-01T07:05:00+08:00",
            ..BASE
        },
        Case {
            name: "late within the grace",
            device_time: "2026-09-01T07:52:00+08:00",
            ..BASE
        },
        Case {
            name: "late beyond the grace",
            device_time: "2026-09-01T08:00:00+08:00",
            flags: &[Flag::Late],
            timing: Some(WindowTiming::Late),
            ..BASE
        },
        Case {
            name: "between the windows",
            device_time: "2026-09-01T11:00:00+08:00",
            flags: &[Flag::OutsideWindow],
            timing: None,
            ..BASE
        },
        Case {
            name: "afternoon window",
            device_time: "2026-09-01T16:25:00+08:00",
            ..BASE
        },
        Case {
            name: "make-up working Sunday",
            device_time: "2026-09-27T07:30:00+08:00",
            ..BASE
        },
        Case {
            name: "ordinary Sunday",
            device_time: "2026-09-20T07:30:00+08:00",
            flags: &[Flag::NotDutyDay],
            timing: None,
            ..BASE
        },
        Case {
            name: "holiday Monday",
            device_time: "2026-10-05T07:30:00+08:00",
            flags: &[Flag::NotDutyDay],
            timing: None,
            ..BASE
        },
        Case {
            name: "already on duty elsewhere",
            open_shift: OpenShift::OtherSite,
            flags: &[Flag::AlreadyOnDuty],
            ..BASE
        },
        Case {
            name: "open shift at the same site",
            open_shift: OpenShift::SameSite,
            ..BASE
        },
    ]
}

fn build_fix(spec: FixSpec, device_time: Stamp) -> Fix {
    let (lat, lon) = offset(spec.east_m, spec.north_m);
    let at = device_time.utc - TimeDelta::seconds(spec.age_s);
    let mut fix = Fix::new(lat, lon, spec.accuracy_m, at, "gps");
    fix.mock = spec.mock;
    fix
}

fn judge_case(case: &Case, rules: &JudgeRules) -> Verdict {
    let site = school_gate(match case.shape {
        Shape::Circle => circle(),
        Shape::Notched => notched_square(),
    });
    let device_time = stamp(case.device_time);
    let fix = case.fix.map(|spec| build_fix(spec, device_time));
    let fix_requested_at = case.requested_ago_s.map(|ago| Stamp {
        utc: device_time.utc - TimeDelta::seconds(ago),
        offset_min: device_time.offset_min,
    });
    let open_shift_site = match case.open_shift {
        OpenShift::None => None,
        OpenShift::SameSite => Some(site_id()),
        OpenShift::OtherSite => Some(Uuid::from_u128(0x0ddba11)),
    };

    judge_clock_in(&ClockInFacts {
        site: &site,
        fix: fix.as_ref(),
        fix_requested_at,
        device_time,
        received_at: case.received_at.map(instant),
        open_shift_site,
        rules,
    })
}

#[test]
fn clock_in_cases() {
    let rules = JudgeRules::default();
    for case in cases() {
        let verdict = judge_case(&case, &rules);

        assert_eq!(verdict.presence, case.presence, "{}: presence", case.name);
        assert_eq!(verdict.flags, case.flags, "{}: flags", case.name);
        let timing = verdict.window.as_ref().map(|found| found.timing);
        assert_eq!(timing, case.timing, "{}: window timing", case.name);
    }
}

fn find_case(name: &str) -> Case {
    cases().into_iter().find(|case| case.name == name).unwrap()
}

#[test]
fn shanghai_morning_judged_locally() {
    let verdict = judge_case(
        &find_case("on time inside the circle"),
        &JudgeRules::default(),
    );
    let window = verdict.window.clone().unwrap();

    assert_eq!(verdict.device_time, instant("2026-08-31T23:30:00Z"));
    assert_eq!(verdict.trusted_time, verdict.device_time);
    assert_eq!(verdict.local_time.time(), time(7, 30));
    assert_eq!(verdict.duty_date, date("2026-09-01"));
    assert_eq!(window.window.start, time(7, 10));
    assert_eq!(window.window.end, time(7, 50));
    assert_eq!(window.starts_at, instant("2026-08-31T23:10:00Z"));
    assert_eq!(verdict.distance_m, Some(0.0));
    assert_eq!(verdict.skew_s, None);
    assert!(verdict.is_clean());
}

#[test]
fn fast_device_dated_by_server() {
    let verdict = judge_case(&find_case("device two days fast"), &JudgeRules::default());

    assert_eq!(verdict.trusted_time, instant("2026-08-31T07:30:20+08:00"));
    assert_eq!(verdict.device_time, instant("2026-09-02T07:30:00+08:00"));
    assert_eq!(verdict.duty_date, date("2026-08-31"));
    assert_eq!(verdict.skew_s, Some(-2 * 86_400 + 20));
    assert_eq!(verdict.flag_codes(), vec!["clock_skew".to_owned()]);
}

#[test]
fn early_and_late_minutes() {
    let rules = JudgeRules::default();
    let table = [("early beyond the grace", 10), ("late beyond the grace", 5)];
    for (name, minutes) in table {
        let verdict = judge_case(&find_case(name), &rules);

        assert_eq!(verdict.window.unwrap().minutes_off, minutes, "{name}");
    }
}

#[test]
fn fence_distances() {
    let rules = JudgeRules::default();
    let table = [
        ("accuracy circle reaches the fence", 10.0),
        ("inside the notch of a concave polygon", 30.0),
        ("inside an arm of a concave polygon", 0.0),
    ];
    for (name, expected) in table {
        let distance = judge_case(&find_case(name), &rules).distance_m.unwrap();

        assert!((distance - expected).abs() < 0.5, "{name}: {distance} m");
    }
}

#[test]
fn no_fix_has_no_distance() {
    let verdict = judge_case(&find_case("no fix"), &JudgeRules::default());

    assert_eq!(verdict.distance_m, None);
}

#[test]
fn flag_codes_round_trip() {
    for flag in Flag::ALL {
        let json = serde_json::to_string(&flag).unwrap();

        assert_eq!(Flag::parse(flag.as_str()), Some(flag), "{flag:?}: parse");
        assert_eq!(json, format!("\"{}\"", flag.as_str()), "{flag:?}: serde");
    }
    assert_eq!(Flag::parse("outside"), None);
}

#[test]
fn presence_codes_round_trip() {
    for presence in [
        Presence::Inside,
        Presence::Uncertain,
        Presence::Outside,
        Presence::NoFix,
    ] {
        let json = serde_json::to_string(&presence).unwrap();

        assert_eq!(Presence::parse(presence.as_str()), Some(presence));
        assert_eq!(json, format!("\"{}\"", presence.as_str()));
    }
}

#[test]
fn verdict_serializes() {
    let verdict = judge_case(&find_case("late beyond the grace"), &JudgeRules::default());
    let json = serde_json::to_string(&verdict).unwrap();
    let back: Verdict = serde_json::from_str(&json).unwrap();

    assert_eq!(back, verdict);
}

#[test]
fn auto_close_times() {
    let site = school_gate(circle());
    let table = [
        (
            "2026-09-01T07:30:00+08:00",
            Some("2026-09-01T07:55:00+08:00"),
        ),
        (
            "2026-09-01T06:45:00+08:00",
            Some("2026-09-01T07:55:00+08:00"),
        ),
        (
            "2026-09-01T16:40:00+08:00",
            Some("2026-09-01T17:05:00+08:00"),
        ),
        (
            "2026-09-01T08:00:00+08:00",
            Some("2026-09-01T08:00:00+08:00"),
        ),
        ("2026-09-01T11:00:00+08:00", None),
        ("2026-10-05T07:30:00+08:00", None),
    ];
    for (clock_in, expected) in table {
        let closes = auto_close_at(&site, instant(clock_in));

        assert_eq!(closes, expected.map(instant), "clock-in at {clock_in}");
    }
}

#[test]
fn site_validation() {
    let valid = school_gate(circle());
    let mut bad_zone = valid.clone();
    bad_zone.time_zone = "China/Beijing".to_owned();
    let mut bad_radius = valid.clone();
    bad_radius.fence = Fence::Circle {
        lat: CENTRE.0,
        lon: CENTRE.1,
        radius_m: 0.0,
    };
    let mut two_vertices = valid.clone();
    two_vertices.fence = Fence::Polygon {
        ring: vec![offset(0.0, 0.0), offset(10.0, 0.0)],
    };
    let mut bad_vertex = valid.clone();
    bad_vertex.fence = Fence::Polygon {
        ring: vec![offset(0.0, 0.0), (95.0, 117.0), offset(10.0, 10.0)],
    };
    let mut bad_weekday = valid.clone();
    bad_weekday.windows[0].weekday = 0;
    let mut reversed = valid.clone();
    reversed.windows[0].end = time(16, 0);
    let mut both_lists = valid.clone();
    both_lists.calendar.makeup_days.push(date("2026-10-05"));

    let table = [
        ("valid", valid, None),
        (
            "bad zone",
            bad_zone,
            Some(SiteError::TimeZone("China/Beijing".into())),
        ),
        ("bad radius", bad_radius, Some(SiteError::Radius(0.0))),
        (
            "two vertices",
            two_vertices,
            Some(SiteError::TooFewVertices(2)),
        ),
        (
            "bad vertex",
            bad_vertex,
            Some(SiteError::Position {
                lat: 95.0,
                lon: 117.0,
            }),
        ),
        ("bad weekday", bad_weekday, Some(SiteError::Weekday(0))),
        (
            "reversed window",
            reversed,
            Some(SiteError::WindowOrder {
                start: time(16, 20),
                end: time(16, 0),
            }),
        ),
        (
            "holiday and make-up day",
            both_lists,
            Some(SiteError::HolidayAndMakeup(date("2026-10-05"))),
        ),
    ];
    for (name, site, expected) in table {
        assert_eq!(validate_site(&site).err(), expected, "{name}");
    }
}

fn record(id: u128, member: u128, at: &str, body: RecordBody) -> Record {
    Record {
        id: Uuid::from_u128(id),
        member_id: Uuid::from_u128(member),
        captured_at: stamp(at),
        body,
    }
}

fn clock_in_record(member: u128, at: &str, monotonic: Option<Monotonic>) -> Record {
    let body = ClockIn {
        site_id: site_id(),
        fix: None,
        fix_requested_at: None,
        monotonic,
    };
    record(1, member, at, RecordBody::ClockIn(body))
}

fn clock_out_record(shift: u128, at: &str, monotonic: Option<Monotonic>) -> Record {
    let body = ClockOut {
        shift_id: Uuid::from_u128(shift),
        fix: None,
        monotonic,
        auto_closed: false,
    };
    record(2, 7, at, RecordBody::ClockOut(body))
}

fn reading(boot_id: &str, millis: i64) -> Option<Monotonic> {
    Some(Monotonic {
        boot_id: boot_id.to_owned(),
        millis,
    })
}

#[test]
fn clock_out_cases() {
    let morning = "2026-09-01T07:30:00+08:00";
    let evening = "2026-09-01T07:50:00+08:00";
    let own = clock_in_record(7, morning, None);
    let someone_elses = clock_in_record(8, morning, None);
    let not_a_clock_in = clock_out_record(9, morning, None);

    let table: [(&str, u128, Option<&Record>, &[Flag]); 5] = [
        ("matching clock-in", 1, Some(&own), &[]),
        (
            "no clock-in known",
            1,
            None,
            &[Flag::ClockOutWithoutClockIn],
        ),
        (
            "other shift id",
            3,
            Some(&own),
            &[Flag::ClockOutWithoutClockIn],
        ),
        (
            "other member",
            1,
            Some(&someone_elses),
            &[Flag::ClockOutWithoutClockIn],
        ),
        (
            "not a clock-in",
            2,
            Some(&not_a_clock_in),
            &[Flag::ClockOutWithoutClockIn],
        ),
    ];
    for (name, shift, clock_in, expected) in table {
        let clock_out = clock_out_record(shift, evening, None);

        assert_eq!(judge_clock_out(&clock_out, clock_in), expected, "{name}");
    }
}

#[test]
fn duty_durations() {
    let start = "2026-09-01T07:10:00+08:00";
    let end = "2026-09-01T07:50:00+08:00";
    let table = [
        (
            "same boot",
            reading("a", 1_000),
            reading("a", 1_801_000),
            30,
        ),
        ("other boot", reading("a", 1_000), reading("b", 5_000), 40),
        ("no monotonic", None, reading("a", 5_000), 40),
        (
            "monotonic backwards",
            reading("a", 9_000),
            reading("a", 1_000),
            40,
        ),
    ];
    for (name, start_reading, end_reading, minutes) in table {
        let clock_in = clock_in_record(7, start, start_reading);
        let clock_out = clock_out_record(1, end, end_reading);

        let duration = duty_duration(&clock_in, &clock_out);

        assert_eq!(duration, TimeDelta::minutes(minutes), "{name}");
    }
}

#[test]
fn wall_clock_backwards_counts_zero() {
    let clock_in = clock_in_record(7, "2026-09-01T07:50:00+08:00", None);
    let clock_out = clock_out_record(1, "2026-09-01T07:10:00+08:00", None);

    assert_eq!(duty_duration(&clock_in, &clock_out), TimeDelta::zero());
}

#[test]
fn backlog_capture_on_server_clock() {
    let device_time = instant("2026-09-01T07:30:00+08:00");
    let sent_at = instant("2026-09-01T12:00:00+08:00");
    let received_at = instant("2026-09-01T12:03:00+08:00");

    let captured = server_capture_time(device_time, sent_at, received_at);

    assert_eq!(captured, instant("2026-09-01T07:33:00+08:00"));
}

#[test]
fn forged_readings_are_capped() {
    let start = "2026-09-01T07:10:00+08:00";
    let far_end = "9999-12-31T00:00:00+00:00";
    let table = [
        // An overflowing span is not trusted, so the wall time (none here) counts.
        (
            "monotonic overflow",
            start,
            reading("a", -1),
            reading("a", i64::MAX),
            TimeDelta::zero(),
        ),
        (
            "monotonic huge span",
            start,
            reading("a", 0),
            reading("a", 9_000_000_000_000_000),
            MAX_SHIFT_DURATION,
        ),
        (
            "clock-out years ahead",
            far_end,
            None,
            None,
            MAX_SHIFT_DURATION,
        ),
    ];
    for (name, end, start_reading, end_reading, expected) in table {
        let clock_in = clock_in_record(7, start, start_reading);
        let clock_out = clock_out_record(1, end, end_reading);

        assert_eq!(duty_duration(&clock_in, &clock_out), expected, "{name}");
    }
}

#[test]
fn capture_time_survives_extreme_stamps() {
    let device_time = DateTime::<Utc>::MIN_UTC;
    let sent_at = DateTime::<Utc>::MAX_UTC;
    let received_at = instant("2026-09-01T12:03:00+08:00");

    assert_eq!(
        server_capture_time(device_time, sent_at, received_at),
        received_at
    );
}
