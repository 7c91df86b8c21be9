//! The invariant every reliability run ends with: the server holds exactly
//! the union of the records the devices committed, each once and with the
//! same body, every photo of those records is on the server with a matching
//! SHA-256, no queue is left, and every database passes `integrity_check`.
//!
//! The checks read the SQLite files directly, read-only, after the run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::harness::HarnessError;

/// The outcome of comparing devices with the server.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    pub devices: usize,
    /// Records committed on the devices, counting every local state.
    pub committed: usize,
    pub server_rows: usize,
    /// Committed locally but absent on the server.
    pub lost: Vec<Uuid>,
    /// Ids that occur in more than one server row.
    pub duplicated: Vec<Uuid>,
    /// Server rows from these devices that no device committed.
    pub unexpected: Vec<Uuid>,
    /// Ids whose server body differs from the local body.
    pub body_mismatch: Vec<Uuid>,
    /// Local records left queued, rejected or in conflict after the drain.
    pub not_sent: Vec<(Uuid, String)>,
    /// Outbox entries (records, photos, decisions) left after the drain.
    pub outbox_left: usize,
    pub server_conflicts: usize,
    pub photos: usize,
    /// Photos missing on the server or stored with another hash.
    pub photo_problems: Vec<String>,
    /// Databases whose `PRAGMA integrity_check` is not `ok`.
    pub integrity_problems: Vec<String>,
}

impl Report {
    /// Tells whether nothing was lost, duplicated, altered or left behind.
    pub fn is_clean(&self) -> bool {
        self.lost.is_empty()
            && self.duplicated.is_empty()
            && self.unexpected.is_empty()
            && self.body_mismatch.is_empty()
            && self.not_sent.is_empty()
            && self.outbox_left == 0
            && self.server_conflicts == 0
            && self.photo_problems.is_empty()
            && self.integrity_problems.is_empty()
    }

    /// Prints the report and panics, naming the first broken condition,
    /// unless it is clean and the server contains as many rows as were committed.
    pub fn assert_clean(&self, label: &str) {
        println!(
            "{label}: {}",
            serde_json::to_string(self).unwrap_or_default()
        );
        let no_ids: Vec<Uuid> = Vec::new();
        let no_text: Vec<String> = Vec::new();
        assert!(self.committed > 0, "{label}: nothing was captured");
        assert_eq!(self.lost, no_ids, "{label}: lost records");
        assert_eq!(self.duplicated, no_ids, "{label}: duplicated records");
        assert_eq!(
            self.unexpected, no_ids,
            "{label}: server rows no device committed"
        );
        assert_eq!(
            self.body_mismatch, no_ids,
            "{label}: server bodies differ from local ones"
        );
        assert_eq!(
            self.not_sent,
            Vec::<(Uuid, String)>::new(),
            "{label}: records not sent"
        );
        assert_eq!(self.outbox_left, 0, "{label}: outbox entries left");
        assert_eq!(self.server_conflicts, 0, "{label}: server conflicts");
        assert_eq!(self.photo_problems, no_text, "{label}: photo problems");
        assert_eq!(
            self.integrity_problems, no_text,
            "{label}: integrity problems"
        );
        assert_eq!(
            self.server_rows, self.committed,
            "{label}: server rows and committed records differ"
        );
    }
}

/// One device's committed records, by id, with JSON body and local state.
struct DeviceRecords {
    device_id: Uuid,
    records: BTreeMap<Uuid, (String, String)>,
    photos: Vec<String>,
    outbox: usize,
}

