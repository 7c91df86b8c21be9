//! Review decisions that reuse an id with another body, carry oversized
//! text, or are stale and invalid: each gets a clear status and changes
//! nothing stored.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use redvest_proto::Stamp;
use serde_json::{json, Value};
use uuid::Uuid;

/// Pushes one lead by volunteer A and returns its id.
async fn lead_of_volunteer_a(server: &TestServer) -> Uuid {
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let record = lead(volunteer.member.id, "broken street light", vec![]);
    let reply = server
        .push(&volunteer, 1, std::slice::from_ref(&record))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    record.id
}

fn decision(session: &Session, subject: Uuid, version: i64, action: Value) -> Value {
    let mut body = json!({
        "id": Uuid::now_v7(),
        "device_id": session.device_id,
        "subject_id": subject,
        "based_on_version": version,
        "decided_at": Stamp::now_local(),
    });
    body.as_object_mut()
        .unwrap()
        .extend(action.as_object().unwrap().clone());
    body
}

async fn send(server: &TestServer, session: &Session, body: &Value) -> Reply {
    server
        .json(Method::POST, "/v1/decisions", Some(&session.token), body)
        .await
}

#[tokio::test]
async fn reused_id_with_other_body_conflicts() {
    let server = TestServer::start();
    let subject = lead_of_volunteer_a(&server).await;
    let leader = server.sign_in(LEADER_1).await;
    let first = decision(
        &leader,
        subject,
        1,
        json!({ "action": "escalate", "reason": "needs the brigade" }),
    );
    let mut other = first.clone();
    other["action"] = json!("reject");
    other["reason"] = json!("not a hazard");

    let applied = send(&server, &leader, &first).await;
    let reused = send(&server, &leader, &other).await;
    let replayed = send(&server, &leader, &first).await;

    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    assert_eq!(reused.status, StatusCode::CONFLICT, "{}", reused.body);
    assert_eq!(reused.body["code"], "conflict");
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    assert_eq!(replayed.body, applied.body);
}

#[tokio::test]
async fn stale_decisions_checked_like_current() {
    let server = TestServer::start();
    let subject = lead_of_volunteer_a(&server).await;
    let leader = server.sign_in(LEADER_1).await;
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let escalate = decision(&leader, subject, 1, json!({ "action": "escalate" }));
    let escalated = send(&server, &leader, &escalate).await;
    assert_eq!(escalated.status, StatusCode::OK, "{}", escalated.body);

    let mut far_offset = decision(&staff, subject, 1, json!({ "action": "approve" }));
    far_offset["decided_at"]["offset_min"] = json!(99_999);
    let cases = [
        (
            "blank reason",
            decision(
                &staff,
                subject,
                1,
                json!({ "action": "reject", "reason": "" }),
            ),
        ),
        (
            "negative version",
            decision(&staff, subject, -5, json!({ "action": "approve" })),
        ),
        ("offset of 99999 min", far_offset),
        (
            "reason of 2001 chars",
            decision(
                &staff,
                subject,
                1,
                json!({ "action": "reject", "reason": "x".repeat(2001) }),
            ),
        ),
    ];
    for (name, body) in cases {
        let reply = send(&server, &staff, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            reply.body
        );
        assert_eq!(reply.body["code"], "invalid_decision", "{name}");
    }
    assert_eq!(
        server.count("SELECT count(*) FROM decision_conflicts"),
        0,
        "no invalid decision is kept as a conflict"
    );
}

#[tokio::test]
async fn long_current_reason_rejected() {
    let server = TestServer::start();
    let subject = lead_of_volunteer_a(&server).await;
    let leader = server.sign_in(LEADER_1).await;
    let long = decision(
        &leader,
        subject,
        1,
        json!({ "action": "reject", "reason": "字".repeat(2001) }),
    );
    let longest = decision(
        &leader,
        subject,
        1,
        json!({ "action": "reject", "reason": "字".repeat(2000) }),
    );

    let rejected = send(&server, &leader, &long).await;
    let applied = send(&server, &leader, &longest).await;

    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = rejected.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("2001"), "{message}");
    assert!(message.contains("2000"), "{message}");
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
}
