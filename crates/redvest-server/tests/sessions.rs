//! Sessions through the router: sign-out, expiry after 30 idle days, the
//! hourly touch of the last use, and the limits on failed sign-ins.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use redvest_server::auth::token_sha256;
use redvest_server::rate_limit::{ADDRESS_LIMIT, PHONE_LIMIT, WINDOW};
use serde_json::{json, Value};
use uuid::Uuid;

async fn sign_in_from(server: &TestServer, phone: &str, password: &str, peer: &str) -> Reply {
    let body = json!({ "phone": phone, "password": password, "device_id": Uuid::now_v7() });
    let mut request = Request::post("/v1/session")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    server.send(request).await
}

fn set_last_used(server: &TestServer, session: &Session, at: DateTime<Utc>) {
    let conn = rusqlite::Connection::open(server.db_path()).unwrap();
    conn.execute(
        "UPDATE sessions SET last_used_at = ?2 WHERE token_sha256 = ?1",
        (token_sha256(&session.token), at.to_rfc3339()),
    )
    .unwrap();
}

fn last_used(server: &TestServer, session: &Session) -> DateTime<Utc> {
    let conn = rusqlite::Connection::open(server.db_path()).unwrap();
    let text: String = conn
        .query_row(
            "SELECT last_used_at FROM sessions WHERE token_sha256 = ?1",
            [token_sha256(&session.token)],
            |row| row.get(0),
        )
        .unwrap();
    text.parse().unwrap()
}

#[tokio::test]
async fn sign_out_ends_one_session() {
    let server = TestServer::start();
    let phone = server.sign_in(VOLUNTEER_A).await;
    let tablet = server.sign_in(VOLUNTEER_A).await;

    let signed_out = server
        .json(
            Method::DELETE,
            "/v1/session",
            Some(&phone.token),
            &Value::Null,
        )
        .await;
    let after = server.get("/v1/changes?after=0", &phone.token).await;
    let again = server
        .json(
            Method::DELETE,
            "/v1/session",
            Some(&phone.token),
            &Value::Null,
        )
        .await;
    let other_device = server.get("/v1/changes?after=0", &tablet.token).await;

    assert_eq!(signed_out.status, StatusCode::NO_CONTENT);
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert_eq!(other_device.status, StatusCode::OK);
    assert_eq!(server.count("SELECT count(*) FROM sessions"), 1);
}

#[tokio::test]
async fn idle_session_expires() {
    let server = TestServer::start();
    let cases = [
        ("used 29 days ago", TimeDelta::days(29), StatusCode::OK, 1),
        (
            "used 31 days ago",
            TimeDelta::days(31),
            StatusCode::UNAUTHORIZED,
            0,
        ),
    ];
    for (name, idle, status, rows_left) in cases {
        let session = server.sign_in(VOLUNTEER_A).await;
        set_last_used(&server, &session, Utc::now() - idle);

        let reply = server.get("/v1/changes?after=0", &session.token).await;

        assert_eq!(reply.status, status, "{name}");
        let rows = server.count(&format!(
            "SELECT count(*) FROM sessions WHERE token_sha256 = '{}'",
            token_sha256(&session.token)
        ));
        assert_eq!(rows, rows_left, "{name}");
    }
}

#[tokio::test]
async fn last_use_touched_hourly() {
    let server = TestServer::start();
    let session = server.sign_in(VOLUNTEER_A).await;
    let recent = Utc::now() - TimeDelta::minutes(10);
    set_last_used(&server, &session, recent);

    server.get("/v1/changes?after=0", &session.token).await;
    let within_hour = last_used(&server, &session);
    set_last_used(&server, &session, Utc::now() - TimeDelta::hours(2));
    server.get("/v1/changes?after=0", &session.token).await;
    let after_hours = last_used(&server, &session);

    assert_eq!(within_hour, recent, "not written within the hour");
    assert!(
        Utc::now() - after_hours < TimeDelta::minutes(1),
        "touched: {after_hours}"
    );
}

