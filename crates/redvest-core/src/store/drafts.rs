//! Lead drafts: the lead capture form, autosaved while the member types so
//! a crash or a killed app loses nothing. A draft is not a record. It is
//! never synced, and it becomes a lead only through
//! [`Store::capture_lead_from_draft`], which writes the lead and deletes the
//! draft in one transaction.
//!
//! Discarding a draft leaves its photo files alone: the photo pipeline
//! owns those files, and a captured lead may name the same photo.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use redvest_proto::geo::Fix;
use redvest_proto::records::{LeadCategory, PhotoRef, PositionSource};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};
use tracing::info;
use uuid::Uuid;

use super::capture::{check_lead_draft, insert_lead};
use super::{check_position, now_text, parse_time, parse_uuid, LeadDraft, LeadPhoto, Store};
use crate::error::{Result, StoreError};

/// The lead capture form as the member left it. Any field may still be
/// empty, because the form is saved after every change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DraftFields {
    pub category: Option<LeadCategory>,
    pub note: String,
    /// Photos already processed by the photo pipeline, in the chosen order.
    pub photos: Vec<LeadPhoto>,
    pub position: Option<Fix>,
    pub position_source: Option<PositionSource>,
    /// The typed address, kept as typed (not trimmed).
    pub address: Option<String>,
    pub patrol_id: Option<Uuid>,
}

/// A stored draft with the time of its last save.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedDraft {
    pub id: Uuid,
    pub fields: DraftFields,
    pub updated_at: DateTime<Utc>,
}

/// One photo in the `lead_drafts.photos` JSON column.
#[derive(Serialize, Deserialize)]
struct DraftPhoto {
    photo: PhotoRef,
    path: PathBuf,
}

const DRAFT_COLUMNS: &str =
    "id, category, note, photos, position, position_source, address, patrol_id, updated_at";

impl Store {
    /// Stores the form under `id`, replacing an earlier save of the same
    /// draft. The app picks the id (a UUIDv7) when the form opens.
    pub fn save_draft(&self, id: Uuid, fields: &DraftFields) -> Result<()> {
        if let Some(fix) = &fields.position {
            check_position(fix.lat, fix.lon)?;
        }
        let photos: Vec<DraftPhoto> = fields
            .photos
            .iter()
            .map(|photo| DraftPhoto {
                photo: photo.photo.clone(),
                path: photo.path.clone(),
            })
            .collect();

        self.conn().execute(
            &format!("INSERT OR REPLACE INTO lead_drafts ({DRAFT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
            params![
                id.to_string(),
                fields.category.map(|category| serde_json::to_string(&category)).transpose()?,
                fields.note,
                serde_json::to_string(&photos)?,
                fields.position.as_ref().map(serde_json::to_string).transpose()?,
                fields.position_source.map(|source| serde_json::to_string(&source)).transpose()?,
                fields.address,
                fields.patrol_id.map(|patrol_id| patrol_id.to_string()),
                now_text(),
            ],
        )?;
        Ok(())
    }

    /// Returns every stored draft, the most recently saved first.
    pub fn drafts(&self) -> Result<Vec<SavedDraft>> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT {DRAFT_COLUMNS} FROM lead_drafts ORDER BY updated_at DESC, id DESC"
        ))?;
        let mut rows = statement.query([])?;
        let mut drafts = Vec::new();
        while let Some(row) = rows.next()? {
            drafts.push(read_draft(row)?);
        }
        Ok(drafts)
    }

    /// Deletes a draft and returns whether it existed.
    pub fn discard_draft(&self, id: Uuid) -> Result<bool> {
        let deleted = self
            .conn()
            .execute("DELETE FROM lead_drafts WHERE id = ?1", [id.to_string()])?;
        if deleted > 0 {
            info!(draft_id = %id, "lead draft discarded");
        }
        Ok(deleted > 0)
    }

    /// Captures the lead a draft describes and deletes the draft, in one
    /// transaction, so the lead is stored once and the draft never outlives
    /// it. Returns the lead's record id. The draft stays when the lead is
    /// not valid yet.
    pub fn capture_lead_from_draft(&self, id: Uuid) -> Result<Uuid> {
        let (lead_id, photos) = self.write(|tx| {
            let draft = lead_draft(id, load_draft(tx, id)?.fields)?;
            check_lead_draft(&draft)?;
            let lead_id = insert_lead(tx, &draft)?;
            tx.execute("DELETE FROM lead_drafts WHERE id = ?1", [id.to_string()])?;
            Ok((lead_id, draft.photos.len()))
        })?;
        info!(draft_id = %id, %lead_id, photos, "lead captured from draft");
        Ok(lead_id)
    }
}

fn load_draft(tx: &Transaction, id: Uuid) -> Result<SavedDraft> {
    let mut statement = tx.prepare(&format!(
        "SELECT {DRAFT_COLUMNS} FROM lead_drafts WHERE id = ?1"
    ))?;
    let draft = statement
        .query_row([id.to_string()], |row| Ok(read_draft(row)))
        .optional()?;
    draft.ok_or(StoreError::UnknownDraft(id))?
}

fn read_draft(row: &Row) -> Result<SavedDraft> {
    let id: String = row.get(0)?;
    let category: Option<String> = row.get(1)?;
    let photos: String = row.get(3)?;
    let position: Option<String> = row.get(4)?;
    let position_source: Option<String> = row.get(5)?;
    let patrol_id: Option<String> = row.get(7)?;
    let updated_at: String = row.get(8)?;

    let photos: Vec<DraftPhoto> = serde_json::from_str(&photos)?;
    let fields = DraftFields {
        category: category.as_deref().map(serde_json::from_str).transpose()?,
        note: row.get(2)?,
        photos: photos
            .into_iter()
            .map(|photo| LeadPhoto {
                photo: photo.photo,
                path: photo.path,
            })
            .collect(),
        position: position.as_deref().map(serde_json::from_str).transpose()?,
        position_source: position_source
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?,
        address: row.get(6)?,
        patrol_id: patrol_id
            .map(|text| parse_uuid("lead_drafts.patrol_id", &text))
            .transpose()?,
    };
    Ok(SavedDraft {
        id: parse_uuid("lead_drafts.id", &id)?,
        fields,
        updated_at: parse_time("lead_drafts.updated_at", &updated_at)?,
    })
}

/// Turns the form into the capture input. A missing position source is
/// taken from what the form holds: a fix when it has a position, else the
/// typed address.
fn lead_draft(id: Uuid, fields: DraftFields) -> Result<LeadDraft> {
    let category = fields.category.ok_or(StoreError::DraftIncomplete {
        id,
        field: "category",
    })?;
    let position_source = fields.position_source.unwrap_or(match fields.position {
        Some(_) => PositionSource::Fix,
        None => PositionSource::Address,
    });
    Ok(LeadDraft {
        category,
        note: fields.note,
        position: fields.position,
        position_source,
        address: fields.address,
        photos: fields.photos,
        patrol_id: fields.patrol_id,
    })
}
