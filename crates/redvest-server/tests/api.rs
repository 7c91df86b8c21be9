//! The HTTP API end to end through the router, on a real SQLite store.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use redvest_proto::review::ReviewState;
use redvest_proto::wire::{DecisionResponse, PushResponse, Role};
use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test]
async fn sign_in_good_and_bad() {
    let server = TestServer::start();
    let device_id = Uuid::now_v7();
    let cases = [
        ("right password", LEADER_1, "redvest-demo", StatusCode::OK),
        (
            "wrong password",
            LEADER_1,
            "guess",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown phone",
            "13999999999",
            "redvest-demo",
            StatusCode::UNAUTHORIZED,
        ),
    ];
    let mut messages = Vec::new();
    for (name, phone, password, status) in cases {
        let body = json!({ "phone": phone, "password": password, "device_id": device_id });
        let reply = server.json(Method::POST, "/v1/session", None, &body).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.body);
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(reply.body["code"], "bad_credentials", "{name}");
            messages.push(reply.body["message"].clone());
        }
    }
    assert_eq!(
        messages[0], messages[1],
        "unknown phone and wrong password read the same"
    );
}

#[tokio::test]
async fn sign_in_returns_member_and_epoch() {
    let server = TestServer::start();
    let session = server.sign_in(LEADER_1).await;
    let health = server
        .json(Method::GET, "/v1/health", None, &Value::Null)
        .await;

    assert_eq!(session.member.role, Role::SquadLeader);
    assert_eq!(session.token.len(), 64);
    assert_eq!(health.status, StatusCode::OK);
    assert!(health.body["epoch"].is_string());
}

#[tokio::test]
async fn token_required() {
    let server = TestServer::start();
    let missing = server
        .json(Method::GET, "/v1/changes?after=0", None, &Value::Null)
        .await;
    let unknown = server.get("/v1/changes?after=0", &"0".repeat(64)).await;

    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.body["code"], "unauthorized");
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn push_stores_lead_as_submitted() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let record = lead(volunteer.member.id, "blocked fire exit", vec![]);

    let reply = server
        .push(&volunteer, 1, std::slice::from_ref(&record))
        .await;
    let submission = server
        .pulled_submission(&volunteer, record.id)
        .await
        .unwrap();

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["results"][0]["status"], "stored");
    assert_eq!(submission.review.state, ReviewState::Submitted);
    assert_eq!(submission.review.version, 1);
    assert_eq!(submission.record, record);
    assert_eq!(
        server.count("SELECT count(*) FROM devices WHERE last_batch_seq = 1"),
        1
    );
}

#[tokio::test]
async fn replayed_batch_same_ack() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let records = [
        lead(volunteer.member.id, "one", vec![]),
        lead(volunteer.member.id, "two", vec![]),
    ];

    let first = server.push(&volunteer, 7, &records).await;
    let second = server.push(&volunteer, 7, &records).await;
    let later_batch = server.push(&volunteer, 8, &records[..1]).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second.body, first.body);
    assert_eq!(
        later_batch.body["results"][0], first.body["results"][0],
        "original server_seq"
    );
    assert_eq!(server.count("SELECT count(*) FROM records"), 2);
    assert_eq!(server.count("SELECT count(*) FROM reviews"), 2);
}

#[tokio::test]
async fn same_id_other_body_conflict() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let original = lead(volunteer.member.id, "original note", vec![]);
    let mut edited = original.clone();
    if let redvest_proto::RecordBody::Lead(lead) = &mut edited.body {
        lead.note = "edited note".into();
    }

    server
        .push(&volunteer, 1, std::slice::from_ref(&original))
        .await;
    let reply = server.push(&volunteer, 2, &[edited]).await;
    let pulled = server
        .pulled_submission(&volunteer, original.id)
        .await
        .unwrap();

    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body["results"][0]["status"], "conflict");
    assert_eq!(
        server.count("SELECT count(*) FROM record_conflicts WHERE body LIKE '%edited note%'"),
        1
    );
    assert_eq!(
        pulled.record, original,
        "the stored body is not overwritten"
    );
}

#[tokio::test]
async fn push_rejects_bad_records() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let other = server.sign_in(VOLUNTEER_B).await;
    let long_note = lead(volunteer.member.id, &"长".repeat(2001), vec![]);
    let not_mine = lead(other.member.id, "captured by someone else", vec![]);
    let mut unknown_kind = serde_json::to_value(lead(volunteer.member.id, "x", vec![])).unwrap();
    unknown_kind["kind"] = json!("teleport");

    let body = json!({
        "device_id": volunteer.device_id,
        "batch_seq": 1,
        "records": [long_note, not_mine, unknown_kind],
    });
    let reply = server
        .json(Method::POST, "/v1/push", Some(&volunteer.token), &body)
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    for index in 0..3 {
        assert_eq!(
            reply.body["results"][index]["status"], "rejected",
            "record {index}: {}",
            reply.body
        );
    }
    assert_eq!(server.count("SELECT count(*) FROM records"), 0);
}

