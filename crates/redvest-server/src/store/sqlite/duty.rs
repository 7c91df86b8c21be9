//! Reading shifts for duty hours, and the sweep that closes shifts whose
//! window ended without a clock-out. The sweep writes a marker into
//! `shift_auto_closes`; it never creates a record in the member's name.

use std::collections::HashMap;

use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use redvest_proto::duty::auto_close_at;
use redvest_proto::records::RecordBody;
use redvest_proto::wire::{DutyHoursResponse, Member, Role, Site};
use redvest_proto::Record;
use rusqlite::{named_params, params, Connection, OptionalExtension, Transaction};
use uuid::Uuid;

use super::{accounts, member_from_row, parse_time, time_text};
use crate::duty_hours::{summarize, ShiftFacts};
use crate::store::{Caller, StoreError};

/// How far back the sweep looks for open shifts. The bound keeps a
/// clock-in outside every window, which never gets a closing time, from
/// being read on every sweep for ever.
///
/// NOTE: a clock-in that reaches the server more than 45 days after its
/// window is never closed by the sweep, so it stays an open shift.
const SWEEP_LOOKBACK: TimeDelta = TimeDelta::days(45);

/// Widens the UTC range of a month so that every time zone's local month
/// lies inside it (UTC offsets span −12:00 to +14:00).
const ZONE_MARGIN: TimeDelta = TimeDelta::hours(15);

/// Members the caller may see duty hours of, on `members m`, with the
/// parameters `:brigade`, `:role`, `:squad`, `:me` and `:member`.
const MEMBER_IN_SCOPE: &str = "m.brigade_id = :brigade \
     AND (:member IS NULL OR m.id = :member) \
     AND (:role = 'brigade' OR (:role = 'squad_leader' AND m.squad_id = :squad) OR m.id = :me)";

/// Returns the duty hours of `month` (its first day) for the members the
/// caller may see, or for one of them.
pub fn duty_hours(
    conn: &Connection,
    caller: &Caller,
    month: NaiveDate,
    member: Option<Uuid>,
) -> Result<DutyHoursResponse, StoreError> {
    if let Some(member_id) = member {
        check_member_visible(conn, caller, member_id)?;
    }
    let tx = conn.unchecked_transaction()?;
    let (from, to) = utc_range(month);
    let members = members_in_scope(&tx, caller, member, from)?;
    let shifts = shifts_in_scope(&tx, caller, member, from, to)?;
    Ok(summarize(month, &members, &shifts))
}

fn check_member_visible(
    conn: &Connection,
    caller: &Caller,
    member_id: Uuid,
) -> Result<(), StoreError> {
    let me = &caller.member;
    let target = accounts::member(conn, member_id)?
        .filter(|found| found.brigade_id == me.brigade_id)
        .ok_or_else(|| StoreError::NotFound(format!("member {member_id} in your brigade")))?;
    let visible = match me.role {
        Role::Brigade => true,
        Role::SquadLeader => {
            target.id == me.id || (me.squad_id.is_some() && target.squad_id == me.squad_id)
        }
        Role::Volunteer => target.id == me.id,
    };
    if visible {
        return Ok(());
    }
    Err(StoreError::Forbidden(format!(
        "you may not see the duty hours of member {member_id}: a volunteer sees their own, a \
            squad leader their squad's"
    )))
}

fn utc_range(month: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = month
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let end = start
        .checked_add_months(Months::new(1))
        .expect("a month after a parsed month exists");
    (start - ZONE_MARGIN, end + ZONE_MARGIN)
}

