//! Sites as brigade staff manage them: create or replace, and delete. Each
//! change is audited and appended to the change log for the brigade's phones.

use chrono::{DateTime, Utc};
use redvest_proto::wire::{Entity, Role, Site};
use rusqlite::{params, OptionalExtension, Transaction};
use uuid::Uuid;

use super::accounts;
use super::audit_log::{self, Transition};
use super::changes::{append_change, Audience, Scope};
use super::parse_uuid;
use crate::store::{Caller, StoreError};

/// The site's stored brigade and whether it is deleted.
struct StoredSite {
    brigade_id: Uuid,
    deleted: bool,
}

/// Creates or replaces a site of the caller's brigade; a deleted site with
/// the same id comes back to life.
pub fn put_site(
    tx: &Transaction<'_>,
    caller: &Caller,
    site: &Site,
    at: DateTime<Utc>,
) -> Result<Site, StoreError> {
    let brigade_id = brigade_staff(caller)?;
    let stored = stored_site(tx, site.id)?;
    if stored
        .as_ref()
        .is_some_and(|found| found.brigade_id != brigade_id)
    {
        return Err(StoreError::Forbidden(format!(
            "site {} belongs to another brigade; create the site under a new id",
            site.id
        )));
    }

    tx.execute(
        "INSERT INTO sites (id, brigade_id, body) VALUES (?1, ?2, ?3) \
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, deleted_at = NULL",
        params![
            site.id.to_string(),
            brigade_id.to_string(),
            serde_json::to_string(site)?
        ],
    )?;
    let scope = site_scope(brigade_id);
    let entity = Entity::Site(site.clone());
    append_change(tx, "site", site.id, Audience::Brigade, &scope, &entity)?;

    let (action, from_state) = match &stored {
        None => ("create_site", None),
        Some(found) if found.deleted => ("create_site", Some("deleted")),
        Some(_) => ("update_site", Some("active")),
    };
    audit(tx, caller, site.id, action, from_state, "active", at)?;
    tracing::info!(site_id = %site.id, member_id = %caller.member.id, action, "stored site");
    Ok(site.clone())
}

/// Deletes a site of the caller's brigade. Deleting a deleted site again
/// changes nothing, so a phone may retry a request whose response it lost.
pub fn delete_site(
    tx: &Transaction<'_>,
    caller: &Caller,
    site_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let brigade_id = brigade_staff(caller)?;
    let stored = stored_site(tx, site_id)?
        .filter(|found| found.brigade_id == brigade_id)
        .ok_or_else(|| StoreError::NotFound(format!("site {site_id} in your brigade")))?;
    if stored.deleted {
        return Ok(());
    }

    accounts::remove_site(tx, site_id, at)?;
    audit(
        tx,
        caller,
        site_id,
        "delete_site",
        Some("active"),
        "deleted",
        at,
    )
}

fn brigade_staff(caller: &Caller) -> Result<Uuid, StoreError> {
    if caller.member.role == Role::Brigade {
        return Ok(caller.member.brigade_id);
    }
    Err(StoreError::Forbidden(format!(
        "only brigade staff manage sites, and you are a {}; ask your brigade",
        caller.member.role.as_str()
    )))
}

fn stored_site(tx: &Transaction<'_>, site_id: Uuid) -> Result<Option<StoredSite>, StoreError> {
    let row: Option<(String, bool)> = tx
        .query_row(
            "SELECT brigade_id, deleted_at IS NOT NULL FROM sites WHERE id = ?1",
            [site_id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((brigade_id, deleted)) = row else {
        return Ok(None);
    };
    Ok(Some(StoredSite {
        brigade_id: parse_uuid(&brigade_id)?,
        deleted,
    }))
}

fn site_scope(brigade_id: Uuid) -> Scope {
    Scope {
        brigade_id,
        squad_id: None,
        owner_id: None,
        assignee_id: None,
    }
}

fn audit(
    tx: &Transaction<'_>,
    caller: &Caller,
    site_id: Uuid,
    action: &str,
    from_state: Option<&str>,
    to_state: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let transition = Transition {
        at,
        actor_id: caller.member.id,
        device_id: Some(caller.device_id),
        subject_id: site_id,
        action,
        from_state,
        to_state,
        reason: None,
    };
    audit_log::append(tx, &transition)
}