/// Compares the phone databases with the server data directory.
pub fn compare(device_dbs: &[&Path], server_data: &Path) -> Result<Report, HarnessError> {
    let server_db = server_data.join("redvest.db");
    let mut report = Report {
        devices: device_dbs.len(),
        ..Report::default()
    };

    let server = open_read_only(&server_db)?;
    check_integrity(&server, &server_db, &mut report)?;
    let server_rows = server_rows(&server)?;
    report.server_rows = server_rows.len();
    report.server_conflicts =
        server.query_row("SELECT COUNT(*) FROM record_conflicts", [], |row| {
            row.get(0)
        })?;

    let mut by_id: BTreeMap<Uuid, Vec<(Uuid, String)>> = BTreeMap::new();
    for (id, device_id, body) in server_rows {
        by_id.entry(id).or_default().push((device_id, body));
    }
    report.duplicated = by_id
        .iter()
        .filter(|(_, rows)| rows.len() > 1)
        .map(|(id, _)| *id)
        .collect();

    let mut device_ids = BTreeSet::new();
    let mut committed = BTreeSet::new();
    for db in device_dbs {
        let device = read_device(db, &mut report)?;
        device_ids.insert(device.device_id);
        compare_device(&device, &by_id, &mut report);
        check_photos(&device.photos, server_data, &mut report);
        committed.extend(device.records.keys().copied());
    }

    report.committed = committed.len();
    report.unexpected = by_id
        .iter()
        .filter(|(id, rows)| {
            !committed.contains(id) && rows.iter().any(|(device, _)| device_ids.contains(device))
        })
        .map(|(id, _)| *id)
        .collect();
    Ok(report)
}

fn compare_device(
    device: &DeviceRecords,
    server: &BTreeMap<Uuid, Vec<(Uuid, String)>>,
    report: &mut Report,
) {
    report.outbox_left += device.outbox;
    for (id, (json, state)) in &device.records {
        if state != "sent" {
            report.not_sent.push((*id, state.clone()));
        }
        let Some(rows) = server.get(id) else {
            report.lost.push(*id);
            continue;
        };
        if rows.iter().any(|(_, body)| !same_record(body, json)) {
            report.body_mismatch.push(*id);
        }
    }
}

/// Compares two record bodies as JSON values, so key order does not matter.
fn same_record(left: &str, right: &str) -> bool {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    parse(left).is_some() && parse(left) == parse(right)
}

fn read_device(db: &Path, report: &mut Report) -> Result<DeviceRecords, HarnessError> {
    let conn = open_read_only(db)?;
    check_integrity(&conn, db, report)?;

    let device_id: String = conn.query_row("SELECT device_id FROM device", [], |row| row.get(0))?;
    let mut records = BTreeMap::new();
    let mut statement = conn.prepare("SELECT id, json, state FROM records")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
    })?;
    for row in rows {
        let (id, json, state) = row?;
        records.insert(parse_uuid(&id)?, (json, state));
    }
    let photos = conn
        .prepare("SELECT sha256 FROM photos")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    let outbox: usize = conn.query_row("SELECT COUNT(*) FROM outbox", [], |row| row.get(0))?;
    Ok(DeviceRecords {
        device_id: parse_uuid(&device_id)?,
        records,
        photos,
        outbox,
    })
}

fn server_rows(conn: &Connection) -> Result<Vec<(Uuid, Uuid, String)>, HarnessError> {
    let mut statement = conn.prepare("SELECT id, device_id, body FROM records")?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get(2)?,
        ))
    })?;
    let mut parsed = Vec::new();
    for row in rows {
        let (id, device_id, body) = row?;
        parsed.push((parse_uuid(&id)?, parse_uuid(&device_id)?, body));
    }
    Ok(parsed)
}

/// Checks that each photo file is on the server under its hash, and that the
/// bytes hash to that name.
fn check_photos(photos: &[String], server_data: &Path, report: &mut Report) {
    for sha256 in photos {
        report.photos += 1;
        let path = server_data.join("photos").join(&sha256[..2]).join(sha256);
        match std::fs::read(&path) {
            Ok(bytes) if hex::encode(Sha256::digest(&bytes)) == *sha256 => {}
            Ok(_) => report
                .photo_problems
                .push(format!("{sha256}: stored bytes hash to another value")),
            Err(error) => report.photo_problems.push(format!("{sha256}: {error}")),
        }
    }
}

fn check_integrity(
    conn: &Connection,
    path: &Path,
    report: &mut Report,
) -> Result<(), HarnessError> {
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    if verdict != "ok" {
        report
            .integrity_problems
            .push(format!("{}: {verdict}", path.display()));
    }
    Ok(())
}

/// Opens a database read-only; the WAL of a killed writer is still read.
pub fn open_read_only(path: &Path) -> Result<Connection, HarnessError> {
    Ok(Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?)
}

fn parse_uuid(text: &str) -> Result<Uuid, HarnessError> {
    Uuid::parse_str(text)
        .map_err(|_| HarnessError::Invalid(format!("invalid uuid {text:?} in a checked database")))
}
