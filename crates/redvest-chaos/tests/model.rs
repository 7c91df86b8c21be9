//! Seeded model test: volunteers capture leads and a squad leader and a
//! brigade member decide on them, each device going offline and online at
//! random. Every step is also applied to a simple sequential model of the
//! server (records, review state and version, decision outcomes); after
//! everyone syncs, the real databases must match the model.
//!
//! A failure prints its seed; `CHAOS_SEED=N cargo test -p redvest-chaos
//! --test model` replays that seed alone.

use std::collections::BTreeMap;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redvest_chaos::capture::capture_lead;
use redvest_chaos::harness::{seed_data_dir, BRIGADE, LEADER_1};
use redvest_chaos::{check, Device, LocalServer};
use redvest_core::sync::SyncClient;
use redvest_proto::review::{transition, Action, ReviewState, Reviewer};
use uuid::Uuid;

/// Squad 1 volunteers, whose submissions both reviewers see.
const SQUAD_1: [&str; 3] = ["13800000002", "13800000003", "13800000004"];
const STEPS: usize = 80;
const SEEDS: std::ops::RangeInclusive<u64> = 1..=6;
/// A closed port: a device pointed here is offline.
const OFFLINE_URL: &str = "http://127.0.0.1:9";

/// What the model expects of one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Queued,
    Applied,
    Conflict,
    Rejected,
}

impl Expected {
    fn as_str(self) -> &'static str {
        match self {
            Expected::Queued => "queued",
            Expected::Applied => "applied",
            Expected::Conflict => "conflict",
            Expected::Rejected => "rejected",
        }
    }
}

/// A decision queued on a reviewer device, in queue order.
struct QueuedDecision {
    id: Uuid,
    subject: Uuid,
    based_on: i64,
    action: Action,
}

/// The sequential model of the server's review state.
#[derive(Default)]
struct Model {
    /// Subject id to (state, version) as the server stores it.
    reviews: BTreeMap<Uuid, (ReviewState, i64)>,
    decisions: BTreeMap<Uuid, Expected>,
}

impl Model {
    /// Applies a reviewer's queued decisions in order, as one sync sends them.
    fn send(&mut self, queue: &mut Vec<QueuedDecision>, role: Reviewer) {
        for decision in queue.drain(..) {
            let (state, version) = self.reviews[&decision.subject];
            let outcome = if decision.based_on < version {
                Expected::Conflict
            } else {
                match transition(state, &decision.action, role) {
                    Ok(next) => {
                        self.reviews.insert(decision.subject, (next, version + 1));
                        Expected::Applied
                    }
                    Err(_) => Expected::Rejected,
                }
            };
            self.decisions.insert(decision.id, outcome);
        }
    }
}

struct Reviewing {
    device: Device,
    role: Reviewer,
    queue: Vec<QueuedDecision>,
    online: bool,
}

struct Capturing {
    device: Device,
    /// Lead ids committed but not yet acknowledged by the server.
    unsent: Vec<Uuid>,
    online: bool,
}

async fn set_online(device: &mut Device, server_url: &str, online: bool) {
    let url = if online { server_url } else { OFFLINE_URL };
    device.client = SyncClient::new(url).unwrap();
}

fn random_action(role: Reviewer, rng: &mut StdRng) -> Action {
    let reason = || "does not match the photo".to_owned();
    match (role, rng.gen_range(0..3)) {
        (_, 0) => Action::Approve,
        (_, 1) => Action::Reject { reason: reason() },
        (Reviewer::SquadLeader, _) => Action::Escalate { reason: None },
        _ => Action::Approve,
    }
}

async fn run_seed(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    seed_data_dir(&server_dir).unwrap();
    let server = LocalServer::start(&server_dir).await.unwrap();
    let url = server.url();

    let mut volunteers = Vec::new();
    for (index, phone) in SQUAD_1.iter().enumerate() {
        let device = Device::sign_in(
            &dir.path().join(format!("volunteer-{index}.db")),
            &url,
            phone,
        )
        .await
        .unwrap();
        volunteers.push(Capturing {
            device,
            unsent: Vec::new(),
            online: true,
        });
    }
    let mut reviewers = Vec::new();
    for (name, phone, role) in [
        ("leader", LEADER_1, Reviewer::SquadLeader),
        ("brigade", BRIGADE, Reviewer::Brigade),
    ] {
        let device = Device::sign_in(&dir.path().join(format!("{name}.db")), &url, phone)
            .await
            .unwrap();
        reviewers.push(Reviewing {
            device,
            role,
            queue: Vec::new(),
            online: true,
        });
    }

    let mut model = Model::default();
    for _ in 0..STEPS {
        match rng.gen_range(0..10) {
            0..=2 => {
                let volunteer = &mut volunteers[rng.gen_range(0..SQUAD_1.len())];
                let id = capture_lead(
                    &volunteer.device.store,
                    &volunteer.device.photo_dir,
                    &mut rng,
                )
                .unwrap();
                volunteer.unsent.push(id);
            }
            3 | 4 => {
                let volunteer = &mut volunteers[rng.gen_range(0..SQUAD_1.len())];
                volunteer.online = !volunteer.online;
                set_online(&mut volunteer.device, &url, volunteer.online).await;
            }
            5 => {
                let reviewer = &mut reviewers[rng.gen_range(0..2)];
                reviewer.online = !reviewer.online;
                set_online(&mut reviewer.device, &url, reviewer.online).await;
            }
            6 | 7 => {
                let volunteer = &mut volunteers[rng.gen_range(0..SQUAD_1.len())];
                sync_volunteer(volunteer, &mut model).await;
            }
            8 => {
                let reviewer = &mut reviewers[rng.gen_range(0..2)];
                sync_reviewer(reviewer, &mut model).await;
            }
            _ => {
                let reviewer = &mut reviewers[rng.gen_range(0..2)];
                decide_something(reviewer, &mut rng);
            }
        }
    }

    for volunteer in &mut volunteers {
        set_online(&mut volunteer.device, &url, true).await;
        volunteer.online = true;
        sync_volunteer(volunteer, &mut model).await;
    }
    for _ in 0..2 {
        for reviewer in &mut reviewers {
            set_online(&mut reviewer.device, &url, true).await;
            reviewer.online = true;
            sync_reviewer(reviewer, &mut model).await;
        }
    }
    server.stop().await;
    check_against_model(seed, &model, &volunteers, &reviewers, &server_dir);
}

