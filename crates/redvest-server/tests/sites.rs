//! Site management through the router: who may create, replace and delete
//! sites, which sites are rejected, and what phones and the audit log see.

mod common;

use axum::http::{Method, StatusCode};
use chrono::{NaiveTime, Utc};
use common::*;
use redvest_proto::geo::Fix;
use redvest_proto::records::{ClockIn, RecordBody};
use redvest_proto::wire::{DutyWindow, Entity, Fence, SchoolCalendar, Site};
use redvest_proto::{Record, Stamp};
use redvest_server::store::SeedPlan;
use redvest_server::Storage;
use serde_json::{json, Value};
use uuid::Uuid;

/// A named change applied to a valid site.
type SiteEdit = Box<dyn Fn(&mut Site)>;

fn site(name: &str) -> Site {
    let at = |hour, minute| NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
    Site {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        fence: Fence::Circle {
            lat: 36.6450,
            lon: 117.9680,
            radius_m: 100.0,
        },
        time_zone: "Asia/Shanghai".to_owned(),
        windows: vec![DutyWindow {
            weekday: 1,
            start: at(7, 10),
            end: at(7, 50),
        }],
        calendar: SchoolCalendar::default(),
        grace_before_min: 10,
        grace_after_min: 15,
        demo: false,
    }
}

fn polygon(ring: Vec<(f64, f64)>) -> Fence {
    Fence::Polygon { ring }
}

async fn put(server: &TestServer, session: &Session, site: &Site) -> Reply {
    let path = format!("/v1/sites/{}", site.id);
    let body = serde_json::to_value(site).unwrap();
    server
        .json(Method::PUT, &path, Some(&session.token), &body)
        .await
}

async fn delete(server: &TestServer, session: &Session, id: Uuid) -> Reply {
    let path = format!("/v1/sites/{id}");
    server
        .json(Method::DELETE, &path, Some(&session.token), &Value::Null)
        .await
}

/// Returns the pulled site change with this id, if any.
async fn pulled_site(server: &TestServer, session: &Session, id: Uuid) -> Option<Entity> {
    server
        .changes(session)
        .await
        .into_iter()
        .map(|change| change.entity)
        .find(|entity| match entity {
            Entity::Site(site) => site.id == id,
            Entity::Tombstone { id: removed, .. } => *removed == id,
            _ => false,
        })
}

fn audit_count(server: &TestServer, action: &str, subject: Uuid) -> i64 {
    server.count(&format!(
        "SELECT count(*) FROM audit_log WHERE action = '{action}' AND subject_id = '{subject}'"
    ))
}

#[tokio::test]
async fn put_site_by_role() {
    let server = TestServer::start();
    let cases = [
        ("volunteer", VOLUNTEER_A, StatusCode::FORBIDDEN),
        ("squad leader", LEADER_1, StatusCode::FORBIDDEN),
        ("brigade staff", BRIGADE_STAFF, StatusCode::OK),
    ];
    for (name, phone, status) in cases {
        let session = server.sign_in(phone).await;
        let new_site = site("南门");

        let reply = put(&server, &session, &new_site).await;

        assert_eq!(reply.status, status, "{name}: {}", reply.body);
        if status == StatusCode::FORBIDDEN {
            assert_eq!(reply.body["code"], "forbidden", "{name}");
        }
    }
}

#[tokio::test]
async fn put_site_reaches_phones_and_audit() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let volunteer = server.sign_in(VOLUNTEER_C).await;
    let mut new_site = site("  实验小学北门  ");

    let created = put(&server, &staff, &new_site).await;
    let first_pull = pulled_site(&server, &volunteer, new_site.id).await;
    new_site.name = "实验小学北门（新）".to_owned();
    let replaced = put(&server, &staff, &new_site).await;
    let second_pull = pulled_site(&server, &volunteer, new_site.id).await;

    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.body["name"], "实验小学北门", "name trimmed");
    assert!(
        matches!(first_pull, Some(Entity::Site(ref pulled)) if pulled.name == "实验小学北门"),
        "{first_pull:?}"
    );
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert!(
        matches!(second_pull, Some(Entity::Site(ref pulled)) if pulled == &new_site),
        "{second_pull:?}"
    );
    assert_eq!(
        server.count(&format!(
            "SELECT count(*) FROM changes WHERE entity_id = '{}'",
            new_site.id
        )),
        1,
        "one change per site"
    );
    assert_eq!(audit_count(&server, "create_site", new_site.id), 1);
    assert_eq!(audit_count(&server, "update_site", new_site.id), 1);
    assert!(server.store.audit_verify().unwrap().first_break.is_none());
}