fn scope_params(caller: &Caller, member: Option<Uuid>) -> [(&'static str, Option<String>); 5] {
    let me = &caller.member;
    [
        (":brigade", Some(me.brigade_id.to_string())),
        (":role", Some(me.role.as_str().to_owned())),
        (":squad", me.squad_id.map(|id| id.to_string())),
        (":me", Some(me.id.to_string())),
        (":member", member.map(|id| id.to_string())),
    ]
}

/// Lists members in scope: those not deleted, and those deleted during or
/// after the month, whose shifts still count.
fn members_in_scope(
    tx: &Transaction<'_>,
    caller: &Caller,
    member: Option<Uuid>,
    from: DateTime<Utc>,
) -> Result<Vec<Member>, StoreError> {
    let sql = format!(
        "SELECT m.id, m.name, m.role, m.brigade_id, m.squad_id FROM members m \
         WHERE {MEMBER_IN_SCOPE} AND (m.deleted_at IS NULL OR m.deleted_at >= :from)"
    );
    let mut params = scope_params(caller, member).to_vec();
    params.push((":from", Some(time_text(from))));
    let named: Vec<(&str, &dyn rusqlite::ToSql)> = params
        .iter()
        .map(|(name, value)| (*name, value as &dyn rusqlite::ToSql))
        .collect();
    let mut statement = tx.prepare(&sql)?;
    let rows = statement.query_map(named.as_slice(), member_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Reads the accepted or approved clock-ins in the UTC range with their
/// first clock-out, the server's marker and the site.
///
/// `CROSS JOIN` makes SQLite walk the members in scope first and read each
/// one's clock-ins by the `(member_id, kind, captured_at)` index. `+r.id`
/// drops the column's text affinity, so that the comparison can use the
/// expression index on the clock-out's `shift_id`.
fn shifts_in_scope(
    tx: &Transaction<'_>,
    caller: &Caller,
    member: Option<Uuid>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ShiftFacts>, StoreError> {
    let sql = format!(
        "SELECT r.body, \
           (SELECT o.body FROM records o WHERE o.kind = 'clock_out' \
              AND json_extract(o.body, '$.body.shift_id') = +r.id \
              AND o.member_id = r.member_id ORDER BY o.captured_at LIMIT 1), \
           c.closed_at \
         FROM members m \
         CROSS JOIN records r ON r.member_id = m.id \
         JOIN reviews v ON v.subject_id = r.id \
         LEFT JOIN shift_auto_closes c ON c.shift_id = r.id \
         WHERE r.kind = 'clock_in' AND v.state IN ('accepted', 'approved') \
           AND r.captured_at >= :from AND r.captured_at < :to AND {MEMBER_IN_SCOPE} \
         ORDER BY r.captured_at"
    );
    let mut params = scope_params(caller, member).to_vec();
    params.push((":from", Some(time_text(from))));
    params.push((":to", Some(time_text(to))));
    let named: Vec<(&str, &dyn rusqlite::ToSql)> = params
        .iter()
        .map(|(name, value)| (*name, value as &dyn rusqlite::ToSql))
        .collect();
    let mut statement = tx.prepare(&sql)?;
    let rows = statement.query_map(named.as_slice(), |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Option<String>>(1)?,
            row.get::<_, Option<String>>(2)?,
        ))
    })?;

    let mut sites = SiteCache::default();
    let mut shifts = Vec::new();
    for row in rows {
        let (clock_in, clock_out, closed_at) = row?;
        let Some((clock_in, clock_out, server_closed_at)) =
            read_shift(&clock_in, clock_out.as_deref(), closed_at.as_deref())
        else {
            continue;
        };
        let site = sites.get(tx, &clock_in)?;
        shifts.push(ShiftFacts {
            clock_in,
            clock_out,
            server_closed_at,
            site,
        });
    }
    Ok(shifts)
}

/// Parses the stored texts of one shift. A shift whose texts the current
/// types cannot read is logged and left out, so that one bad row cannot
/// fail the duty hours of a whole squad.
fn read_shift(
    clock_in: &str,
    clock_out: Option<&str>,
    closed_at: Option<&str>,
) -> Option<(Record, Option<Record>, Option<DateTime<Utc>>)> {
    let clock_in: Record = match serde_json::from_str(clock_in) {
        Ok(record) => record,
        Err(error) => {
            tracing::error!(%error, "stored clock-in is unreadable; left out of duty hours");
            return None;
        }
    };
    let clock_out = match clock_out.map(serde_json::from_str::<Record>).transpose() {
        Ok(record) => record,
        Err(error) => {
            tracing::error!(shift_id = %clock_in.id, %error, "stored clock-out is unreadable; left out of duty hours");
            return None;
        }
    };
    let closed_at = match closed_at.map(parse_time).transpose() {
        Ok(at) => at,
        Err(error) => {
            tracing::error!(shift_id = %clock_in.id, %error, "stored auto-close time is unreadable; left out of duty hours");
            return None;
        }
    };
    Some((clock_in, clock_out, closed_at))
}

/// Sites by id, deleted ones included, read once per call.
#[derive(Default)]
struct SiteCache {
    sites: HashMap<Uuid, Option<Site>>,
}

impl SiteCache {
    fn get(&mut self, conn: &Connection, clock_in: &Record) -> Result<Option<Site>, StoreError> {
        let RecordBody::ClockIn(body) = &clock_in.body else {
            return Ok(None);
        };
        if let Some(site) = self.sites.get(&body.site_id) {
            return Ok(site.clone());
        }
        let text: Option<String> = conn
            .query_row(
                "SELECT body FROM sites WHERE id = ?1",
                [body.site_id.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        let site: Option<Site> = text.as_deref().map(serde_json::from_str).transpose()?;
        self.sites.insert(body.site_id, site.clone());
        Ok(site)
    }
}

/// A shift the sweep found due: the clock-in and when it closes.
pub struct DueShift {
    clock_in: Record,
    closes_at: DateTime<Utc>,
}

/// Lists the clock-ins of the last 45 days that have no clock-out and no
/// marker, and whose window, plus grace, ended by `now`.
pub fn shifts_due(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<DueShift>, StoreError> {
    // `+r.id` lets the clock-out lookup use its expression index, as above.
    let mut statement = conn.prepare(
        "SELECT r.body FROM records r \
         WHERE r.kind = 'clock_in' AND r.captured_at >= :since \
           AND NOT EXISTS (SELECT 1 FROM records o WHERE o.kind = 'clock_out' \
                           AND json_extract(o.body, '$.body.shift_id') = +r.id \
                           AND o.member_id = r.member_id) \
           AND NOT EXISTS (SELECT 1 FROM shift_auto_closes c WHERE c.shift_id = r.id) \
         ORDER BY r.captured_at",
    )?;
    let since = time_text(now - SWEEP_LOOKBACK);
    let bodies = statement
        .query_map(named_params! { ":since": since }, |row| {
            row.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut sites = SiteCache::default();
    let mut due = Vec::new();
    for body in bodies {
        let clock_in: Record = serde_json::from_str(&body)?;
        let Some(site) = sites.get(conn, &clock_in)? else {
            continue;
        };
        let closes_at = auto_close_at(&site, clock_in.captured_at.utc);
        if let Some(closes_at) = closes_at.filter(|closes_at| *closes_at <= now) {
            due.push(DueShift {
                clock_in,
                closes_at,
            });
        }
    }
    Ok(due)
}

/// Records an auto-close marker for each due shift that has none yet;
/// returns how many it recorded.
pub fn insert_markers(
    tx: &Transaction<'_>,
    due: &[DueShift],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut inserted = 0;
    for shift in due {
        let clock_in = &shift.clock_in;
        let added = tx.execute(
            "INSERT OR IGNORE INTO shift_auto_closes (shift_id, member_id, closed_at, \
                recorded_at) \
             VALUES (?1, ?2, ?3, ?4)",
            params![
                clock_in.id.to_string(),
                clock_in.member_id.to_string(),
                time_text(shift.closes_at),
                time_text(now)
            ],
        )?;
        if added == 1 {
            tracing::info!(
                shift_id = %clock_in.id,
                member_id = %clock_in.member_id,
                closed_at = %shift.closes_at,
                "closed a shift left open",
            );
        }
        inserted += added;
    }
    Ok(inserted)
}
