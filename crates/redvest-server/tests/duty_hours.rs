//! Duty hours through the router on a real store: which shifts count, how
//! long they last, who may read whose hours, and the sweep that closes shifts
//! left open.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use common::*;
use redvest_proto::geo::Fix;
use redvest_proto::records::{ClockIn, ClockOut, Monotonic, RecordBody};
use redvest_proto::wire::{DutyHoursResponse, MemberDutyHours, ShiftClosedBy, Site};
use redvest_proto::{Record, Stamp};
use redvest_server::seed::demo_sites;
use redvest_server::serve::serve;
use redvest_server::Storage;
use serde_json::json;
use uuid::Uuid;

/// Demo site 1: a circle fence with windows 07:10–07:50 and 16:20–17:00 on
/// weekdays, 10 min grace before and 15 min after, in Asia/Shanghai.
fn school_gate() -> Site {
    demo_sites().remove(0)
}

fn stamp(local: &str) -> Stamp {
    Stamp::from_local(DateTime::parse_from_rfc3339(local).unwrap())
}

fn monotonic(boot: &str, millis: i64) -> Option<Monotonic> {
    Some(Monotonic {
        boot_id: boot.to_owned(),
        millis,
    })
}

/// Builds a clock-in at the school gate, inside the fence or 6 km away.
fn clock_in(member_id: Uuid, local: &str, inside: bool, mono: Option<Monotonic>) -> Record {
    let captured_at = stamp(local);
    let (lat, lon) = if inside {
        (36.6432, 117.9661)
    } else {
        (36.7000, 117.9661)
    };
    Record {
        id: Uuid::now_v7(),
        member_id,
        captured_at,
        body: RecordBody::ClockIn(ClockIn {
            site_id: school_gate().id,
            fix: Some(Fix::new(lat, lon, Some(5.0), captured_at.utc, "gps")),
            fix_requested_at: None,
            monotonic: mono,
        }),
    }
}

fn clock_out(shift: &Record, local: &str, mono: Option<Monotonic>, auto_closed: bool) -> Record {
    Record {
        id: Uuid::now_v7(),
        member_id: shift.member_id,
        captured_at: stamp(local),
        body: RecordBody::ClockOut(ClockOut {
            shift_id: shift.id,
            fix: None,
            monotonic: mono,
            auto_closed,
        }),
    }
}

async fn duty_hours(server: &TestServer, session: &Session, query: &str) -> Reply {
    server
        .get(&format!("/v1/duty-hours?{query}"), &session.token)
        .await
}

async fn member_hours(server: &TestServer, session: &Session, month: &str) -> MemberDutyHours {
    let reply = duty_hours(server, session, &format!("month={month}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let hours: DutyHoursResponse = serde_json::from_value(reply.body).unwrap();
    hours
        .members
        .into_iter()
        .find(|row| row.member_id == session.member.id)
        .expect("the caller's own row")
}

#[tokio::test]
async fn monotonic_and_wall_durations() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let id = volunteer.member.id;
    // Same boot: the wall clock measures 60 min, the monotonic clock 40 min.
    let same_boot = clock_in(id, "2026-09-01T07:15:00+08:00", true, monotonic("a", 1_000));
    let same_boot_out = clock_out(
        &same_boot,
        "2026-09-01T08:15:00+08:00",
        monotonic("a", 1_000 + 40 * 60_000),
        false,
    );
    // A reboot in between: only the wall clock can measure, 30 min.
    let rebooted = clock_in(id, "2026-09-02T07:15:00+08:00", true, monotonic("a", 5_000));
    let rebooted_out = clock_out(
        &rebooted,
        "2026-09-02T07:45:00+08:00",
        monotonic("b", 10),
        false,
    );
    let records = [same_boot, same_boot_out, rebooted, rebooted_out];
    let pushed = server.push(&volunteer, 1, &records).await;

    let row = member_hours(&server, &volunteer, "2026-09").await;

    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.body);
    assert_eq!(row.shifts, 2);
    assert_eq!(row.details[0].seconds, 40 * 60);
    assert_eq!(row.details[1].seconds, 30 * 60);
    assert_eq!(row.seconds, 70 * 60);
    assert_eq!(row.hours, 1.17);
    assert_eq!(row.auto_closed_shifts, 0);
    assert_eq!(row.open_shifts, 0);
}

