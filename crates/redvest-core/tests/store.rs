//! Store tests on real SQLite files in temporary directories.

mod support;

use chrono::Utc;
use redvest_core::store::{DraftFields, LeadDraft, LeadPhoto, LocalState, Store, SCHEMA_VERSION};
use redvest_core::StoreError;
use redvest_proto::records::{LeadCategory, PatrolMode, PhotoRef, PositionSource, RecordBody};
use redvest_proto::review::{Action, ReviewState};
use redvest_proto::wire::{
    Entity, PushOutcome, PushResponse, PushResult, ReviewInfo, Role, Submission,
};
use redvest_proto::{Record, Stamp};
use support::{fix, member, page, site, TestStore};
use uuid::Uuid;

fn lead_draft(test: &TestStore, photos: usize) -> LeadDraft {
    let photos = (0..photos)
        .map(|index| {
            let bytes = vec![index as u8; 1000 + index];
            let sha256 = format!("{:064x}", index + 1);
            LeadPhoto {
                path: test.photo_file(&format!("{sha256}.jpg"), &bytes),
                photo: PhotoRef {
                    sha256,
                    bytes: bytes.len() as u64,
                    width: 1600,
                    height: 1200,
                },
            }
        })
        .collect();
    LeadDraft {
        category: LeadCategory::FireHazard,
        note: "消防通道被电动车堵住".to_owned(),
        position: Some(fix(36.6512, 117.1201)),
        position_source: PositionSource::Fix,
        address: None,
        photos,
        patrol_id: None,
    }
}

/// A submission of another member, as a pull would bring it.
fn others_submission(version: i64) -> Submission {
    let owner = member(Role::Volunteer);
    let record = Record {
        id: Uuid::now_v7(),
        member_id: owner.id,
        captured_at: Stamp::now_local(),
        body: RecordBody::Lead(redvest_proto::records::Lead {
            category: LeadCategory::Traffic,
            note: "路灯坏了".to_owned(),
            position: Some(fix(36.65, 117.12)),
            position_source: PositionSource::Fix,
            address: None,
            photos: vec![],
            patrol_id: None,
        }),
    };
    Submission {
        review: ReviewInfo {
            subject_id: record.id,
            state: ReviewState::Submitted,
            version,
            flags: vec![],
            last_reason: None,
            assignee_id: None,
            conflicts: vec![],
        },
        record,
        owner_name: "李秀英".to_owned(),
        received_at: Utc::now(),
        photos_total: 0,
        photos_received: 0,
    }
}