#[tokio::test]
async fn phone_limit_returns_429() {
    let server = TestServer::start();
    let peer = "127.0.0.1:40000";
    for attempt in 0..PHONE_LIMIT {
        let reply = sign_in_from(&server, LEADER_1, "guess", peer).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }

    let blocked = sign_in_from(&server, LEADER_1, "redvest-demo", peer).await;
    let other_phone = sign_in_from(&server, VOLUNTEER_A, "redvest-demo", peer).await;

    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(blocked.body["code"], "too_many_attempts");
    let retry_after: u64 = blocked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0, "retry-after {retry_after}");
    assert!(retry_after <= WINDOW.as_secs(), "retry-after {retry_after}");
    assert_eq!(other_phone.status, StatusCode::OK);
}

#[tokio::test]
async fn success_resets_phone_count() {
    let server = TestServer::start();
    let peer = "127.0.0.1:40000";
    for _ in 0..PHONE_LIMIT - 1 {
        sign_in_from(&server, LEADER_1, "guess", peer).await;
    }
    sign_in_from(&server, LEADER_1, "redvest-demo", peer).await;

    let wrong_again = sign_in_from(&server, LEADER_1, "guess", peer).await;

    assert_eq!(wrong_again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn address_limit_returns_429() {
    let server = TestServer::start();
    let peer = "127.0.0.7:50000";
    for index in 0..ADDRESS_LIMIT {
        let phone = format!("1390000{index:04}");
        let reply = sign_in_from(&server, &phone, "guess", peer).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {index}");
    }

    let same_address = sign_in_from(&server, LEADER_2, "redvest-demo", peer).await;
    let other_address = sign_in_from(&server, LEADER_2, "redvest-demo", "127.0.0.8:50000").await;

    assert_eq!(same_address.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(same_address.body["code"], "too_many_attempts");
    assert!(same_address.headers.contains_key("retry-after"));
    assert_eq!(other_address.status, StatusCode::OK);
}

/// Sends one sign-in over TCP and returns the status code.
async fn post_sign_in(address: SocketAddr, phone: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let body = json!({ "phone": phone, "password": "guess", "device_id": Uuid::now_v7() });
    let body = body.to_string();
    let request = format!(
        "POST /v1/session HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response[9..12].parse().unwrap()
}

#[tokio::test]
async fn limit_over_real_server() {
    let server = TestServer::start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(redvest_server::serve::serve(
        listener,
        server.store.clone(),
        async {
            stopped.await.ok();
        },
    ));

    let mut statuses = Vec::new();
    for _ in 0..=PHONE_LIMIT {
        statuses.push(post_sign_in(address, LEADER_1).await);
    }
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();

    assert_eq!(statuses[..PHONE_LIMIT], [401; PHONE_LIMIT]);
    assert_eq!(statuses[PHONE_LIMIT], 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_stay_within_limit() {
    let server = TestServer::start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(redvest_server::serve::serve(
        listener,
        server.store.clone(),
        async {
            stopped.await.ok();
        },
    ));

    let guesses: Vec<_> = (0..24)
        .map(|_| tokio::spawn(post_sign_in(address, BRIGADE_STAFF)))
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap());
    }
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();

    let wrong = statuses.iter().filter(|status| **status == 401).count();
    let limited = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!(wrong, PHONE_LIMIT, "{statuses:?}");
    assert_eq!(limited, 24 - PHONE_LIMIT, "{statuses:?}");
}

#[tokio::test]
async fn locked_phone_rejects_right_password_elsewhere() {
    let server = TestServer::start();
    for _ in 0..PHONE_LIMIT {
        sign_in_from(&server, LEADER_1, "guess", "127.0.0.20:40000").await;
    }

    let owner = sign_in_from(&server, LEADER_1, "redvest-demo", "127.0.0.21:40000").await;

    assert_eq!(owner.status, StatusCode::TOO_MANY_REQUESTS);
}