#[tokio::test]
async fn push_request_limits() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let too_many: Vec<_> = (0..501)
        .map(|_| lead(volunteer.member.id, "x", vec![]))
        .collect();

    let oversized = server.push(&volunteer, 1, &too_many).await;
    let malformed = server
        .json(
            Method::POST,
            "/v1/push",
            Some(&volunteer.token),
            &json!({ "records": 3 }),
        )
        .await;

    assert_eq!(oversized.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(oversized.body["code"], "payload_too_large");
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.body["code"], "invalid_request");
}

/// Returns the id of the first demo site (a circle around 36.6432 N, 117.9661 E).
async fn first_site(server: &TestServer, session: &Session) -> Uuid {
    let sites = server
        .changes(session)
        .await
        .into_iter()
        .filter_map(|change| match change.entity {
            redvest_proto::wire::Entity::Site(site) => Some(site),
            _ => None,
        });
    sites
        .min_by_key(|site| site.name.clone())
        .map(|site| site.id)
        .unwrap()
}

/// Builds a clock-in captured on Monday 2026-11-30 at 07:30 in Shanghai,
/// inside the first demo site's fence, with a fresh fix when `fix` is set.
fn monday_clock_in(member_id: Uuid, site_id: Uuid, fix: bool) -> Value {
    let captured = chrono::DateTime::parse_from_rfc3339("2026-11-30T07:30:00+08:00").unwrap();
    let stamp = redvest_proto::Stamp::from_local(captured);
    let fix = fix.then(|| {
        redvest_proto::geo::Fix::new(
            36.6432,
            117.9661,
            Some(8.0),
            stamp.utc - chrono::TimeDelta::seconds(5),
            "gps",
        )
    });
    json!({
        "id": Uuid::now_v7(), "member_id": member_id, "captured_at": stamp, "kind": "clock_in",
        "body": { "site_id": site_id, "fix": fix, "fix_requested_at": null, "monotonic": null },
    })
}

#[tokio::test]
async fn clock_in_judged_on_arrival() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let site_id = first_site(&server, &volunteer).await;
    let clean = monday_clock_in(volunteer.member.id, site_id, true);
    let no_fix = monday_clock_in(volunteer.member.id, site_id, false);
    let unknown_site = monday_clock_in(volunteer.member.id, Uuid::now_v7(), true);
    let body = json!({
        "device_id": volunteer.device_id, "batch_seq": 1, "sent_at": redvest_proto::Stamp::now_local(),
        "records": [clean, no_fix, unknown_site],
    });

    let reply = server
        .json(Method::POST, "/v1/push", Some(&volunteer.token), &body)
        .await;
    let pulled = |record: &Value| {
        let id: Uuid = serde_json::from_value(record["id"].clone()).unwrap();
        server.pulled_submission(&volunteer, id)
    };
    let clean = pulled(&body["records"][0]).await.unwrap();
    let flagged = pulled(&body["records"][1]).await.unwrap();

    assert_eq!(
        reply.body["results"][0]["status"], "stored",
        "{}",
        reply.body
    );
    assert_eq!(reply.body["results"][1]["status"], "stored");
    assert_eq!(reply.body["results"][2]["status"], "rejected");
    assert_eq!(
        clean.review.state,
        ReviewState::Accepted,
        "flags {:?}",
        clean.review.flags
    );
    assert_eq!(flagged.review.state, ReviewState::Submitted);
    assert!(
        flagged.review.flags.contains(&"no_fix".to_owned()),
        "flags {:?}",
        flagged.review.flags
    );
}

/// Pushes one lead by volunteer A and returns its id.
async fn lead_of_volunteer_a(server: &TestServer) -> Uuid {
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let record = lead(volunteer.member.id, "broken street light", vec![]);
    let reply = server
        .push(&volunteer, 1, std::slice::from_ref(&record))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    record.id
}

#[tokio::test]
async fn volunteer_cannot_approve() {
    let server = TestServer::start();
    let subject = lead_of_volunteer_a(&server).await;
    let squad_mate = server.sign_in(VOLUNTEER_B).await;

    let reply = server
        .decide(&squad_mate, subject, 1, json!({ "action": "approve" }))
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body["code"], "forbidden");
}

#[tokio::test]
async fn other_squad_leader_forbidden() {
    let server = TestServer::start();
    let subject = lead_of_volunteer_a(&server).await;
    let other_leader = server.sign_in(LEADER_2).await;

    let reply = server
        .decide(&other_leader, subject, 1, json!({ "action": "approve" }))
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn leader_cannot_approve_own_lead() {
    let server = TestServer::start();
    let leader = server.sign_in(LEADER_1).await;
    let record = lead(leader.member.id, "blocked fire exit", vec![]);
    server.push(&leader, 1, std::slice::from_ref(&record)).await;

    let reply = server
        .decide(&leader, record.id, 1, json!({ "action": "approve" }))
        .await;

    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body["code"], "forbidden");
}

