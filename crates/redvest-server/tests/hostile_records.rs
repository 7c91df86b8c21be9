//! Pushed records with forged clocks, extreme instants and oversized text:
//! each is rejected alone, the rest of its batch is stored, and nothing
//! stored afterwards can make a route fail with 500.

mod common;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use redvest_proto::geo::Fix;
use redvest_proto::records::{ClockIn, ClockOut, Monotonic, RecordBody};
use redvest_proto::wire::{PushOutcome, PushResponse};
use redvest_proto::{Record, Stamp};
use redvest_server::seed::demo_sites;
use serde_json::{json, Value};
use uuid::Uuid;

fn clock_in_at(member_id: Uuid, utc: DateTime<Utc>, millis: i64) -> Record {
    let site = demo_sites().remove(0);
    Record {
        id: Uuid::now_v7(),
        member_id,
        captured_at: Stamp {
            utc,
            offset_min: 480,
        },
        body: RecordBody::ClockIn(ClockIn {
            site_id: site.id,
            fix: Some(Fix::new(36.6432, 117.9661, Some(5.0), utc, "gps")),
            fix_requested_at: None,
            monotonic: Some(Monotonic {
                boot_id: "boot".into(),
                millis,
            }),
        }),
    }
}

fn clock_out_at(shift: &Record, utc: DateTime<Utc>, millis: i64) -> Record {
    Record {
        id: Uuid::now_v7(),
        member_id: shift.member_id,
        captured_at: Stamp {
            utc,
            offset_min: 480,
        },
        body: RecordBody::ClockOut(ClockOut {
            shift_id: shift.id,
            fix: None,
            monotonic: Some(Monotonic {
                boot_id: "boot".into(),
                millis,
            }),
            auto_closed: false,
        }),
    }
}

fn outcomes(reply: &Reply) -> Vec<PushOutcome> {
    let response: PushResponse = serde_json::from_value(reply.body.clone()).unwrap();
    response.results.into_iter().map(|r| r.outcome).collect()
}

fn is_rejected(outcome: &PushOutcome) -> bool {
    matches!(outcome, PushOutcome::Rejected { .. })
}

fn is_stored(outcome: &PushOutcome) -> bool {
    matches!(outcome, PushOutcome::Stored { .. })
}

/// Replaces `captured_at.utc` of a serialized record with raw text, so that
/// instants chrono cannot build from a `Stamp` in a test can still be sent.
fn with_captured_at(record: &Record, utc: &str) -> Value {
    let mut value = serde_json::to_value(record).unwrap();
    value["captured_at"]["utc"] = json!(utc);
    value
}

async fn push_values(server: &TestServer, session: &Session, body: Value) -> Reply {
    server
        .json(Method::POST, "/v1/push", Some(&session.token), &body)
        .await
}

#[tokio::test]
async fn implausible_clocks_rejected_per_record() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_B).await;
    let me = volunteer.member.id;
    let now = Utc::now();
    let good = clock_in_at(me, now - TimeDelta::hours(1), 1_000);
    let negative = clock_in_at(me, now - TimeDelta::hours(2), -1);
    let ahead = clock_in_at(me, now + TimeDelta::days(2), 1_000);
    let ancient = clock_in_at(me, "2019-12-31T23:00:00Z".parse().unwrap(), 1_000);
    let mut long_boot = clock_in_at(me, now - TimeDelta::hours(3), 1_000);
    if let RecordBody::ClockIn(body) = &mut long_boot.body {
        body.monotonic.as_mut().unwrap().boot_id = "b".repeat(65);
    }
    let far_out = clock_out_at(&good, "9999-12-31T00:00:00Z".parse().unwrap(), 2_000);
    let huge_out = clock_out_at(&good, now, i64::MAX);
    let records = [good, negative, ahead, ancient, long_boot, far_out, huge_out];

    let reply = server.push(&volunteer, 1, &records).await;
    let got = outcomes(&reply);

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(is_stored(&got[0]), "plausible clock-in: {:?}", got[0]);
    assert!(is_rejected(&got[1]), "negative monotonic: {:?}", got[1]);
    assert!(is_rejected(&got[2]), "two days ahead: {:?}", got[2]);
    assert!(is_rejected(&got[3]), "before 2020: {:?}", got[3]);
    assert!(is_rejected(&got[4]), "boot id of 65 chars: {:?}", got[4]);
    assert!(is_rejected(&got[5]), "clock-out in 9999: {:?}", got[5]);
    assert!(is_stored(&got[6]), "i64::MAX monotonic is not negative");
}

