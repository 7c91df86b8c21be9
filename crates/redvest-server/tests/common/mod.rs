//! Helpers shared by the API tests: a seeded store in a temporary
//! directory, a router over it, and requests sent with `oneshot`.

#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use http_body_util::BodyExt;
use redvest_proto::geo::Fix;
use redvest_proto::records::{Lead, LeadCategory, PhotoRef, PositionSource, RecordBody};
use redvest_proto::wire::{Change, ChangesResponse, Entity, Member, SignInResponse, Submission};
use redvest_proto::{Record, Stamp};
use redvest_server::seed::{seed_demo, DEMO_PASSWORD};
use redvest_server::{router, SqliteStore};
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;
use uuid::Uuid;

/// Squad 1: leader, then three volunteers.
pub const LEADER_1: &str = "13800000001";
pub const VOLUNTEER_A: &str = "13800000002";
pub const VOLUNTEER_B: &str = "13800000003";
/// Squad 2: leader, then a volunteer.
pub const LEADER_2: &str = "13800000005";
pub const VOLUNTEER_C: &str = "13800000006";
pub const BRIGADE_STAFF: &str = "13800000009";

/// A store over a copy of a once-seeded database, and a router over it.
pub struct TestServer {
    pub dir: TempDir,
    pub store: Arc<SqliteStore>,
    pub router: Router,
}

/// A signed-in member.
pub struct Session {
    pub token: String,
    pub member: Member,
    pub device_id: Uuid,
}

/// A response with its status, headers and JSON body (`Null` when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

/// Seeds the demo district once per test binary; argon2 makes it slow.
fn template() -> &'static TempDir {
    static TEMPLATE: OnceLock<TempDir> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        seed_demo(&store).unwrap();
        drop(store);
        dir
    })
}

impl TestServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            template().path().join("redvest.db"),
            dir.path().join("redvest.db"),
        )
        .unwrap();
        Self::open(dir)
    }

    pub fn open(dir: TempDir) -> Self {
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let router = router(store.clone());
        Self { dir, store, router }
    }

    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("redvest.db")
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            bytes,
        }
    }

    pub async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        self.send(builder.body(Body::from(body.to_string())).unwrap())
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        let request = Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty());
        self.send(request.unwrap()).await
    }

    pub async fn sign_in(&self, phone: &str) -> Session {
        let device_id = Uuid::now_v7();
        let body = json!({ "phone": phone, "password": DEMO_PASSWORD, "device_id": device_id });
        let reply = self.json(Method::POST, "/v1/session", None, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "sign-in of {phone}: {}",
            reply.body
        );
        let signed_in: SignInResponse = serde_json::from_value(reply.body).unwrap();
        Session {
            token: signed_in.token,
            member: signed_in.member,
            device_id,
        }
    }

    pub async fn push(&self, session: &Session, batch_seq: i64, records: &[Record]) -> Reply {
        let body =
            json!({ "device_id": session.device_id, "batch_seq": batch_seq, "records": records });
        self.json(Method::POST, "/v1/push", Some(&session.token), &body)
            .await
    }

    pub async fn decide(
        &self,
        session: &Session,
        subject_id: Uuid,
        version: i64,
        action: Value,
    ) -> Reply {
        let mut body = json!({
            "id": Uuid::now_v7(),
            "device_id": session.device_id,
            "subject_id": subject_id,
            "based_on_version": version,
            "decided_at": Stamp::now_local(),
        });
        body.as_object_mut()
            .unwrap()
            .extend(action.as_object().unwrap().clone());
        self.json(Method::POST, "/v1/decisions", Some(&session.token), &body)
            .await
    }

    pub async fn changes(&self, session: &Session) -> Vec<Change> {
        let reply = self.get("/v1/changes?after=0", &session.token).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page: ChangesResponse = serde_json::from_value(reply.body).unwrap();
        page.changes
    }

    /// Returns the submission with this id in the caller's pull, if visible.
    pub async fn pulled_submission(&self, session: &Session, id: Uuid) -> Option<Submission> {
        self.changes(session)
            .await
            .into_iter()
            .find_map(|change| match change.entity {
                Entity::Submission(submission) if submission.record.id == id => Some(submission),
                _ => None,
            })
    }

    pub fn count(&self, sql: &str) -> i64 {
        count_rows(&self.db_path(), sql)
    }
}

pub fn count_rows(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

pub fn lead(member_id: Uuid, note: &str, photos: Vec<PhotoRef>) -> Record {
    let lead = Lead {
        category: LeadCategory::FireHazard,
        note: note.to_owned(),
        position: Some(Fix::new(36.6405, 117.9702, Some(6.0), Utc::now(), "gps")),
        position_source: PositionSource::Fix,
        address: None,
        photos,
        patrol_id: None,
    };
    Record {
        id: Uuid::now_v7(),
        member_id,
        captured_at: Stamp::now_local(),
        body: RecordBody::Lead(lead),
    }
}

/// Encodes a noisy 800×600 JPEG, so it does not compress to a few bytes.
pub fn jpeg() -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let image = image::RgbImage::from_fn(800, 600, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        image::Rgb([(x % 256) as u8, (y % 256) as u8, (state & 0xff) as u8])
    });
    let mut bytes = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80);
    image::DynamicImage::ImageRgb8(image)
        .write_with_encoder(encoder)
        .unwrap();
    bytes
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