#[test]
fn migrations_from_empty_reach_latest() {
    let test = TestStore::new();

    let version: i64 = test
        .raw()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();

    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn reopen_keeps_device_and_records() {
    let (test, _, site) = TestStore::signed_in(Role::Volunteer);
    let device_id = test.store.device_id().unwrap();
    let receipt = test
        .store
        .clock_in(site.id, Some(fix(36.6512, 117.1201)), None, None)
        .unwrap();
    let path = test.path();
    drop(test.store);

    let reopened = Store::open(&path).unwrap();

    assert_eq!(reopened.device_id().unwrap(), device_id);
    assert_eq!(
        reopened.open_shift().unwrap().map(|shift| shift.shift_id),
        Some(receipt.shift_id)
    );
    assert_eq!(reopened.sync_status().unwrap().pending, 1);
}

#[test]
fn interrupted_migration_reruns_cleanly() {
    let TestStore { dir, store } = TestStore::new();
    let path = support::db_path(dir.path());
    drop(store);
    // Simulate a migration killed before its commit: the schema is gone and
    // user_version is back at 0, as a rolled-back transaction leaves it.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let tables: Vec<String> = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in tables {
        raw.execute_batch(&format!("DROP TABLE {table}")).unwrap();
    }
    raw.pragma_update(None, "user_version", 0).unwrap();

    let reopened = Store::open(&path);

    assert!(reopened.is_ok(), "{:?}", reopened.err());
    let version: i64 = raw
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn clock_in_writes_record_and_outbox() {
    let (test, _, site) = TestStore::signed_in(Role::Volunteer);

    let receipt = test
        .store
        .clock_in(site.id, Some(fix(36.6512, 117.1201)), None, None)
        .unwrap();

    assert!(receipt.verdict.is_clean(), "{:?}", receipt.verdict.flags);
    assert_eq!(
        test.count("SELECT COUNT(*) FROM records WHERE kind = 'clock_in'"),
        1
    );
    assert_eq!(
        test.count("SELECT COUNT(*) FROM outbox WHERE kind = 'record'"),
        1
    );
    assert_eq!(test.count("SELECT COUNT(*) FROM shifts"), 1);
}

#[test]
fn clock_in_far_away_is_kept_and_flagged() {
    let (test, _, site) = TestStore::signed_in(Role::Volunteer);

    let receipt = test
        .store
        .clock_in(site.id, Some(fix(36.70, 117.12)), None, None)
        .unwrap();

    assert!(
        receipt
            .verdict
            .flags
            .iter()
            .any(|flag| flag == "outside_fence"),
        "{:?}",
        receipt.verdict.flags
    );
    assert_eq!(test.count("SELECT COUNT(*) FROM outbox"), 1);
}

#[test]
fn bad_input_is_rejected_and_stores_nothing() {
    let (test, _, site) = TestStore::signed_in(Role::Volunteer);
    let unknown = Uuid::now_v7();
    let cases: Vec<(&str, Result<(), StoreError>, &str)> = vec![
        (
            "unknown site",
            test.store
                .clock_in(unknown, Some(fix(36.6512, 117.1201)), None, None)
                .map(drop),
            "is not known on this device",
        ),
        (
            "latitude out of range",
            test.store
                .clock_in(site.id, Some(fix(91.0, 117.1201)), None, None)
                .map(drop),
            "invalid coordinates lat 91",
        ),
        (
            "clock-out without shift",
            test.store.clock_out(false, None).map(drop),
            "no shift is open",
        ),
        (
            "fix for unknown patrol",
            test.store.record_fix(unknown, &fix(36.65, 117.12)),
            "is not known",
        ),
    ];

    for (name, result, message) in cases {
        let error = result.expect_err(name).to_string();
        assert!(error.contains(message), "{name}: {error}");
    }
    assert_eq!(test.count("SELECT COUNT(*) FROM records"), 0);
    assert_eq!(test.count("SELECT COUNT(*) FROM outbox"), 0);
}

#[test]
fn second_clock_in_needs_clock_out() {
    let (test, _, site) = TestStore::signed_in(Role::Volunteer);
    let first = test.store.clock_in(site.id, None, None, None).unwrap();

    let second = test.store.clock_in(site.id, None, None, None);
    test.store.clock_out(false, None).unwrap();

    assert!(matches!(second, Err(StoreError::ShiftAlreadyOpen(id)) if id == first.shift_id));
    assert!(test.store.open_shift().unwrap().is_none());
    assert_eq!(test.count("SELECT COUNT(*) FROM outbox"), 2);
}

#[test]
fn capture_without_session_fails() {
    let test = TestStore::new();

    let result = test.store.start_patrol(PatrolMode::Walking, None);

    assert!(matches!(result, Err(StoreError::NotSignedIn)));
}

#[test]
fn failed_capture_leaves_no_trace() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    test.raw()
        .execute_batch(
            "CREATE TRIGGER outbox_fails BEFORE INSERT ON outbox
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();

    let result = test.store.capture_lead(lead_draft(&test, 2));

    assert!(result.is_err());
    for table in ["records", "leads", "photos", "lead_photos", "outbox"] {
        assert_eq!(
            test.count(&format!("SELECT COUNT(*) FROM {table}")),
            0,
            "{table}"
        );
    }
}

#[test]
fn lead_queues_record_and_each_photo() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);

    let lead_id = test.store.capture_lead(lead_draft(&test, 3)).unwrap();

    assert_eq!(
        test.count("SELECT COUNT(*) FROM outbox WHERE kind = 'record'"),
        1
    );
    assert_eq!(
        test.count("SELECT COUNT(*) FROM outbox WHERE kind = 'photo'"),
        3
    );
    let mine = test.store.my_submissions().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].record.id, lead_id);
    assert_eq!(mine[0].local_state, LocalState::Queued);
    assert_eq!((mine[0].photos_sent, mine[0].photos_total), (0, 3));
}

