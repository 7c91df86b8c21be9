//! The phone's local SQLite store: everything a member captures is written
//! here first, in one transaction with its canonical record and its outbox
//! entry, and the sync engine (`crate::sync`) drains the outbox later.
//!
//! Invariants:
//! - A capture writes its domain row, its `records` row and its `outbox`
//!   entry together or not at all.
//! - `records` keeps the canonical JSON of every record this device
//!   captured, forever; only its `state` and `reason` change.
//! - `reviews` is written only from server changes, never by local actions.
//! - The session token is never stored here: the app keeps it in the OS
//!   secret store.
//!
//! The store is synchronous. The app calls it on a blocking thread, and the
//! sync engine makes short calls between network requests.

mod capture;
mod drafts;
mod migrations;
mod outbox;
mod rules;
mod views;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use redvest_proto::geo::{self, Fix};
use redvest_proto::wire::{Member, Role, Site};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tracing::info;
use uuid::Uuid;

use crate::error::{Result, StoreError};

pub use capture::{ClockInReceipt, LeadDraft, LeadPhoto, LocalVerdict, OpenShift, PatrolSummary};
pub use drafts::{DraftFields, SavedDraft};
pub use migrations::LATEST as SCHEMA_VERSION;
#[doc(hidden)]
pub use migrations::{migrate_to, PAUSE_POINTS};
pub use outbox::{
    item_retry_delay, AckCounts, PendingPhoto, PushBatch, ITEM_RETRY_BASE, ITEM_RETRY_MAX,
};
pub use views::{
    ActivePatrol, ConflictView, LocalPhoto, LocalState, PatrolTrack, QueueItem, ReviewView,
    SubmissionView, SyncStatus,
};

/// The name of the photo folder inside the app's data folder, next to the database.
pub const PHOTOS_FOLDER: &str = "photos";

