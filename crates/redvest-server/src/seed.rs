//! Demo data for `seed-demo`: one brigade of two squads and three school-gate
//! sites near the Zichuan district centre (about 36.64 N, 117.97 E), all
//! marked as demo. Ids are UUIDv5 of fixed names, so seeding twice inserts
//! nothing the second time.

use chrono::NaiveTime;
use redvest_proto::wire::{DutyWindow, Fence, Member, Role, SchoolCalendar, Site};
use uuid::Uuid;

use crate::auth::hash_password;
use crate::store::{NewMember, SeedPlan, Storage, StoreError};

/// The password of every demo member.
pub const DEMO_PASSWORD: &str = "redvest-demo";

const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a9e_4d0b_4e57_9a3c_1b7d_52e8_a0f4);

/// A demo member as printed for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLogin {
    pub phone: String,
    pub name: String,
    pub role: Role,
}

/// What `seed-demo` did.
#[derive(Debug, Clone)]
pub struct SeedSummary {
    pub rows_inserted: usize,
    pub logins: Vec<DemoLogin>,
}

/// Inserts the demo district where absent.
pub fn seed_demo(store: &dyn Storage) -> Result<SeedSummary, StoreError> {
    let plan = demo_plan()?;
    let logins = plan
        .members
        .iter()
        .map(|new| DemoLogin {
            phone: new.phone.clone(),
            name: new.member.name.clone(),
            role: new.member.role,
        })
        .collect();
    let rows_inserted = store.seed(&plan)?;
    tracing::info!(rows_inserted, "seeded demo data");
    Ok(SeedSummary {
        rows_inserted,
        logins,
    })
}

fn demo_id(name: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

fn demo_plan() -> Result<SeedPlan, StoreError> {
    let brigade_id = demo_id("brigade");
    let squads = vec![
        (demo_id("squad-1"), "第一中队（演示）".to_owned()),
        (demo_id("squad-2"), "第二中队（演示）".to_owned()),
    ];
    let people = [
        ("张建国（演示）", Role::SquadLeader, Some(0)),
        ("李秀英（演示）", Role::Volunteer, Some(0)),
        ("王磊（演示）", Role::Volunteer, Some(0)),
        ("刘芳（演示）", Role::Volunteer, Some(0)),
        ("陈志强（演示）", Role::SquadLeader, Some(1)),
        ("杨丽（演示）", Role::Volunteer, Some(1)),
        ("赵军（演示）", Role::Volunteer, Some(1)),
        ("黄敏（演示）", Role::Volunteer, Some(1)),
        ("周海涛（演示）", Role::Brigade, None),
        ("吴静（演示）", Role::Brigade, None),
    ];
    let mut members = Vec::with_capacity(people.len());
    for (index, (name, role, squad)) in people.into_iter().enumerate() {
        let phone = format!("138{:08}", index + 1);
        let member = Member {
            id: demo_id(&format!("member-{phone}")),
            name: name.to_owned(),
            role,
            brigade_id,
            squad_id: squad.map(|squad: usize| squads[squad].0),
        };
        let password_hash = hash_password(DEMO_PASSWORD).map_err(|error| {
            StoreError::invalid("seed", format!("hashing the demo password failed: {error}"))
        })?;
        members.push(NewMember {
            member,
            phone,
            password_hash,
        });
    }
    Ok(SeedPlan {
        brigade_id,
        brigade_name: "红马甲演示大队".to_owned(),
        squads,
        members,
        sites: demo_sites(),
    })
}

/// Returns the three demo school gates.
pub fn demo_sites() -> Vec<Site> {
    let concave_ring = vec![
        (36.6410, 117.9700),
        (36.6410, 117.9712),
        (36.6406, 117.9712),
        (36.6406, 117.9705),
        (36.6400, 117.9705),
        (36.6400, 117.9700),
        (36.6410, 117.9700),
    ];
    vec![
        school_gate(
            "site-1",
            "城关实验小学南门（演示）",
            Fence::Circle {
                lat: 36.6432,
                lon: 117.9661,
                radius_m: 120.0,
            },
        ),
        school_gate(
            "site-2",
            "般阳路小学东门（演示）",
            Fence::Circle {
                lat: 36.6381,
                lon: 117.9748,
                radius_m: 90.0,
            },
        ),
        school_gate(
            "site-3",
            "淄川第二中学北门（演示）",
            Fence::Polygon { ring: concave_ring },
        ),
    ]
}

fn school_gate(key: &str, name: &str, fence: Fence) -> Site {
    Site {
        id: demo_id(key),
        name: name.to_owned(),
        fence,
        time_zone: "Asia/Shanghai".to_owned(),
        windows: school_day_windows(),
        calendar: SchoolCalendar::default(),
        grace_before_min: 10,
        grace_after_min: 15,
        demo: true,
    }
}

/// Monday to Friday, 07:10–07:50 (arrival) and 16:20–17:00 (dismissal).
fn school_day_windows() -> Vec<DutyWindow> {
    let at = |hour, minute| NaiveTime::from_hms_opt(hour, minute, 0).expect("valid time of day");
    let mut windows = Vec::new();
    for weekday in 1..=5 {
        windows.push(DutyWindow {
            weekday,
            start: at(7, 10),
            end: at(7, 50),
        });
        windows.push(DutyWindow {
            weekday,
            start: at(16, 20),
            end: at(17, 0),
        });
    }
    windows
}