#[test]
fn lead_needs_place_and_photo_files() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    let mut without_place = lead_draft(&test, 0);
    without_place.position = None;
    let mut missing_file = lead_draft(&test, 1);
    missing_file.photos[0].path = test.dir.path().join("gone.jpg");

    let place = test.store.capture_lead(without_place);
    let file = test.store.capture_lead(missing_file);

    assert!(matches!(place, Err(StoreError::LeadWithoutPlace)));
    assert!(matches!(file, Err(StoreError::MissingPhotoFile { .. })));
    assert_eq!(test.count("SELECT COUNT(*) FROM records"), 0);
}

#[test]
fn patrol_track_splits_into_chunks() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    let patrol_id = test.store.start_patrol(PatrolMode::Walking, None).unwrap();
    let start = Utc::now() + chrono::Duration::seconds(1);
    for index in 0..320 {
        let mut point = fix(36.65 + index as f64 * 0.00002, 117.12);
        point.at = start + chrono::Duration::seconds(index * 3);
        test.store.record_fix(patrol_id, &point).unwrap();
    }
    let mut cached = fix(36.65, 117.12);
    cached.at = start - chrono::Duration::minutes(20);
    test.store.record_fix(patrol_id, &cached).unwrap();

    let summary = test.store.stop_patrol(patrol_id).unwrap();

    assert_eq!(summary.stop.points_kept, 320);
    assert_eq!(summary.stop.points_rejected, 1);
    assert_eq!(summary.stop.chunks, 2);
    assert!(
        summary.stop.distance_m > 600.0,
        "{}",
        summary.stop.distance_m
    );
    assert_eq!(
        test.count("SELECT COUNT(*) FROM records WHERE kind = 'track_chunk'"),
        2
    );
    assert_eq!(
        test.count("SELECT COUNT(*) FROM records WHERE kind = 'patrol_stop'"),
        1
    );
    assert_eq!(test.count("SELECT COUNT(*) FROM outbox"), 4);
}

#[test]
fn paused_patrol_refuses_fixes() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    let patrol_id = test.store.start_patrol(PatrolMode::Cycling, None).unwrap();
    test.store.pause_patrol(patrol_id).unwrap();

    let paused = test.store.record_fix(patrol_id, &fix(36.65, 117.12));
    test.store.resume_patrol(patrol_id).unwrap();
    let resumed = test.store.record_fix(patrol_id, &fix(36.65, 117.12));
    test.store.stop_patrol(patrol_id).unwrap();
    let stopped = test.store.record_fix(patrol_id, &fix(36.65, 117.12));

    assert!(matches!(
        paused,
        Err(StoreError::PatrolState {
            state: "paused",
            ..
        })
    ));
    assert!(resumed.is_ok());
    assert!(matches!(
        stopped,
        Err(StoreError::PatrolState {
            state: "stopped",
            ..
        })
    ));
}