#[tokio::test]
async fn invalid_sites_rejected() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let at = |hour, minute| NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
    let square = |lat: f64| {
        vec![
            (36.64, 117.97),
            (36.64, 117.971),
            (lat, 117.971),
            (lat, 117.97),
        ]
    };
    let cases: Vec<(&str, SiteEdit)> = vec![
        ("empty name", Box::new(|s| s.name = "   ".into())),
        ("long name", Box::new(|s| s.name = "门".repeat(101))),
        (
            "radius too small",
            Box::new(|s| {
                s.fence = Fence::Circle {
                    lat: 36.64,
                    lon: 117.97,
                    radius_m: 9.0,
                }
            }),
        ),
        (
            "radius too large",
            Box::new(|s| {
                s.fence = Fence::Circle {
                    lat: 36.64,
                    lon: 117.97,
                    radius_m: 2001.0,
                }
            }),
        ),
        (
            "negative radius",
            Box::new(|s| {
                s.fence = Fence::Circle {
                    lat: 36.64,
                    lon: 117.97,
                    radius_m: -100.0,
                }
            }),
        ),
        (
            "circle centre off the globe",
            Box::new(|s| {
                s.fence = Fence::Circle {
                    lat: 91.0,
                    lon: 117.97,
                    radius_m: 100.0,
                }
            }),
        ),
        (
            "polygon of two distinct vertices",
            Box::new(|s| {
                s.fence = polygon(vec![(36.64, 117.97), (36.641, 117.97), (36.64, 117.97)])
            }),
        ),
        (
            "polygon with a repeated vertex",
            Box::new(|s| {
                s.fence = polygon(vec![
                    (36.64, 117.97),
                    (36.641, 117.97),
                    (36.641, 117.97),
                    (36.64, 117.97),
                ])
            }),
        ),
        (
            "polygon vertex off the globe",
            Box::new(move |s| {
                let mut ring = square(36.641);
                ring[2].1 = 181.0;
                s.fence = polygon(ring)
            }),
        ),
        (
            "self-crossing polygon",
            Box::new(|s| {
                s.fence = polygon(vec![
                    (36.64, 117.97),
                    (36.641, 117.971),
                    (36.64, 117.971),
                    (36.641, 117.97),
                ])
            }),
        ),
        (
            "unknown time zone",
            Box::new(|s| s.time_zone = "Asia/Beijing".into()),
        ),
        (
            "window ends before it starts",
            Box::new(move |s| s.windows[0].end = at(7, 0)),
        ),
        (
            "window of zero length",
            Box::new(move |s| s.windows[0].end = at(7, 10)),
        ),
        ("weekday 0", Box::new(|s| s.windows[0].weekday = 0)),
        ("weekday 8", Box::new(|s| s.windows[0].weekday = 8)),
        (
            "grace before 121 min",
            Box::new(|s| s.grace_before_min = 121),
        ),
        ("grace after 121 min", Box::new(|s| s.grace_after_min = 121)),
    ];
    let sites_before = server.count("SELECT count(*) FROM sites");
    for (name, break_site) in cases {
        let mut bad = site("南门");
        break_site(&mut bad);

        let reply = put(&server, &staff, &bad).await;

        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            reply.body
        );
        assert_eq!(reply.body["code"], "invalid_site", "{name}");
    }
    assert_eq!(server.count("SELECT count(*) FROM sites"), sites_before);
}

#[tokio::test]
async fn edge_values_accepted() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let cases: Vec<(&str, SiteEdit)> = vec![
        (
            "name of 100 characters",
            Box::new(|s| s.name = "门".repeat(100)),
        ),
        (
            "radius 10 m",
            Box::new(|s| {
                s.fence = Fence::Circle {
                    lat: 36.64,
                    lon: 117.97,
                    radius_m: 10.0,
                }
            }),
        ),
        (
            "radius 2000 m",
            Box::new(|s| {
                s.fence = Fence::Circle {
                    lat: 36.64,
                    lon: 117.97,
                    radius_m: 2000.0,
                }
            }),
        ),
        ("grace of 120 min", Box::new(|s| s.grace_after_min = 120)),
        ("weekday 7", Box::new(|s| s.windows[0].weekday = 7)),
        (
            "closed triangle",
            Box::new(|s| {
                s.fence = polygon(vec![
                    (36.64, 117.97),
                    (36.641, 117.97),
                    (36.641, 117.971),
                    (36.64, 117.97),
                ])
            }),
        ),
    ];
    for (name, adjust) in cases {
        let mut edge = site("南门");
        adjust(&mut edge);

        let reply = put(&server, &staff, &edge).await;

        assert_eq!(reply.status, StatusCode::OK, "{name}: {}", reply.body);
    }
}