/// A connection to the phone database.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate(&mut conn)?;

        let store = Self {
            conn: Mutex::new(conn),
        };
        let device_id = store.ensure_device()?;
        info!(%device_id, path = %path.display(), "opened local store");
        Ok(store)
    }

    /// Locks the connection; a panic in another holder does not poison it
    /// for good because every write runs in a transaction.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` in one immediate transaction and commits it if it succeeds.
    fn write<T>(&self, work: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    fn ensure_device(&self) -> Result<Uuid> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO device (id, device_id) VALUES (1, ?1)",
                [Uuid::now_v7().to_string()],
            )?;
            let text: String =
                tx.query_row("SELECT device_id FROM device", [], |row| row.get(0))?;
            parse_uuid("device.device_id", &text)
        })
    }

    /// Returns `<folder of the database file>/photos`, where the app keeps
    /// processed and downloaded photos, or `None` for an in-memory database.
    pub fn photos_dir(&self) -> Option<PathBuf> {
        let conn = self.conn();
        let path = conn.path().filter(|path| !path.is_empty())?;
        Some(Path::new(path).parent()?.join(PHOTOS_FOLDER))
    }

    /// Returns this installation's device id, made once at first start.
    pub fn device_id(&self) -> Result<Uuid> {
        let text: String = self
            .conn()
            .query_row("SELECT device_id FROM device", [], |row| row.get(0))?;
        parse_uuid("device.device_id", &text)
    }

    /// Returns the signed-in member and the server URL, if anyone is signed in.
    pub fn session(&self) -> Result<Option<(Member, String)>> {
        let conn = self.conn();
        let member = match Self::session_member(&conn) {
            Ok(member) => member,
            Err(StoreError::NotSignedIn) => return Ok(None),
            Err(error) => return Err(error),
        };
        let url: Option<String> =
            conn.query_row("SELECT server_url FROM device", [], |row| row.get(0))?;
        Ok(Some((member, url.unwrap_or_default())))
    }

    /// Stores the signed-in member (never the token) and the server URL.
    pub fn set_session(&self, member: &Member, server_url: &str) -> Result<()> {
        self.write(|tx| {
            // Another member on this device sees other changes: pull them from the start.
            let previous: Option<String> = tx
                .query_row("SELECT member_id FROM session_member WHERE id = 1", [], |row| row.get(0))
                .optional()?;
            if previous.is_some_and(|id| id != member.id.to_string()) {
                tx.execute("UPDATE sync_state SET cursor = 0", [])?;
                tx.execute("DELETE FROM review_queue", [])?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO session_member (id, member_id, name, role, squad_id, brigade_id)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5)",
                params![
                    member.id.to_string(),
                    member.name,
                    member.role.as_str(),
                    member.squad_id.map(|id| id.to_string()),
                    member.brigade_id.to_string(),
                ],
            )?;
            tx.execute("UPDATE device SET server_url = ?1", [server_url])?;
            tx.execute("UPDATE sync_state SET needs_sign_in = 0, last_error = NULL", [])?;
            Ok(())
        })?;
        info!(member_id = %member.id, "session stored");
        Ok(())
    }

    /// Forgets the signed-in member. Captured records and the outbox stay,
    /// so nothing queued is lost by signing out.
    pub fn clear_session(&self) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM session_member", [])?;
            tx.execute("DELETE FROM review_queue", [])?;
            // The next member to sign in may see other changes: pull from the start.
            tx.execute("UPDATE sync_state SET cursor = 0", [])?;
            Ok(())
        })?;
        info!("session cleared");
        Ok(())
    }

    /// Returns every duty site the server sent, ordered by name.
    pub fn sites(&self) -> Result<Vec<Site>> {
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT json FROM sites")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        let mut sites = Vec::new();
        for json in rows {
            sites.push(serde_json::from_str::<Site>(&json?)?);
        }
        sites.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(sites)
    }

    /// Returns the site whose fence is nearest to a position, with the
    /// distance in metres to its fence (0 inside it).
    pub fn nearest_site(&self, lat: f64, lon: f64) -> Result<Option<(Site, f64)>> {
        check_position(lat, lon)?;
        let fix = Fix::new(lat, lon, None, Utc::now(), "typed");
        let nearest = self
            .sites()?
            .into_iter()
            .map(|site| {
                let distance = rules::distance_to_fence_m(&site, &fix);
                (site, distance)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        Ok(nearest)
    }

    fn site(conn: &Connection, id: Uuid) -> Result<Site> {
        let json: Option<String> = conn
            .query_row(
                "SELECT json FROM sites WHERE id = ?1",
                [id.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        let json = json.ok_or(StoreError::UnknownSite(id))?;
        Ok(serde_json::from_str(&json)?)
    }

    fn session_member(conn: &Connection) -> Result<Member> {
        let row = conn
            .query_row(
                "SELECT member_id, name, role, squad_id, brigade_id FROM session_member",
                [],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?;
        let (id, name, role, squad_id, brigade_id) = row.ok_or(StoreError::NotSignedIn)?;
        Ok(Member {
            id: parse_uuid("session_member.member_id", &id)?,
            name,
            role: Role::parse(&role).ok_or(StoreError::Corrupt {
                column: "session_member.role",
                value: role,
            })?,
            squad_id: squad_id
                .map(|text| parse_uuid("session_member.squad_id", &text))
                .transpose()?,
            brigade_id: parse_uuid("session_member.brigade_id", &brigade_id)?,
        })
    }
}

/// Rejects coordinates that are not finite or out of range.
fn check_position(lat: f64, lon: f64) -> Result<()> {
    if geo::is_valid_position(lat, lon) {
        return Ok(());
    }
    Err(StoreError::InvalidCoordinates { lat, lon })
}

fn parse_uuid(column: &'static str, text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt {
        column,
        value: text.to_owned(),
    })
}

fn parse_time(column: &'static str, text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt {
            column,
            value: text.to_owned(),
        })
}

fn now_text() -> String {
    Utc::now().to_rfc3339()
}
