//! Measures the shift sweep and the duty-hours query on a real SQLite store
//! in a temporary directory: a district of 1,000 volunteers with one
//! morning shift on every weekday of September 2026, half of them closed
//! by a clock-out and half left open for the sweep.
//!
//! Run with `cargo bench -p redvest-server --bench duty`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use redvest_proto::geo::Fix;
use redvest_proto::records::{ClockIn, ClockOut, RecordBody};
use redvest_proto::wire::{Member, Role};
use redvest_proto::{Record, Stamp};
use redvest_server::auth::hash_password;
use redvest_server::seed::{demo_sites, seed_demo};
use redvest_server::store::{Caller, IncomingBatch, IncomingRecord, NewMember, SeedPlan};
use redvest_server::{SqliteStore, Storage};
use uuid::Uuid;

const SQUADS: usize = 10;
const VOLUNTEERS_PER_SQUAD: usize = 100;
const BRIGADE_STAFF: &str = "13800000009";

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    seed_demo(&store).unwrap();
    let staff = caller(&store, BRIGADE_STAFF);
    let volunteers = add_volunteers(&store, staff.member.brigade_id);

    let started = Instant::now();
    let mut shifts = 0;
    for volunteer in &volunteers {
        shifts += push_month(&store, volunteer);
    }
    report("push a month of shifts", started.elapsed(), shifts);

    let now: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
    let started = Instant::now();
    let closed = store.close_open_shifts(now).unwrap();
    report(
        "first sweep, closing open shifts",
        started.elapsed(),
        closed,
    );

    let started = Instant::now();
    let closed = store.close_open_shifts(now).unwrap();
    report("steady sweep, nothing to close", started.elapsed(), closed);

    let month = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let started = Instant::now();
    let hours = store.duty_hours(&staff, month, None).unwrap();
    report(
        "duty hours, whole brigade",
        started.elapsed(),
        hours.members.len(),
    );

    let started = Instant::now();
    let own = store.duty_hours(&volunteers[0], month, None).unwrap();
    report(
        "duty hours, one volunteer",
        started.elapsed(),
        own.members.len(),
    );
}

fn report(what: &str, elapsed: Duration, count: usize) {
    println!(
        "{what:<34} {:>9.1} ms  ({count} items)",
        elapsed.as_secs_f64() * 1000.0
    );
}

fn caller(store: &SqliteStore, phone: &str) -> Caller {
    let member = store.credentials(phone).unwrap().unwrap().member;
    Caller {
        member,
        device_id: Uuid::now_v7(),
    }
}

/// Adds the volunteers in new squads of the demo brigade; one password hash
/// serves them all, because argon2 is slow on purpose.
fn add_volunteers(store: &SqliteStore, brigade_id: Uuid) -> Vec<Caller> {
    let password_hash = hash_password("bench").unwrap();
    let squads: Vec<(Uuid, String)> = (0..SQUADS)
        .map(|index| (Uuid::now_v7(), format!("bench squad {index}")))
        .collect();
    let mut members = Vec::new();
    for (squad_index, (squad_id, _)) in squads.iter().enumerate() {
        for index in 0..VOLUNTEERS_PER_SQUAD {
            let member = Member {
                id: Uuid::now_v7(),
                name: format!("volunteer {squad_index}-{index}"),
                role: Role::Volunteer,
                brigade_id,
                squad_id: Some(*squad_id),
            };
            members.push(NewMember {
                member,
                phone: format!("1500{squad_index:03}{index:04}"),
                password_hash: password_hash.clone(),
            });
        }
    }
    let plan = SeedPlan {
        brigade_id,
        brigade_name: String::new(),
        squads,
        members: members.clone(),
        sites: Vec::new(),
    };
    store.seed(&plan).unwrap();
    members
        .into_iter()
        .map(|new| Caller {
            member: new.member,
            device_id: Uuid::now_v7(),
        })
        .collect()
}

/// Pushes a 07:15 clock-in for every weekday of September 2026, with a
/// 07:55 clock-out on even days; returns the number of clock-ins.
fn push_month(store: &SqliteStore, volunteer: &Caller) -> usize {
    let site_id = demo_sites()[0].id;
    let member_id = volunteer.member.id;
    let mut records = Vec::new();
    let weekdays = (1..=30)
        .filter_map(|day| NaiveDate::from_ymd_opt(2026, 9, day))
        .filter(|date| date.weekday().number_from_monday() <= 5);
    let mut clock_ins = 0;
    for date in weekdays {
        let clock_in = record(member_id, &format!("{date}T07:15:00+08:00"), |at| {
            RecordBody::ClockIn(ClockIn {
                site_id,
                fix: Some(Fix::new(36.6432, 117.9661, Some(5.0), at, "gps")),
                fix_requested_at: None,
                monotonic: None,
            })
        });
        if date.day() % 2 == 0 {
            let shift_id = clock_in.id;
            records.push(record(member_id, &format!("{date}T07:55:00+08:00"), |_| {
                RecordBody::ClockOut(ClockOut {
                    shift_id,
                    fix: None,
                    monotonic: None,
                    auto_closed: false,
                })
            }));
        }
        records.insert(0, clock_in);
        clock_ins += 1;
    }
    let batch = IncomingBatch {
        device_id: volunteer.device_id,
        batch_seq: 1,
        sent_at: None,
        records: records
            .into_iter()
            .map(|record| IncomingRecord::Parsed(Box::new(record)))
            .collect(),
    };
    store.push(volunteer, &batch, Utc::now()).unwrap();
    clock_ins
}

fn record(member_id: Uuid, local: &str, body: impl FnOnce(DateTime<Utc>) -> RecordBody) -> Record {
    let captured_at = Stamp::from_local(DateTime::parse_from_rfc3339(local).unwrap());
    Record {
        id: Uuid::now_v7(),
        member_id,
        captured_at,
        body: body(captured_at.utc),
    }
}
