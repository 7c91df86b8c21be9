//! The SQLite store across restarts, the audit chain and seeding.

mod common;

use common::*;
use redvest_server::seed::seed_demo;
use redvest_server::{SqliteStore, Storage};
use serde_json::json;

#[test]
fn epoch_stable_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::open(dir.path()).unwrap().epoch().unwrap();
    let reopened = SqliteStore::open(dir.path()).unwrap();

    let again = reopened.epoch().unwrap();
    let reset = reopened.reset_epoch().unwrap();

    assert_eq!(again, first);
    assert_ne!(reset, first);
    assert_eq!(reopened.epoch().unwrap(), reset);
}

#[test]
fn seed_demo_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();

    let first = seed_demo(&store).unwrap();
    let changes_after_first = count_rows(
        &dir.path().join("redvest.db"),
        "SELECT count(*) FROM changes",
    );
    let second = seed_demo(&store).unwrap();

    assert_eq!(first.logins.len(), 10);
    assert_eq!(first.rows_inserted, 1 + 2 + 10 + 3);
    assert_eq!(second.rows_inserted, 0);
    assert_eq!(
        count_rows(
            &dir.path().join("redvest.db"),
            "SELECT count(*) FROM changes"
        ),
        changes_after_first
    );
}

#[tokio::test]
async fn audit_verify_detects_edited_row() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let leader = server.sign_in(LEADER_1).await;
    let record = lead(volunteer.member.id, "x", vec![]);
    server
        .push(&volunteer, 1, std::slice::from_ref(&record))
        .await;
    server
        .decide(
            &leader,
            record.id,
            1,
            json!({ "action": "reject", "reason": "not a hazard" }),
        )
        .await;

    let intact = server.store.audit_verify().unwrap();
    let conn = rusqlite::Connection::open(server.db_path()).unwrap();
    let blocked = conn.execute("UPDATE audit_log SET reason = 'edited' WHERE id = 2", []);
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET reason = 'edited' WHERE id = 2",
    )
    .unwrap();
    let tampered = server.store.audit_verify().unwrap();

    assert_eq!(intact.rows_checked, 2);
    assert_eq!(intact.first_break, None);
    assert!(blocked.is_err(), "the trigger blocks ordinary updates");
    assert_eq!(tampered.first_break.map(|found| found.row_id), Some(2));
}

#[tokio::test]
async fn audit_verify_detects_deleted_row() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let records: Vec<_> = (0..3)
        .map(|i| lead(volunteer.member.id, &format!("lead {i}"), vec![]))
        .collect();
    server.push(&volunteer, 1, &records).await;

    let conn = rusqlite::Connection::open(server.db_path()).unwrap();
    conn.execute_batch("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = 2")
        .unwrap();
    let report = server.store.audit_verify().unwrap();

    assert_eq!(report.first_break.map(|found| found.row_id), Some(3));
}

#[tokio::test]
async fn removed_site_becomes_tombstone() {
    use redvest_proto::wire::Entity;

    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let site_id = server
        .changes(&volunteer)
        .await
        .into_iter()
        .find_map(|change| match change.entity {
            Entity::Site(site) => Some(site.id),
            _ => None,
        })
        .unwrap();

    server.store.remove_site(site_id).unwrap();
    let changes = server.changes(&volunteer).await;
    let tombstones: Vec<_> = changes
        .iter()
        .filter_map(|change| match &change.entity {
            Entity::Tombstone { kind, id } => Some((kind.clone(), *id)),
            _ => None,
        })
        .collect();
    let site_still_listed = changes
        .iter()
        .any(|change| matches!(&change.entity, Entity::Site(site) if site.id == site_id));

    assert_eq!(tombstones, vec![("site".to_owned(), site_id)]);
    assert!(!site_still_listed);
    assert!(matches!(
        server.store.remove_site(site_id),
        Err(redvest_server::StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn removed_member_loses_session() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let leader = server.sign_in(LEADER_1).await;

    server.store.remove_member(volunteer.member.id).unwrap();
    let reply = server.get("/v1/changes?after=0", &volunteer.token).await;
    let seen_by_leader = server.changes(&leader).await;
    let tombstone = seen_by_leader.iter().any(|change| {
        matches!(&change.entity, redvest_proto::wire::Entity::Tombstone { id, .. } if *id == volunteer.member.id)
    });

    assert_eq!(reply.status, axum::http::StatusCode::UNAUTHORIZED);
    assert!(tombstone);
}

/// Builds a push of `count` leads by one member.
fn lead_batch(
    member_id: uuid::Uuid,
    batch_seq: i64,
    count: usize,
) -> redvest_server::store::IncomingBatch {
    use redvest_server::store::{IncomingBatch, IncomingRecord};

    let records = (0..count)
        .map(|_| IncomingRecord::Parsed(Box::new(lead(member_id, "group commit", vec![]))))
        .collect();
    IncomingBatch {
        device_id: uuid::Uuid::now_v7(),
        batch_seq,
        sent_at: None,
        records,
    }
}

#[tokio::test]
async fn concurrent_pushes_commit_in_groups() {
    use redvest_server::store::Caller;

    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    let caller = Caller {
        member: volunteer.member.clone(),
        device_id: volunteer.device_id,
    };
    // A member id that is not stored breaks the records' foreign key, so
    // this batch fails inside the transaction instead of being rejected.
    let mut ghost = caller.clone();
    ghost.member.id = uuid::Uuid::now_v7();
    let mut handles = Vec::new();
    for index in 0..32 {
        let store = server.store.clone();
        let (who, good) = if index == 7 {
            (ghost.clone(), false)
        } else {
            (caller.clone(), true)
        };
        handles.push(std::thread::spawn(move || {
            let batch = lead_batch(who.member.id, index, 5);
            let result = store.push(&who, &batch, chrono::Utc::now());
            (good, result)
        }));
    }

    let mut stored = 0;
    for handle in handles {
        let (good, result) = handle.join().unwrap();
        match result {
            Ok(ack) => {
                assert!(good, "the ghost batch was acknowledged");
                stored += ack.response.results.len();
            }
            Err(error) => assert!(!good, "a good batch failed: {error}"),
        }
    }

    assert_eq!(stored, 31 * 5);
    assert_eq!(
        server.count("SELECT count(*) FROM records WHERE kind = 'lead'"),
        31 * 5
    );
    assert_eq!(server.count("SELECT count(*) FROM push_batches"), 31);
}