#[tokio::test]
async fn month_counted_in_site_zone() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    // 07:15 in Shanghai on 1 September is 23:15 UTC on 31 August.
    let shift = clock_in(volunteer.member.id, "2026-09-01T07:15:00+08:00", true, None);
    let out = clock_out(&shift, "2026-09-01T07:55:00+08:00", None, false);
    server.push(&volunteer, 1, &[shift, out]).await;

    let august = member_hours(&server, &volunteer, "2026-08").await;
    let september = member_hours(&server, &volunteer, "2026-09").await;

    assert_eq!(august.shifts, 0);
    assert_eq!(september.shifts, 1);
    assert_eq!(
        september.details[0].duty_date,
        NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
    );
}

#[tokio::test]
async fn flagged_shift_counts_once_approved() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let leader = server.sign_in(LEADER_1).await;
    let outside = clock_in(
        volunteer.member.id,
        "2026-09-03T07:15:00+08:00",
        false,
        None,
    );
    let out = clock_out(&outside, "2026-09-03T07:50:00+08:00", None, false);
    server.push(&volunteer, 1, &[outside.clone(), out]).await;

    let before = member_hours(&server, &volunteer, "2026-09").await;
    let decided = server
        .decide(&leader, outside.id, 1, json!({ "action": "approve" }))
        .await;
    let after = member_hours(&server, &volunteer, "2026-09").await;

    assert_eq!(before.shifts, 0, "a submitted clock-in does not count");
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.body);
    assert_eq!(after.shifts, 1);
    assert_eq!(after.seconds, 35 * 60);
}

#[tokio::test]
async fn phone_auto_close_marked() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let shift = clock_in(volunteer.member.id, "2026-09-04T07:20:00+08:00", true, None);
    let out = clock_out(&shift, "2026-09-04T08:05:00+08:00", None, true);
    server.push(&volunteer, 1, &[shift, out]).await;

    let row = member_hours(&server, &volunteer, "2026-09").await;

    assert_eq!(row.shifts, 1);
    assert_eq!(row.auto_closed_shifts, 1);
    assert!(row.details[0].auto_closed);
    assert_eq!(row.details[0].closed_by, ShiftClosedBy::Phone);
    assert_eq!(row.details[0].seconds, 45 * 60);
}

#[tokio::test]
async fn sweep_closes_open_shift() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let shift = clock_in(volunteer.member.id, "2026-09-07T07:15:00+08:00", true, None);
    // 12:00 belongs to no window, so it has no time to close at.
    let no_window = clock_in(
        volunteer.member.id,
        "2026-09-07T12:00:00+08:00",
        false,
        None,
    );
    server
        .push(&volunteer, 1, &[shift.clone(), no_window])
        .await;
    let now: DateTime<Utc> = "2026-09-10T00:00:00Z".parse().unwrap();

    let before = member_hours(&server, &volunteer, "2026-09").await;
    let closed = server.store.close_open_shifts(now).unwrap();
    let closed_again = server.store.close_open_shifts(now).unwrap();
    let after = member_hours(&server, &volunteer, "2026-09").await;

    assert_eq!(before.shifts, 0);
    assert_eq!(
        before.open_shifts, 1,
        "the 12:00 clock-in is flagged, not open"
    );
    assert_eq!(closed, 1);
    assert_eq!(closed_again, 0);
    assert_eq!(after.shifts, 1);
    assert_eq!(after.open_shifts, 0);
    assert_eq!(after.auto_closed_shifts, 1);
    assert_eq!(after.details[0].closed_by, ShiftClosedBy::Server);
    assert_eq!(
        after.details[0].seconds,
        50 * 60,
        "closed at 07:50 plus 15 min grace"
    );
    assert_eq!(
        server.count("SELECT count(*) FROM records WHERE kind = 'clock_out'"),
        0,
        "no record is made up in the member's name"
    );
}

#[tokio::test]
async fn sweep_window_end_and_lookback() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let shift = clock_in(volunteer.member.id, "2026-09-07T07:15:00+08:00", true, None);
    server.push(&volunteer, 1, &[shift]).await;
    let cases = [
        ("more than 45 days later", "2026-10-23T00:00:00+08:00", 0),
        (
            "before window end plus grace",
            "2026-09-07T08:04:00+08:00",
            0,
        ),
        ("at window end plus grace", "2026-09-07T08:05:00+08:00", 1),
    ];
    for (name, now, expected) in cases {
        let now = DateTime::parse_from_rfc3339(now).unwrap().to_utc();

        let closed = server.store.close_open_shifts(now).unwrap();

        assert_eq!(closed, expected, "{name}");
    }
}

