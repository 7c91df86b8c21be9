//! Every error response is an `ErrorBody` that names the bad value and the
//! fix, with the same status for the same kind of mistake on every route.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::json;
use uuid::Uuid;

fn assert_error_body(name: &str, reply: &Reply) {
    assert!(
        reply.body["code"].is_string(),
        "{name}: code in {:?}",
        reply.body
    );
    assert!(
        reply.body["message"].is_string(),
        "{name}: message in {:?}",
        reply.body
    );
}

#[tokio::test]
async fn routing_errors_have_bodies() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let cases = [
        (
            "unknown route",
            Method::GET,
            "/v1/nowhere",
            StatusCode::NOT_FOUND,
        ),
        (
            "wrong method",
            Method::DELETE,
            "/v1/push",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "site id not a uuid",
            Method::DELETE,
            "/v1/sites/not-a-uuid",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (name, method, path, status) in cases {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", staff.token))
            .body(Body::empty())
            .unwrap();

        let reply = server.send(request).await;

        assert_eq!(reply.status, status, "{name}");
        assert_error_body(name, &reply);
    }
}

#[tokio::test]
async fn site_path_rejection_names_value() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;

    let reply = server
        .json(
            Method::PUT,
            "/v1/sites/not-a-uuid",
            Some(&staff.token),
            &json!({}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_error_body("site path", &reply);
}

#[tokio::test]
async fn changes_cursor_must_be_integer() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let cases = [
        ("exponent", "after=9e99", "after must be an integer cursor"),
        ("missing after", "limit=5", "after is missing"),
        (
            "bad limit",
            "after=0&limit=-1",
            "limit must be a whole number",
        ),
    ];
    for (name, query, expected) in cases {
        let reply = server
            .get(&format!("/v1/changes?{query}"), &volunteer.token)
            .await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}");
        let message = reply.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{name}: {message}");
    }
}

#[tokio::test]
async fn invalid_number_names_record_index() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let good = serde_json::to_string(&lead(volunteer.member.id, "ok", vec![])).unwrap();
    let bad = good.replacen("36.6405", "NaN", 1);
    let body = format!(
        r#"{{"device_id":"{}","batch_seq":1,"records":[{good},{bad}]}}"#,
        volunteer.device_id
    );
    let request = Request::post("/v1/push")
        .header("authorization", format!("Bearer {}", volunteer.token))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();

    let reply = server.send(request).await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("record 1"), "{message}");
}

#[tokio::test]
async fn bearer_scheme_case_insensitive() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let request = Request::get("/v1/changes?after=0")
            .header("authorization", format!("{scheme} {}", volunteer.token))
            .body(Body::empty())
            .unwrap();

        let reply = server.send(request).await;

        assert_eq!(reply.status, StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn json_shape_errors_same_status() {
    let server = TestServer::start();
    let leader = server.sign_in(LEADER_1).await;
    let wrong_shape = json!({ "unexpected": true });
    let routes = [
        ("/v1/push", Some(leader.token.as_str())),
        ("/v1/decisions", Some(leader.token.as_str())),
        ("/v1/session", None),
    ];
    let mut statuses = Vec::new();
    for (path, token) in routes {
        let reply = server.json(Method::POST, path, token, &wrong_shape).await;
        assert_error_body(path, &reply);
        assert_eq!(reply.body["code"], "invalid_request", "{path}");
        statuses.push(reply.status);
    }
    let site_path = format!("/v1/sites/{}", Uuid::now_v7());
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let site = server
        .json(Method::PUT, &site_path, Some(&staff.token), &wrong_shape)
        .await;
    statuses.push(site.status);

    assert!(
        statuses
            .iter()
            .all(|status| *status == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
}