#[tokio::test]
async fn open_ring_closed_when_stored() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let mut open = site("广场");
    open.fence = polygon(vec![(36.64, 117.97), (36.641, 117.97), (36.641, 117.971)]);

    let reply = put(&server, &staff, &open).await;
    let stored: Site = serde_json::from_value(reply.body).unwrap();

    let Fence::Polygon { ring } = stored.fence else {
        panic!("stored fence is not a polygon");
    };
    assert_eq!(ring.len(), 4);
    assert_eq!(ring.first(), ring.last());
}

#[tokio::test]
async fn path_and_body_ids_differ() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let new_site = site("南门");
    let path = format!("/v1/sites/{}", Uuid::now_v7());
    let body = serde_json::to_value(&new_site).unwrap();

    let reply = server
        .json(Method::PUT, &path, Some(&staff.token), &body)
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["code"], "invalid_request");
}

fn clock_in_at(member_id: Uuid, site_id: Uuid) -> Record {
    let captured_at = Stamp::now_local();
    let fix = Fix::new(36.6450, 117.9680, Some(5.0), Utc::now(), "gps");
    Record {
        id: Uuid::now_v7(),
        member_id,
        captured_at,
        body: RecordBody::ClockIn(ClockIn {
            site_id,
            fix: Some(fix),
            fix_requested_at: None,
            monotonic: None,
        }),
    }
}

#[tokio::test]
async fn delete_site_sends_tombstone() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let leader = server.sign_in(LEADER_1).await;
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let removed = site("旧校门");
    put(&server, &staff, &removed).await;

    let by_leader = delete(&server, &leader, removed.id).await;
    let first = delete(&server, &staff, removed.id).await;
    let again = delete(&server, &staff, removed.id).await;
    let unknown = delete(&server, &staff, Uuid::now_v7()).await;
    let pulled = pulled_site(&server, &volunteer, removed.id).await;
    let clock_in = server
        .push(
            &volunteer,
            1,
            &[clock_in_at(volunteer.member.id, removed.id)],
        )
        .await;

    assert_eq!(by_leader.status, StatusCode::FORBIDDEN);
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    assert_eq!(again.status, StatusCode::NO_CONTENT, "retried delete");
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(
        matches!(pulled, Some(Entity::Tombstone { ref kind, .. }) if kind == "site"),
        "{pulled:?}"
    );
    assert_eq!(clock_in.body["results"][0]["status"], "rejected");
    assert_eq!(audit_count(&server, "delete_site", removed.id), 1);
}

#[tokio::test]
async fn deleted_site_comes_back() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let site = site("临时岗");
    put(&server, &staff, &site).await;
    delete(&server, &staff, site.id).await;

    let revived = put(&server, &staff, &site).await;
    let pulled = pulled_site(&server, &volunteer, site.id).await;

    assert_eq!(revived.status, StatusCode::OK);
    assert!(matches!(pulled, Some(Entity::Site(_))), "{pulled:?}");
    assert_eq!(audit_count(&server, "create_site", site.id), 2);
}

#[tokio::test]
async fn other_brigade_site_untouched() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let foreign = site("别的大队的校门");
    let plan = SeedPlan {
        brigade_id: Uuid::now_v7(),
        brigade_name: "另一个大队".to_owned(),
        squads: Vec::new(),
        members: Vec::new(),
        sites: vec![foreign.clone()],
    };
    server.store.seed(&plan).unwrap();
    let mut takeover = foreign.clone();
    takeover.name = "改名".to_owned();

    let put_reply = put(&server, &staff, &takeover).await;
    let delete_reply = delete(&server, &staff, foreign.id).await;

    assert_eq!(
        put_reply.status,
        StatusCode::FORBIDDEN,
        "{}",
        put_reply.body
    );
    assert_eq!(delete_reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.count(&format!(
            "SELECT count(*) FROM sites WHERE id = '{}' AND deleted_at IS NULL \
             AND json_extract(body, '$.name') = '别的大队的校门'",
            foreign.id
        )),
        1
    );
}

#[tokio::test]
async fn malformed_site_body() {
    let server = TestServer::start();
    let staff = server.sign_in(BRIGADE_STAFF).await;
    let id = Uuid::now_v7();

    let reply = server
        .json(
            Method::PUT,
            &format!("/v1/sites/{id}"),
            Some(&staff.token),
            &json!({ "id": id, "name": "缺字段" }),
        )
        .await;

    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["code"], "invalid_request");
}
