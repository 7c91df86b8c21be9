//! Brigades, squads, members, sessions, sites and the database epoch.

use chrono::{DateTime, Utc};
use redvest_proto::wire::{Entity, Member, Site};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use uuid::Uuid;

use super::changes::{append_change, Audience, Scope};
use super::{member_from_row, parse_optional_uuid, parse_time, parse_uuid, time_text};
use crate::store::{Caller, Credentials, NewMember, SeedPlan, StoreError};

const MEMBER_COLUMNS: &str = "m.id, m.name, m.role, m.brigade_id, m.squad_id";

pub fn epoch(conn: &Connection) -> Result<Uuid, StoreError> {
    let text: String = conn.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |row| {
        row.get(0)
    })?;
    Ok(parse_uuid(&text)?)
}

pub fn reset_epoch(tx: &Transaction<'_>) -> Result<Uuid, StoreError> {
    let epoch = Uuid::new_v4();
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'epoch'",
        [epoch.to_string()],
    )?;
    Ok(epoch)
}

pub fn credentials(conn: &Connection, phone: &str) -> Result<Option<Credentials>, StoreError> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS}, m.password_hash FROM members m WHERE m.phone = \
        ?1 AND m.deleted_at IS NULL"
    );
    let found = conn
        .query_row(&sql, [phone], |row| {
            Ok(Credentials {
                member: member_from_row(row)?,
                password_hash: row.get(5)?,
            })
        })
        .optional()?;
    Ok(found)
}

pub fn create_session(
    tx: &Transaction<'_>,
    token_sha256: &str,
    member_id: Uuid,
    device_id: Uuid,
) -> Result<(), StoreError> {
    let now = time_text(Utc::now());
    tx.execute(
        "INSERT INTO sessions (token_sha256, member_id, device_id, created_at, last_used_at) \
            VALUES (?1, ?2, ?3, ?4, ?4)",
        params![
            token_sha256,
            member_id.to_string(),
            device_id.to_string(),
            now
        ],
    )?;
    Ok(())
}

/// Returns the caller behind a token hash and when the session was last used.
pub fn session(
    conn: &Connection,
    token_sha256: &str,
) -> Result<Option<(Caller, DateTime<Utc>)>, StoreError> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS}, s.device_id, coalesce(s.last_used_at, s.created_at) \
         FROM sessions s JOIN members m ON m.id = s.member_id \
         WHERE s.token_sha256 = ?1 AND m.deleted_at IS NULL"
    );
    let found = conn
        .query_row(&sql, [token_sha256], |row| {
            let device_id = parse_uuid(&row.get::<_, String>(5)?)?;
            let last_used_at = parse_time(&row.get::<_, String>(6)?)?;
            let caller = Caller {
                member: member_from_row(row)?,
                device_id,
            };
            Ok((caller, last_used_at))
        })
        .optional()?;
    Ok(found)
}

/// Moves a session's last use to `at`.
pub fn touch_session(
    tx: &Transaction<'_>,
    token_sha256: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE sessions SET last_used_at = ?2 WHERE token_sha256 = ?1",
        params![token_sha256, time_text(at)],
    )?;
    Ok(())
}

/// Deletes a session; returns whether it existed.
pub fn end_session(tx: &Transaction<'_>, token_sha256: &str) -> Result<bool, StoreError> {
    let deleted = tx.execute(
        "DELETE FROM sessions WHERE token_sha256 = ?1",
        [token_sha256],
    )?;
    Ok(deleted > 0)
}

/// Returns a member by id (deleted members included, for names on old records).
pub fn member(conn: &Connection, id: Uuid) -> Result<Option<Member>, StoreError> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members m WHERE m.id = ?1");
    Ok(conn
        .query_row(&sql, [id.to_string()], member_from_row)
        .optional()?)
}

/// Returns a site of the brigade that is not deleted.
pub fn live_site(
    conn: &Connection,
    id: Uuid,
    brigade_id: Uuid,
) -> Result<Option<Site>, StoreError> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM sites WHERE id = ?1 AND brigade_id = ?2 AND deleted_at IS NULL",
            [id.to_string(), brigade_id.to_string()],
            |row| row.get(0),
        )
        .optional()?;
    Ok(body.map(|body| serde_json::from_str(&body)).transpose()?)
}