#[test]
fn decide_never_touches_review_row() {
    let (test, _, _) = TestStore::signed_in(Role::SquadLeader);
    let submission = others_submission(3);
    let subject_id = submission.record.id;
    test.store
        .apply_changes(&page(2, vec![Entity::Submission(submission)]))
        .unwrap();
    let read_row = || -> String {
        test.raw()
            .query_row(
                "SELECT json_array(state, version, flags, reason, conflicts) FROM reviews",
                [],
                |row| row.get(0),
            )
            .unwrap()
    };
    let before = read_row();

    let decision_id = test.store.decide(subject_id, Action::Approve).unwrap();

    assert_eq!(read_row(), before);
    assert_eq!(
        test.count("SELECT COUNT(*) FROM outbox WHERE kind = 'decision'"),
        1
    );
    let queued = test.store.queued_decisions().unwrap();
    assert_eq!(queued[0].id, decision_id);
    assert_eq!(queued[0].based_on_version, 3);
    let queue = test.store.review_queue().unwrap();
    assert_eq!(queue[0].pending_decision, Some(Action::Approve));
}

#[test]
fn decide_checks_the_transition() {
    let (test, _, _) = TestStore::signed_in(Role::SquadLeader);
    let submission = others_submission(1);
    let subject_id = submission.record.id;
    test.store
        .apply_changes(&page(2, vec![Entity::Submission(submission)]))
        .unwrap();

    let empty_reason = test.store.decide(
        subject_id,
        Action::Reject {
            reason: " ".to_owned(),
        },
    );
    let unknown = test.store.decide(Uuid::now_v7(), Action::Approve);

    assert!(matches!(
        empty_reason,
        Err(StoreError::DecisionNotAllowed(_))
    ));
    assert!(matches!(unknown, Err(StoreError::UnknownSubmission(_))));
    assert_eq!(test.count("SELECT COUNT(*) FROM outbox"), 0);
}

#[test]
fn pull_page_and_cursor_are_atomic() {
    let (test, _, _) = TestStore::signed_in(Role::SquadLeader);
    test.raw()
        .execute_batch(
            "CREATE TRIGGER reviews_fail BEFORE INSERT ON reviews
             BEGIN SELECT RAISE(ABORT, 'crash mid-page'); END;",
        )
        .unwrap();
    let failing = page(
        2,
        vec![
            Entity::Site(site("菜市场")),
            Entity::Submission(others_submission(1)),
        ],
    );

    let result = test.store.apply_changes(&failing);

    assert!(result.is_err());
    assert_eq!(test.store.cursor().unwrap(), 1);
    assert_eq!(test.store.sites().unwrap().len(), 1);
}

#[test]
fn own_submission_updates_review_only() {
    let (test, member, site) = TestStore::signed_in(Role::Volunteer);
    let receipt = test
        .store
        .clock_in(site.id, Some(fix(36.70, 117.12)), None, None)
        .unwrap();
    let batch = test.store.next_push_batch(200).unwrap().unwrap();
    let mut submission = others_submission(1);
    submission.record = batch.records[0].clone();
    submission.review.subject_id = receipt.shift_id;
    submission.review.state = ReviewState::Rejected;
    submission.review.last_reason = Some("不在校门口".to_owned());
    assert_eq!(submission.record.member_id, member.id);

    test.store
        .apply_changes(&page(2, vec![Entity::Submission(submission)]))
        .unwrap();

    assert!(test.store.review_queue().unwrap().is_empty());
    let mine = test.store.my_submissions().unwrap();
    let review = mine[0].review.as_ref().unwrap();
    assert_eq!(review.state, ReviewState::Rejected);
    assert_eq!(review.reason.as_deref(), Some("不在校门口"));
}

#[test]
fn push_batch_is_stable_until_acknowledged() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    for _ in 0..3 {
        let patrol_id = test.store.start_patrol(PatrolMode::Walking, None).unwrap();
        test.store.stop_patrol(patrol_id).unwrap();
    }

    let first = test.store.next_push_batch(4).unwrap().unwrap();
    let retry = test.store.next_push_batch(4).unwrap().unwrap();

    assert_eq!(retry, first);
    assert_eq!(first.records.len(), 4);
}