#[tokio::test]
async fn extreme_instants_reject_only_their_record() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_B).await;
    let me = volunteer.member.id;
    let now = Utc::now();
    let good = clock_in_at(me, now - TimeDelta::minutes(5), 1_000);
    let template = clock_in_at(me, now, 1_000);
    let cases = [
        ("earliest instant", "-262143-01-01T00:00:00Z"),
        ("far past", "-262000-01-01T00:00:00Z"),
        ("latest instant", "+262142-12-31T23:59:59Z"),
        ("year 9999", "9999-12-31T23:59:59Z"),
    ];
    for (seq, (name, utc)) in cases.into_iter().enumerate() {
        let mut extreme = template.clone();
        extreme.id = Uuid::now_v7();
        let mut fresh = good.clone();
        fresh.id = Uuid::now_v7();
        let body = json!({
            "device_id": volunteer.device_id,
            "batch_seq": seq,
            "sent_at": { "utc": "+262000-01-01T00:00:00Z", "offset_min": 0 },
            "records": [with_captured_at(&extreme, utc), fresh],
        });

        let reply = push_values(&server, &volunteer, body).await;

        assert_eq!(reply.status, StatusCode::OK, "{name}: {}", reply.body);
        let got = outcomes(&reply);
        assert!(is_rejected(&got[0]), "{name}: {:?}", got[0]);
        assert!(is_stored(&got[1]), "{name}: other record {:?}", got[1]);
    }
}

#[tokio::test]
async fn forged_monotonic_keeps_duty_hours_working() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_B).await;
    let leader = server.sign_in(LEADER_1).await;
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let now = Utc::now();
    let shift = clock_in_at(volunteer.member.id, now - TimeDelta::hours(1), 0);
    let forged_out = clock_out_at(&shift, now, 9_000_000_000_000_000);
    let pushed = server.push(&volunteer, 1, &[shift, forged_out]).await;
    let month = now.format("%Y-%m").to_string();

    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.body);
    for (who, session) in [
        ("owner", &volunteer),
        ("leader", &leader),
        ("staff", &staff),
    ] {
        let path = format!("/v1/duty-hours?month={month}");
        let reply = server.get(&path, &session.token).await;
        assert_eq!(reply.status, StatusCode::OK, "{who}: {}", reply.body);
        let seconds: Vec<i64> = reply.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["seconds"].as_i64().unwrap())
            .collect();
        assert!(
            seconds.iter().all(|s| *s <= 24 * 3600),
            "{who}: one shift counts at most 24 h, got {seconds:?}"
        );
    }
}

#[tokio::test]
async fn oversized_text_rejected_with_length() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let me = volunteer.member.id;
    let mut long_address = lead(me, "blocked exit", vec![]);
    if let RecordBody::Lead(body) = &mut long_address.body {
        body.address = Some("路".repeat(501));
    }
    let mut long_provider = lead(me, "blocked exit", vec![]);
    if let RecordBody::Lead(body) = &mut long_provider.body {
        body.position.as_mut().unwrap().provider = "p".repeat(33);
    }
    let fine = lead(me, "blocked exit", vec![]);

    let reply = server
        .push(&volunteer, 1, &[long_address, long_provider, fine])
        .await;
    let got = outcomes(&reply);

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reason = |outcome: &PushOutcome| match outcome {
        PushOutcome::Rejected { reason } => reason.clone(),
        other => panic!("expected a rejection, got {other:?}"),
    };
    assert!(reason(&got[0]).contains("501"), "{:?}", got[0]);
    assert!(reason(&got[0]).contains("500"), "{:?}", got[0]);
    assert!(reason(&got[1]).contains("33"), "{:?}", got[1]);
    assert!(reason(&got[1]).contains("32"), "{:?}", got[1]);
    assert!(is_stored(&got[2]), "{:?}", got[2]);
}

#[tokio::test]
async fn changes_page_capped_by_bytes() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let me = volunteer.member.id;
    // Each lead carries about 7.5 kB of text, so 700 of them pass 4 MiB.
    for seq in 0..2 {
        let records: Vec<Record> = (0..350)
            .map(|_| {
                let mut record = lead(me, &"字".repeat(2000), vec![]);
                if let RecordBody::Lead(body) = &mut record.body {
                    body.address = Some("路".repeat(500));
                }
                record
            })
            .collect();
        let reply = server.push(&volunteer, seq, &records).await;
        assert_eq!(reply.status, StatusCode::OK, "batch {seq}");
    }

    let page = server
        .get("/v1/changes?after=0&limit=1000", &volunteer.token)
        .await;

    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.bytes.len() <= 4 * 1024 * 1024 + 64 * 1024,
        "page of {} bytes",
        page.bytes.len()
    );
    assert_eq!(page.body["more"], true);
    let count = page.body["changes"].as_array().unwrap().len();
    assert!(count < 700, "{count} changes on the first page");
}
