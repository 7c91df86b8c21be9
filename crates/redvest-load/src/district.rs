//! The members and sites a load run seeds: volunteers in squads of fifty,
//! all in one labelled load brigade, and copies of the demo school gates.
//!
//! Every member has the same password and ids are UUIDv5 of fixed names, so
//! seeding the same count twice inserts nothing the second time.

use redvest_proto::wire::{Member, Role, Site};
use redvest_server::auth::hash_password;
use redvest_server::seed::demo_sites;
use redvest_server::store::{NewMember, SeedPlan};
use uuid::Uuid;

use crate::LoadError;

/// The password of every load member.
pub const LOAD_PASSWORD: &str = "redvest-load";
/// Members per squad.
pub const SQUAD_SIZE: usize = 50;

const NAMESPACE: Uuid = Uuid::from_u128(0x2b8e_91c4_07d3_4f6a_8e15_c0a9_3d72_5b16);

/// A seed plan with the sign-in phone numbers of its members.
pub struct LoadDistrict {
    pub plan: SeedPlan,
    pub phones: Vec<String>,
}

/// Returns the phone number of load member `index` (from 0).
pub fn member_phone(index: usize) -> String {
    format!("170{:08}", index + 1)
}

/// Builds the seed plan for `members` volunteers.
pub fn load_district(members: usize) -> Result<LoadDistrict, LoadError> {
    let brigade_id = load_id("brigade");
    let squads: Vec<(Uuid, String)> = (0..members.div_ceil(SQUAD_SIZE))
        .map(|squad| {
            let name = format!("压测第{}中队（演示）", squad + 1);
            (load_id(&format!("squad-{squad}")), name)
        })
        .collect();

    // One hash for everyone: argon2 takes tens of milliseconds per hash.
    let password_hash =
        hash_password(LOAD_PASSWORD).map_err(|error| LoadError::Seed(error.to_string()))?;
    let phones: Vec<String> = (0..members).map(member_phone).collect();
    let members = phones
        .iter()
        .enumerate()
        .map(|(index, phone)| NewMember {
            member: Member {
                id: load_id(&format!("member-{phone}")),
                name: format!("压测队员{:04}（演示）", index + 1),
                role: Role::Volunteer,
                brigade_id,
                squad_id: Some(squads[index / SQUAD_SIZE].0),
            },
            phone: phone.clone(),
            password_hash: password_hash.clone(),
        })
        .collect();

    let plan = SeedPlan {
        brigade_id,
        brigade_name: "红马甲压测大队（演示）".to_owned(),
        squads,
        members,
        sites: load_sites(),
    };
    Ok(LoadDistrict { plan, phones })
}

/// Returns copies of the demo school gates under load-brigade ids.
pub fn load_sites() -> Vec<Site> {
    demo_sites()
        .into_iter()
        .enumerate()
        .map(|(index, site)| Site {
            id: load_id(&format!("site-{index}")),
            name: site.name.replace("（演示）", "（压测演示）"),
            ..site
        })
        .collect()
}

fn load_id(name: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}