#[test]
fn acknowledgement_marks_only_named_records() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    for _ in 0..2 {
        let patrol_id = test.store.start_patrol(PatrolMode::Walking, None).unwrap();
        test.store.stop_patrol(patrol_id).unwrap();
    }
    let batch = test.store.next_push_batch(200).unwrap().unwrap();
    let ids: Vec<Uuid> = batch.records.iter().map(|record| record.id).collect();
    let response = PushResponse {
        batch_seq: batch.batch_seq,
        results: vec![
            PushResult {
                id: ids[0],
                outcome: PushOutcome::Stored { server_seq: 10 },
            },
            PushResult {
                id: ids[1],
                outcome: PushOutcome::Rejected {
                    reason: "bad body".to_owned(),
                },
            },
        ],
    };

    let counts = test
        .store
        .apply_push_response(batch.batch_seq, &response)
        .unwrap();
    let next = test.store.next_push_batch(200).unwrap().unwrap();

    assert_eq!((counts.stored, counts.rejected, counts.unnamed), (1, 1, 2));
    assert_eq!(next.batch_seq, batch.batch_seq + 1);
    assert_eq!(
        next.records
            .iter()
            .map(|record| record.id)
            .collect::<Vec<_>>(),
        ids[2..].to_vec()
    );
    assert_eq!(test.store.sync_status().unwrap().rejected, 1);
}

#[test]
fn new_epoch_requeues_everything() {
    let (test, _, site) = TestStore::signed_in(Role::Volunteer);
    test.store.clock_in(site.id, None, None, None).unwrap();
    let batch = test.store.next_push_batch(200).unwrap().unwrap();
    let stored = PushResult {
        id: batch.records[0].id,
        outcome: PushOutcome::Stored { server_seq: 1 },
    };
    let response = PushResponse {
        batch_seq: batch.batch_seq,
        results: vec![stored],
    };
    test.store
        .apply_push_response(batch.batch_seq, &response)
        .unwrap();
    let first_epoch = Uuid::now_v7();

    let adopted_first = test.store.adopt_epoch(first_epoch).unwrap();
    let same_again = test.store.adopt_epoch(first_epoch).unwrap();
    let replaced = test.store.adopt_epoch(Uuid::now_v7()).unwrap();

    assert!(!adopted_first);
    assert!(!same_again);
    assert!(replaced);
    assert_eq!(test.store.cursor().unwrap(), 0);
    assert_eq!(test.store.sync_status().unwrap().pending, 1);
    assert_eq!(
        test.store.next_push_batch(200).unwrap().unwrap().records,
        batch.records
    );
}

#[test]
fn session_never_stores_a_token() {
    let (test, member, _) = TestStore::signed_in(Role::Volunteer);

    let (stored, url) = test.store.session().unwrap().unwrap();
    test.store.clear_session().unwrap();

    assert_eq!(stored, member);
    assert_eq!(url, "http://127.0.0.1:9");
    assert!(test.store.session().unwrap().is_none());
    let columns = test.count(
        "SELECT COUNT(*) FROM pragma_table_info('session_member') WHERE name LIKE '%token%'",
    );
    assert_eq!(columns, 0);
}

#[test]
fn nearest_site_measures_to_fence() {
    let (test, _, site) = TestStore::signed_in(Role::Volunteer);

    let (nearest, distance) = test.store.nearest_site(36.6512, 117.1201).unwrap().unwrap();
    let invalid = test.store.nearest_site(f64::NAN, 117.0);

    assert_eq!(nearest.id, site.id);
    assert_eq!(distance, 0.0);
    assert!(matches!(
        invalid,
        Err(StoreError::InvalidCoordinates { .. })
    ));
}