async fn sync_volunteer(volunteer: &mut Capturing, model: &mut Model) {
    let outcome = volunteer.device.sync().await;
    assert_eq!(
        outcome.is_ok(),
        volunteer.online,
        "volunteer sync outcome while online={}: {outcome:?}",
        volunteer.online
    );
    if !volunteer.online {
        return;
    }
    for id in volunteer.unsent.drain(..) {
        model.reviews.insert(id, (ReviewState::Submitted, 1));
    }
}

async fn sync_reviewer(reviewer: &mut Reviewing, model: &mut Model) {
    let outcome = reviewer.device.sync().await;
    assert_eq!(
        outcome.is_ok(),
        reviewer.online,
        "reviewer sync outcome while online={}: {outcome:?}",
        reviewer.online
    );
    if reviewer.online {
        model.send(&mut reviewer.queue, reviewer.role);
    }
}

/// Queues a random decision on a random open item of the reviewer's local queue.
fn decide_something(reviewer: &mut Reviewing, rng: &mut StdRng) {
    let items = reviewer.device.store.review_queue().unwrap();
    if items.is_empty() {
        return;
    }
    let item = &items[rng.gen_range(0..items.len())];
    let action = random_action(reviewer.role, rng);
    if transition(item.review.state, &action, reviewer.role).is_err() {
        return;
    }
    let id = reviewer
        .device
        .store
        .decide(item.record.id, action.clone())
        .unwrap();
    let based_on = item.review.version;
    reviewer.queue.push(QueuedDecision {
        id,
        subject: item.record.id,
        based_on,
        action,
    });
}

fn check_against_model(
    seed: u64,
    model: &Model,
    volunteers: &[Capturing],
    reviewers: &[Reviewing],
    server_dir: &Path,
) {
    let mut dbs: Vec<&Path> = volunteers
        .iter()
        .map(|v| v.device.db_path.as_path())
        .collect();
    dbs.extend(reviewers.iter().map(|r| r.device.db_path.as_path()));
    let report = check::compare(&dbs, server_dir).unwrap();
    report.assert_clean(&format!("model seed {seed}"));

    let server = check::open_read_only(&server_dir.join("redvest.db")).unwrap();
    for (subject, (state, version)) in &model.reviews {
        let stored: (String, i64) = server
            .query_row(
                "SELECT state, version FROM reviews WHERE subject_id = ?1",
                [subject.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            stored,
            (state.as_str().to_owned(), *version),
            "seed {seed}: review of {subject}"
        );
    }

    for reviewer in reviewers {
        let local = check::open_read_only(&reviewer.device.db_path).unwrap();
        let mut statement = local.prepare("SELECT id, state FROM decisions").unwrap();
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .unwrap();
        for row in rows {
            let (id, state) = row.unwrap();
            let id = Uuid::parse_str(&id).unwrap();
            let expected = model
                .decisions
                .get(&id)
                .copied()
                .unwrap_or(Expected::Queued);
            assert_eq!(state, expected.as_str(), "seed {seed}: decision {id}");
        }
        for (subject, (state, version)) in &model.reviews {
            let seen: Option<(String, i64)> = local
                .query_row(
                    "SELECT state, version FROM reviews WHERE subject_id = ?1",
                    [subject.to_string()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .ok();
            assert_eq!(
                seen,
                Some((state.as_str().to_owned(), *version)),
                "seed {seed}: reviewer view of {subject}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_chain_matches_model() {
    let seeds: Vec<u64> = match std::env::var("CHAOS_SEED") {
        Ok(seed) => vec![seed.parse().expect("CHAOS_SEED is a number")],
        Err(_) => SEEDS.collect(),
    };
    for seed in seeds {
        println!("model seed {seed}");
        run_seed(seed).await;
    }
}