/// Inserts what is absent and appends a change for each new site and member.
pub fn seed(tx: &Transaction<'_>, plan: &SeedPlan) -> Result<usize, StoreError> {
    let mut inserted = tx.execute(
        "INSERT OR IGNORE INTO brigades (id, name, demo) VALUES (?1, ?2, 1)",
        params![plan.brigade_id.to_string(), plan.brigade_name],
    )?;
    for (id, name) in &plan.squads {
        inserted += tx.execute(
            "INSERT OR IGNORE INTO squads (id, brigade_id, name) VALUES (?1, ?2, ?3)",
            params![id.to_string(), plan.brigade_id.to_string(), name],
        )?;
    }
    for member in &plan.members {
        inserted += insert_member(tx, member)?;
    }
    for site in &plan.sites {
        inserted += insert_site(tx, plan.brigade_id, site)?;
    }
    Ok(inserted)
}

fn insert_member(tx: &Transaction<'_>, new: &NewMember) -> Result<usize, StoreError> {
    let member = &new.member;
    let added = tx.execute(
        "INSERT OR IGNORE INTO members (id, name, phone, role, brigade_id, squad_id, \
            password_hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            member.id.to_string(),
            member.name,
            new.phone,
            member.role.as_str(),
            member.brigade_id.to_string(),
            member.squad_id.map(|id| id.to_string()),
            new.password_hash,
        ],
    )?;
    if added == 1 {
        let scope = Scope {
            brigade_id: member.brigade_id,
            squad_id: member.squad_id,
            owner_id: Some(member.id),
            assignee_id: None,
        };
        append_change(
            tx,
            "member",
            member.id,
            Audience::Squad,
            &scope,
            &Entity::Member(member.clone()),
        )?;
    }
    Ok(added)
}

fn insert_site(tx: &Transaction<'_>, brigade_id: Uuid, site: &Site) -> Result<usize, StoreError> {
    let added = tx.execute(
        "INSERT OR IGNORE INTO sites (id, brigade_id, body) VALUES (?1, ?2, ?3)",
        params![
            site.id.to_string(),
            brigade_id.to_string(),
            serde_json::to_string(site)?
        ],
    )?;
    if added == 1 {
        let scope = Scope {
            brigade_id,
            squad_id: None,
            owner_id: None,
            assignee_id: None,
        };
        append_change(
            tx,
            "site",
            site.id,
            Audience::Brigade,
            &scope,
            &Entity::Site(site.clone()),
        )?;
    }
    Ok(added)
}

/// Marks a site deleted and replaces its change with a tombstone.
pub fn remove_site(
    tx: &Transaction<'_>,
    site_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let brigade: Option<String> = tx
        .query_row(
            "UPDATE sites SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL RETURNING \
                brigade_id",
            params![site_id.to_string(), time_text(at)],
            |row| row.get(0),
        )
        .optional()?;
    let brigade_id =
        parse_uuid(&brigade.ok_or_else(|| StoreError::NotFound(format!("site {site_id}")))?)?;

    let scope = Scope {
        brigade_id,
        squad_id: None,
        owner_id: None,
        assignee_id: None,
    };
    let tombstone = Entity::Tombstone {
        kind: "site".to_owned(),
        id: site_id,
    };
    append_change(tx, "site", site_id, Audience::Brigade, &scope, &tombstone)?;
    tracing::info!(%site_id, "removed site");
    Ok(())
}

/// Marks a member deleted, ends their sessions and replaces their change
/// with a tombstone. Their records and reviews stay.
pub fn remove_member(
    tx: &Transaction<'_>,
    member_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let scope: Option<(String, Option<String>)> = tx
        .query_row(
            "UPDATE members SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL RETURNING \
                brigade_id, squad_id",
            params![member_id.to_string(), time_text(at)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (brigade_id, squad_id) =
        scope.ok_or_else(|| StoreError::NotFound(format!("member {member_id}")))?;
    tx.execute(
        "DELETE FROM sessions WHERE member_id = ?1",
        [member_id.to_string()],
    )?;

    let scope = Scope {
        brigade_id: parse_uuid(&brigade_id)?,
        squad_id: parse_optional_uuid(squad_id)?,
        owner_id: Some(member_id),
        assignee_id: None,
    };
    let tombstone = Entity::Tombstone {
        kind: "member".to_owned(),
        id: member_id,
    };
    append_change(tx, "member", member_id, Audience::Squad, &scope, &tombstone)?;
    tracing::info!(%member_id, "removed member");
    Ok(())
}