#[test]
fn rejected_lead_drops_photo_uploads() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    test.store.capture_lead(lead_draft(&test, 2)).unwrap();
    let batch = test.store.next_push_batch(200).unwrap().unwrap();
    let rejected = PushResult {
        id: batch.records[0].id,
        outcome: PushOutcome::Rejected {
            reason: "note too long".to_owned(),
        },
    };
    let response = PushResponse {
        batch_seq: batch.batch_seq,
        results: vec![rejected],
    };

    test.store
        .apply_push_response(batch.batch_seq, &response)
        .unwrap();

    assert_eq!(test.count("SELECT COUNT(*) FROM outbox"), 0);
    assert_eq!(test.store.sync_status().unwrap().rejected, 1);
    assert!(test.store.photos_to_upload().unwrap().is_empty());
}

/// The capture form of `lead_draft` as the member would leave it.
fn draft_fields(draft: LeadDraft) -> DraftFields {
    DraftFields {
        category: Some(draft.category),
        note: draft.note,
        photos: draft.photos,
        position: draft.position,
        position_source: Some(draft.position_source),
        address: draft.address,
        patrol_id: draft.patrol_id,
    }
}

#[test]
fn draft_saves_replace_and_survive_reopen() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    let first = Uuid::now_v7();
    let second = Uuid::now_v7();
    let typed = DraftFields {
        note: "楼道".to_owned(),
        ..DraftFields::default()
    };
    let finished = draft_fields(lead_draft(&test, 2));
    test.store.save_draft(first, &typed).unwrap();
    test.store.save_draft(second, &typed).unwrap();
    test.store.save_draft(first, &finished).unwrap();
    let path = test.path();
    drop(test.store);

    let reopened = Store::open(&path).unwrap();
    let drafts = reopened.drafts().unwrap();

    let ids: Vec<Uuid> = drafts.iter().map(|draft| draft.id).collect();
    assert_eq!(ids, vec![first, second]);
    assert_eq!(drafts[0].fields, finished);
    assert_eq!(drafts[1].fields, typed);
    assert_eq!(reopened.sync_status().unwrap().pending, 0);
}

#[test]
fn capture_from_draft_writes_lead_and_deletes_draft() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    let id = Uuid::now_v7();
    let fields = draft_fields(lead_draft(&test, 2));
    test.store.save_draft(id, &fields).unwrap();

    let lead_id = test.store.capture_lead_from_draft(id).unwrap();
    let again = test.store.capture_lead_from_draft(id);

    assert!(test.store.drafts().unwrap().is_empty());
    assert!(matches!(again, Err(StoreError::UnknownDraft(missing)) if missing == id));
    let json: String = test
        .raw()
        .query_row(
            "SELECT json FROM records WHERE id = ?1",
            [lead_id.to_string()],
            |row| row.get(0),
        )
        .unwrap();
    let record: Record = serde_json::from_str(&json).unwrap();
    let RecordBody::Lead(lead) = record.body else {
        panic!("record {lead_id} is not a lead");
    };
    assert_eq!(lead.note, fields.note);
    assert_eq!(lead.photos.len(), 2);
    // The lead record and one upload per photo.
    assert_eq!(test.store.sync_status().unwrap().pending, 3);
}

#[test]
fn incomplete_draft_is_kept() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    let complete = draft_fields(lead_draft(&test, 0));
    let cases = [
        (
            "no category",
            DraftFields {
                category: None,
                ..complete.clone()
            },
        ),
        (
            "no place",
            DraftFields {
                position: None,
                address: Some("  ".to_owned()),
                ..complete.clone()
            },
        ),
        (
            "photo file gone",
            DraftFields {
                photos: lead_draft(&test, 1)
                    .photos
                    .into_iter()
                    .map(|mut photo| {
                        photo.path = test.dir.path().join("deleted.jpg");
                        photo
                    })
                    .collect(),
                ..complete.clone()
            },
        ),
    ];
    for (name, fields) in cases {
        let id = Uuid::now_v7();
        test.store.save_draft(id, &fields).unwrap();

        let captured = test.store.capture_lead_from_draft(id);

        assert!(captured.is_err(), "{name}: captured anyway");
        let kept = test.store.drafts().unwrap();
        assert!(
            kept.iter().any(|draft| draft.id == id),
            "{name}: draft lost"
        );
        assert_eq!(
            test.store.sync_status().unwrap().pending,
            0,
            "{name}: queued"
        );
    }
}