#[tokio::test]
async fn leader_approves_own_squad_lead() {
    let server = TestServer::start();
    let subject = lead_of_volunteer_a(&server).await;
    let leader = server.sign_in(LEADER_1).await;
    let volunteer = server.sign_in(VOLUNTEER_A).await;

    let reply = server
        .decide(&leader, subject, 1, json!({ "action": "approve" }))
        .await;
    let decision: DecisionResponse = serde_json::from_value(reply.body.clone()).unwrap();
    let pulled = server.pulled_submission(&volunteer, subject).await.unwrap();

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "applied");
    assert_eq!(decision.review.state, ReviewState::Approved);
    assert_eq!(decision.review.version, 2);
    assert_eq!(pulled.review.state, ReviewState::Approved);
}

#[tokio::test]
async fn invalid_transition_is_422() {
    let server = TestServer::start();
    let subject = lead_of_volunteer_a(&server).await;
    let leader = server.sign_in(LEADER_1).await;

    let reply = server
        .decide(
            &leader,
            subject,
            1,
            json!({ "action": "reject", "reason": " " }),
        )
        .await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["code"], "invalid_decision");
}

#[tokio::test]
async fn two_decisions_one_version() {
    let server = TestServer::start();
    let subject = lead_of_volunteer_a(&server).await;
    let leader = server.sign_in(LEADER_1).await;
    let staff = server.sign_in(BRIGADE_STAFF).await;

    let first = server
        .decide(&leader, subject, 1, json!({ "action": "approve" }))
        .await;
    let second = server
        .decide(
            &staff,
            subject,
            1,
            json!({ "action": "reject", "reason": "duplicate" }),
        )
        .await;
    let seen_by_leader = server.pulled_submission(&leader, subject).await.unwrap();

    assert_eq!(first.body["status"], "applied");
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body["status"], "conflict");
    assert_eq!(second.body["review"]["state"], "approved");
    assert_eq!(seen_by_leader.review.conflicts.len(), 1);
    assert_eq!(
        seen_by_leader.review.conflicts[0].reviewer_id,
        staff.member.id
    );
    assert_eq!(seen_by_leader.review.conflicts[0].action, "reject");
}

#[tokio::test]
async fn decision_replay_same_response() {
    let server = TestServer::start();
    let subject = lead_of_volunteer_a(&server).await;
    let leader = server.sign_in(LEADER_1).await;
    let body = json!({
        "id": Uuid::now_v7(), "device_id": leader.device_id, "subject_id": subject,
        "based_on_version": 1, "action": "approve", "decided_at": redvest_proto::Stamp::now_local(),
    });

    let first = server
        .json(Method::POST, "/v1/decisions", Some(&leader.token), &body)
        .await;
    let replay = server
        .json(Method::POST, "/v1/decisions", Some(&leader.token), &body)
        .await;

    assert_eq!(replay.body, first.body);
    assert_eq!(server.count("SELECT count(*) FROM decisions"), 1);
    assert_eq!(
        server.count("SELECT count(*) FROM audit_log WHERE action = 'approve'"),
        1
    );
}

#[tokio::test]
async fn changes_scoping() {
    let server = TestServer::start();
    let subject = lead_of_volunteer_a(&server).await;
    let cases = [
        ("owner", VOLUNTEER_A, true),
        ("squad mate", VOLUNTEER_B, false),
        ("own squad leader", LEADER_1, true),
        ("other squad leader", LEADER_2, false),
        ("other squad volunteer", VOLUNTEER_C, false),
        ("brigade staff", BRIGADE_STAFF, true),
    ];
    for (name, phone, visible) in cases {
        let session = server.sign_in(phone).await;
        let pulled = server.pulled_submission(&session, subject).await;
        assert_eq!(pulled.is_some(), visible, "{name}");
    }
}

#[tokio::test]
async fn changes_page_limit_and_cursor() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;

    let first = server
        .get("/v1/changes?after=0&limit=2", &staff.token)
        .await;
    let cursor = first.body["cursor"].as_i64().unwrap();
    let rest = server
        .get(
            &format!("/v1/changes?after={cursor}&limit=1000"),
            &staff.token,
        )
        .await;

    assert_eq!(first.body["changes"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["more"], true);
    assert_eq!(rest.body["more"], false);
    assert!(rest.body["changes"][0]["seq"].as_i64().unwrap() > cursor);
    assert_eq!(rest.body["epoch"], first.body["epoch"]);
}

#[tokio::test]
async fn members_of_own_squad_only() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let members: Vec<_> = server
        .changes(&volunteer)
        .await
        .into_iter()
        .filter_map(|change| match change.entity {
            redvest_proto::wire::Entity::Member(member) => Some(member),
            _ => None,
        })
        .collect();

    assert_eq!(members.len(), 4);
    assert!(members
        .iter()
        .all(|member| member.squad_id == volunteer.member.squad_id));
}

#[tokio::test]
async fn push_response_parses_as_wire_type() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let reply = server
        .push(&volunteer, 3, &[lead(volunteer.member.id, "x", vec![])])
        .await;

    let parsed: PushResponse = serde_json::from_value(reply.body).unwrap();

    assert_eq!(parsed.batch_seq, 3);
}