#[tokio::test]
async fn late_phone_clock_out_wins() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let shift = clock_in(volunteer.member.id, "2026-09-08T07:15:00+08:00", true, None);
    server
        .push(&volunteer, 1, std::slice::from_ref(&shift))
        .await;
    server
        .store
        .close_open_shifts("2026-09-10T00:00:00Z".parse().unwrap())
        .unwrap();
    let out = clock_out(&shift, "2026-09-08T07:45:00+08:00", None, false);
    server.push(&volunteer, 2, &[out]).await;

    let row = member_hours(&server, &volunteer, "2026-09").await;

    assert_eq!(row.shifts, 1);
    assert_eq!(row.details[0].closed_by, ShiftClosedBy::Phone);
    assert!(!row.details[0].auto_closed);
    assert_eq!(row.details[0].seconds, 30 * 60);
}

#[tokio::test]
async fn visibility_by_role() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let other = server.sign_in(VOLUNTEER_B).await;
    let leader = server.sign_in(LEADER_1).await;
    let other_squad = server.sign_in(VOLUNTEER_C).await;
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let month = "month=2026-09";
    let member = |session: &Session| format!("{month}&member={}", session.member.id);
    let cases = [
        (
            "volunteer, own",
            &volunteer,
            month.to_owned(),
            StatusCode::OK,
            1,
        ),
        (
            "volunteer, self named",
            &volunteer,
            member(&volunteer),
            StatusCode::OK,
            1,
        ),
        (
            "volunteer, squad mate",
            &volunteer,
            member(&other),
            StatusCode::FORBIDDEN,
            0,
        ),
        (
            "leader, squad",
            &leader,
            month.to_owned(),
            StatusCode::OK,
            4,
        ),
        (
            "leader, squad member",
            &leader,
            member(&other),
            StatusCode::OK,
            1,
        ),
        (
            "leader, other squad",
            &leader,
            member(&other_squad),
            StatusCode::FORBIDDEN,
            0,
        ),
        ("brigade, all", &staff, month.to_owned(), StatusCode::OK, 10),
        (
            "brigade, one member",
            &staff,
            member(&other_squad),
            StatusCode::OK,
            1,
        ),
        (
            "brigade, unknown member",
            &staff,
            format!("{month}&member={}", Uuid::now_v7()),
            StatusCode::NOT_FOUND,
            0,
        ),
    ];
    for (name, session, query, status, rows) in cases {
        let reply = duty_hours(&server, session, &query).await;

        assert_eq!(reply.status, status, "{name}: {}", reply.body);
        if status == StatusCode::OK {
            let hours: DutyHoursResponse = serde_json::from_value(reply.body).unwrap();
            assert_eq!(hours.members.len(), rows, "{name}");
        }
    }
}

#[tokio::test]
async fn invalid_month_rejected() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    for query in ["month=2026-13", "month=September", "month=", "member=x"] {
        let reply = duty_hours(&server, &volunteer, query).await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.body["code"], "invalid_request", "{query}");
    }
}

/// Returns 07:15 in Shanghai on the latest weekday before today, a recent
/// shift whose window has ended.
fn recent_weekday_morning() -> String {
    let today = (Utc::now() + chrono::TimeDelta::hours(8)).date_naive();
    let weekday = (1..=7)
        .map(|back| today - chrono::TimeDelta::days(back))
        .find(|day| day.weekday().number_from_monday() <= 5)
        .unwrap();
    format!("{weekday}T07:15:00+08:00")
}

#[tokio::test]
async fn serve_sweeps_at_start() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let morning = recent_weekday_morning();
    let shift = clock_in(volunteer.member.id, &morning, true, None);
    server.push(&volunteer, 1, &[shift]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let store: Arc<dyn Storage> = server.store.clone();
    let serving = tokio::spawn(serve(listener, store, async {
        stopped.await.ok();
    }));

    let mut markers = 0;
    for _ in 0..100 {
        markers = server.count("SELECT count(*) FROM shift_auto_closes");
        if markers > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();

    assert_eq!(markers, 1);
}