#[test]
fn discard_draft_reports_whether_it_existed() {
    let (test, _, _) = TestStore::signed_in(Role::Volunteer);
    let id = Uuid::now_v7();
    test.store.save_draft(id, &DraftFields::default()).unwrap();

    let first = test.store.discard_draft(id).unwrap();
    let second = test.store.discard_draft(id).unwrap();

    assert!(first);
    assert!(!second);
    assert!(test.store.drafts().unwrap().is_empty());
}

#[test]
fn overdue_shift_closes_at_window_end() {
    let (test, _, site) = TestStore::signed_in(Role::Volunteer);
    test.store.clock_in(site.id, None, None, None).unwrap();
    let clock_in_at = test.store.open_shift().unwrap().unwrap().clock_in_at;
    let closes_at = redvest_proto::duty::auto_close_at(&site, clock_in_at).unwrap();

    let early = test
        .store
        .close_overdue_shift(closes_at - chrono::Duration::seconds(1))
        .unwrap();
    let closed = test
        .store
        .close_overdue_shift(closes_at + chrono::Duration::hours(1))
        .unwrap();

    assert_eq!(early, None);
    let record_id = closed.expect("the shift is overdue").to_string();
    assert!(test.store.open_shift().unwrap().is_none());
    let (json, clock_out_at): (String, String) = test
        .raw()
        .query_row(
            "SELECT r.json, s.clock_out_at FROM records r JOIN shifts s ON s.clock_out_id = r.id WHERE r.id = ?1",
            [&record_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let record: redvest_proto::Record = serde_json::from_str(&json).unwrap();
    assert_eq!(record.captured_at.utc, closes_at);
    assert_eq!(clock_out_at, closes_at.to_rfc3339());
    assert!(matches!(record.body, redvest_proto::RecordBody::ClockOut(ref out) if out.auto_closed));
}

#[test]
fn another_member_pulls_from_start() {
    let (test, volunteer, _) = TestStore::signed_in(Role::Volunteer);
    test.store.apply_changes(&page(40, Vec::new())).unwrap();
    let cursor_before = test.store.cursor().unwrap();
    let leader = member(Role::SquadLeader);

    test.store
        .set_session(&volunteer, "http://127.0.0.1:9")
        .unwrap();
    let same_member = test.store.cursor().unwrap();
    test.store
        .set_session(&leader, "http://127.0.0.1:9")
        .unwrap();
    let switched = test.store.cursor().unwrap();
    test.store.apply_changes(&page(7, Vec::new())).unwrap();
    test.store.clear_session().unwrap();

    assert!(cursor_before > 0, "the page moved the cursor");
    assert_eq!(same_member, cursor_before);
    assert_eq!(switched, 0);
    assert_eq!(test.store.cursor().unwrap(), 0);
}

#[test]
fn open_shift_belongs_to_signed_in_member() {
    let (test, volunteer, site) = TestStore::signed_in(Role::Volunteer);
    test.store.clock_in(site.id, None, None, None).unwrap();
    let leader = member(Role::SquadLeader);

    test.store
        .set_session(&leader, "http://127.0.0.1:9")
        .unwrap();
    let seen_by_leader = test.store.open_shift().unwrap();
    let leader_clock_out = test.store.clock_out(false, None);
    test.store
        .set_session(&volunteer, "http://127.0.0.1:9")
        .unwrap();
    let seen_by_owner = test.store.open_shift().unwrap();

    assert!(seen_by_leader.is_none());
    assert!(matches!(leader_clock_out, Err(StoreError::NoOpenShift)));
    assert!(seen_by_owner.is_some());
}
