//! The compact column encoding of track points carried (base64) in a
//! `TrackChunk` record.
//!
//! Layout of version 1, every integer a LEB128 varint and every signed one
//! zigzag-mapped first:
//!
//! | part | content |
//! | --- | --- |
//! | version | one byte, `1` |
//! | count | number of points `n`; nothing follows when it is 0 |
//! | time | `n` values in milliseconds since the Unix epoch: the first time, the first spacing, then each change of spacing |
//! | lat, lon | `n` values each in 1e-6 degree (about 0.11 m): the first, the first step, then each change of step |
//! | accuracy | presence, then runs of (delta in 0.1 m, run length - 1) over the present values |
//! | speed | presence, then deltas in 0.1 m/s over the present values |
//! | bearing | presence, then deltas in whole degrees, wrapped into -180..180 |
//!
//! A presence part is one byte: 0 when no point has the value, 1 when all
//! have it, 2 when a bitmap of `ceil(n / 8)` bytes follows (bit `i % 8` of
//! byte `i / 8` set when point `i` has it).
//!
//! On a steady walk the changes of time spacing and of step fit one byte
//! each and a steady accuracy costs almost nothing, so a point takes a
//! little over 3 bytes; predicting the next step from the last one keeps
//! that true at 5 s sampling, where plain deltas need two bytes.
//! Decoding returns `decode(encode(p)) == quantize(p)` for every point and
//! rejects truncated or inconsistent input with a [`DecodeError`].

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::track::TrackPoint;

/// The version byte this build writes and reads.
pub const VERSION: u8 = 1;

/// Points per chunk when a track is split for sync.
pub const DEFAULT_CHUNK_POINTS: usize = 300;

const DEGREE_SCALE: f64 = 1e6;
const ACCURACY_SCALE: f64 = 10.0;
const SPEED_SCALE: f64 = 10.0;

/// Why bytes could not be decoded into track points.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("track data is empty; expected a version byte")]
    Empty,
    #[error("unsupported track encoding version {0}; this build reads version {VERSION}")]
    UnsupportedVersion(u8),
    #[error("track data truncated at byte {offset} while reading the {column} column")]
    Truncated { column: &'static str, offset: usize },
    #[error("varint at byte {offset} of the {column} column does not fit 64 bits")]
    VarintOverflow { column: &'static str, offset: usize },
    #[error("point count {count} needs at least {needed} bytes but only {available} remain")]
    CountTooLarge {
        count: u64,
        needed: u64,
        available: usize,
    },
    #[error("invalid presence byte {value} for the {column} column; expected 0, 1 or 2")]
    InvalidPresence { column: &'static str, value: u8 },
    #[error(
        "presence bitmap of the {column} column marks point {index}, beyond the count {count}"
    )]
    PresenceBeyondCount {
        column: &'static str,
        index: usize,
        count: usize,
    },
    #[error("accuracy runs cover {covered} values but {expected} points have an accuracy")]
    RunMismatch { covered: u64, expected: usize },
    #[error("{column} value {value} at point {index} is out of range")]
    OutOfRange {
        column: &'static str,
        index: usize,
        value: i64,
    },
    #[error("{count} unexpected bytes after the last column")]
    TrailingBytes { count: usize },
}

/// Rounds a point to the precision the codec keeps: 1 ms, 1e-6 degree,
/// 0.1 m accuracy, 0.1 m/s speed and 1 degree of bearing.
///
/// A negative or non-finite accuracy, speed or bearing becomes `None`. A
/// non-finite coordinate becomes 0, so callers encode filtered points only.
pub fn quantize(point: &TrackPoint) -> TrackPoint {
    TrackPoint {
        at: DateTime::from_timestamp_millis(point.at.timestamp_millis()).unwrap_or(point.at),
        lat: degrees_to_units(point.lat) as f64 / DEGREE_SCALE,
        lon: degrees_to_units(point.lon) as f64 / DEGREE_SCALE,
        accuracy_m: scaled(point.accuracy_m, ACCURACY_SCALE).map(|v| v as f64 / ACCURACY_SCALE),
        speed_mps: scaled(point.speed_mps, SPEED_SCALE).map(|v| v as f64 / SPEED_SCALE),
        bearing_deg: bearing_units(point.bearing_deg).map(|v| v as f64),
    }
}

/// Encodes points in the column layout described in the module docs.
pub fn encode(points: &[TrackPoint]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + points.len() * 4);
    out.push(VERSION);
    write_varint(&mut out, points.len() as u64);
    if points.is_empty() {
        return out;
    }

    let times: Vec<i64> = points.iter().map(|p| p.at.timestamp_millis()).collect();
    write_second_order_deltas(&mut out, &times);
    let lats: Vec<i64> = points.iter().map(|p| degrees_to_units(p.lat)).collect();
    write_second_order_deltas(&mut out, &lats);
    let lons: Vec<i64> = points.iter().map(|p| degrees_to_units(p.lon)).collect();
    write_second_order_deltas(&mut out, &lons);

    let accuracy: Vec<Option<i64>> = points
        .iter()
        .map(|p| scaled(p.accuracy_m, ACCURACY_SCALE))
        .collect();
    write_presence(&mut out, &accuracy);
    write_runs(&mut out, &present(&accuracy));
    let speed: Vec<Option<i64>> = points
        .iter()
        .map(|p| scaled(p.speed_mps, SPEED_SCALE))
        .collect();
    write_presence(&mut out, &speed);
    write_deltas(&mut out, &present(&speed));
    let bearing: Vec<Option<i64>> = points
        .iter()
        .map(|p| bearing_units(p.bearing_deg))
        .collect();
    write_presence(&mut out, &bearing);
    write_bearing_deltas(&mut out, &present(&bearing));
    out
}

/// Decodes bytes written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Vec<TrackPoint>, DecodeError> {
    let (&version, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let mut reader = Reader { bytes, offset: 1 };
    let count = read_count(&mut reader, rest.len())?;
    if count == 0 {
        return reader.finish(Vec::new());
    }

    let times = reader.second_order_deltas("time", count)?;
    let lats = reader.second_order_deltas("lat", count)?;
    let lons = reader.second_order_deltas("lon", count)?;
    let accuracy_mask = reader.presence("accuracy", count)?;
    let accuracy = reader.runs(present_count(&accuracy_mask))?;
    let speed_mask = reader.presence("speed", count)?;
    let speed = reader.deltas("speed", present_count(&speed_mask))?;
    let bearing_mask = reader.presence("bearing", count)?;
    let bearing = reader.bearing_deltas(present_count(&bearing_mask))?;

    let columns = Columns {
        times,
        lats,
        lons,
        accuracy: spread(&accuracy_mask, accuracy),
        speed: spread(&speed_mask, speed),
        bearing: spread(&bearing_mask, bearing),
    };
    let points = columns.into_points()?;
    reader.finish(points)
}

/// Splits points into chunks of at most `max_points` (at least 1) and
/// encodes each chunk on its own, so every chunk decodes without the others.
pub fn chunks(points: &[TrackPoint], max_points: usize) -> Vec<Vec<u8>> {
    points.chunks(max_points.max(1)).map(encode).collect()
}

fn degrees_to_units(degrees: f64) -> i64 {
    (degrees * DEGREE_SCALE).round() as i64
}

fn scaled(value: Option<f64>, scale: f64) -> Option<i64> {
    value
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| (v * scale).round() as i64)
}

fn bearing_units(bearing: Option<f64>) -> Option<i64> {
    bearing
        .filter(|b| b.is_finite())
        .map(|b| (b.round() as i64).rem_euclid(360))
}

fn present(values: &[Option<i64>]) -> Vec<i64> {
    values.iter().flatten().copied().collect()
}

fn present_count(mask: &[bool]) -> usize {
    mask.iter().filter(|&&p| p).count()
}

fn spread(mask: &[bool], values: Vec<i64>) -> Vec<Option<i64>> {
    let mut values = values.into_iter();
    mask.iter()
        .map(|&p| if p { values.next() } else { None })
        .collect()
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn write_signed(out: &mut Vec<u8>, value: i64) {
    write_varint(out, zigzag(value));
}

/// Writes the first value, then each difference from the previous one.
/// Differences wrap, so any `i64` sequence survives the round trip.
fn write_deltas(out: &mut Vec<u8>, values: &[i64]) {
    let mut previous = 0i64;
    for &value in values {
        write_signed(out, value.wrapping_sub(previous));
        previous = value;
    }
}

/// Writes the first value, the first difference, then each change of the
/// difference: a steady sampling interval costs one byte per point.
fn write_second_order_deltas(out: &mut Vec<u8>, values: &[i64]) {
    let mut differences = Vec::with_capacity(values.len());
    let mut previous = 0i64;
    for &value in values {
        differences.push(value.wrapping_sub(previous));
        previous = value;
    }
    let (first, rest) = differences.split_at(1);
    write_signed(out, first[0]);
    write_deltas(out, rest);
}

fn write_bearing_deltas(out: &mut Vec<u8>, values: &[i64]) {
    let mut previous = 0i64;
    for &value in values {
        let delta = (value - previous + 180).rem_euclid(360) - 180;
        write_signed(out, delta);
        previous = value;
    }
}

fn write_presence(out: &mut Vec<u8>, values: &[Option<i64>]) {
    let count = values.iter().flatten().count();
    if count == 0 {
        out.push(0);
        return;
    }
    if count == values.len() {
        out.push(1);
        return;
    }
    out.push(2);
    let mut bitmap = vec![0u8; values.len().div_ceil(8)];
    for (i, value) in values.iter().enumerate() {
        if value.is_some() {
            bitmap[i / 8] |= 1 << (i % 8);
        }
    }
    out.extend_from_slice(&bitmap);
}

fn write_runs(out: &mut Vec<u8>, values: &[i64]) {
    let mut previous = 0i64;
    let mut i = 0;
    while i < values.len() {
        let value = values[i];
        let run = values[i..].iter().take_while(|&&v| v == value).count();
        write_signed(out, value.wrapping_sub(previous));
        write_varint(out, run as u64 - 1);
        previous = value;
        i += run;
    }
}

/// Reads the point count and checks that the remaining bytes can hold that
/// many points (time, lat and lon take at least one byte each), so a forged
/// count never makes the decoder allocate more than the input justifies.
fn read_count(reader: &mut Reader<'_>, after_version: usize) -> Result<usize, DecodeError> {
    let count = reader.varint("count")?;
    let available = after_version.saturating_sub(reader.offset - 1);
    let needed = count.saturating_mul(3);
    if needed > available as u64 {
        return Err(DecodeError::CountTooLarge {
            count,
            needed,
            available,
        });
    }
    Ok(count as usize)
}

struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl Reader<'_> {
    fn byte(&mut self, column: &'static str) -> Result<u8, DecodeError> {
        let byte = *self.bytes.get(self.offset).ok_or(DecodeError::Truncated {
            column,
            offset: self.offset,
        })?;
        self.offset += 1;
        Ok(byte)
    }

    fn varint(&mut self, column: &'static str) -> Result<u64, DecodeError> {
        let start = self.offset;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte(column)?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                break;
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintOverflow {
            column,
            offset: start,
        })
    }

    fn signed(&mut self, column: &'static str) -> Result<i64, DecodeError> {
        self.varint(column).map(unzigzag)
    }

    fn deltas(&mut self, column: &'static str, count: usize) -> Result<Vec<i64>, DecodeError> {
        let mut values = Vec::with_capacity(count.min(self.bytes.len()));
        let mut previous = 0i64;
        for _ in 0..count {
            previous = previous.wrapping_add(self.signed(column)?);
            values.push(previous);
        }
        Ok(values)
    }

    fn second_order_deltas(
        &mut self,
        column: &'static str,
        count: usize,
    ) -> Result<Vec<i64>, DecodeError> {
        let first = self.signed(column)?;
        let differences = self.deltas(column, count - 1)?;
        let mut values = Vec::with_capacity(count);
        values.push(first);
        let mut previous = first;
        for difference in differences {
            previous = previous.wrapping_add(difference);
            values.push(previous);
        }
        Ok(values)
    }

    fn bearing_deltas(&mut self, count: usize) -> Result<Vec<i64>, DecodeError> {
        let mut values = Vec::with_capacity(count.min(self.bytes.len()));
        let mut previous = 0i64;
        for _ in 0..count {
            let delta = self.signed("bearing")?;
            previous = (previous + delta.rem_euclid(360)).rem_euclid(360);
            values.push(previous);
        }
        Ok(values)
    }

    fn presence(&mut self, column: &'static str, count: usize) -> Result<Vec<bool>, DecodeError> {
        match self.byte(column)? {
            0 => Ok(vec![false; count]),
            1 => Ok(vec![true; count]),
            2 => self.bitmap(column, count),
            value => Err(DecodeError::InvalidPresence { column, value }),
        }
    }

    fn bitmap(&mut self, column: &'static str, count: usize) -> Result<Vec<bool>, DecodeError> {
        let mut mask = Vec::with_capacity(count);
        for byte_index in 0..count.div_ceil(8) {
            let byte = self.byte(column)?;
            for bit in 0..8 {
                let index = byte_index * 8 + bit;
                let set = byte & (1 << bit) != 0;
                if index >= count && set {
                    return Err(DecodeError::PresenceBeyondCount {
                        column,
                        index,
                        count,
                    });
                }
                if index < count {
                    mask.push(set);
                }
            }
        }
        Ok(mask)
    }

    fn runs(&mut self, expected: usize) -> Result<Vec<i64>, DecodeError> {
        let mut values = Vec::with_capacity(expected);
        let mut previous = 0i64;
        while values.len() < expected {
            previous = previous.wrapping_add(self.signed("accuracy")?);
            let run = self.varint("accuracy")?.saturating_add(1);
            let covered = (values.len() as u64).saturating_add(run);
            if covered > expected as u64 {
                return Err(DecodeError::RunMismatch { covered, expected });
            }
            values.extend(std::iter::repeat_n(previous, run as usize));
        }
        Ok(values)
    }

    fn finish(self, points: Vec<TrackPoint>) -> Result<Vec<TrackPoint>, DecodeError> {
        let count = self.bytes.len() - self.offset;
        if count > 0 {
            return Err(DecodeError::TrailingBytes { count });
        }
        Ok(points)
    }
}

/// Decoded integer columns, checked for range while building points.
struct Columns {
    times: Vec<i64>,
    lats: Vec<i64>,
    lons: Vec<i64>,
    accuracy: Vec<Option<i64>>,
    speed: Vec<Option<i64>>,
    bearing: Vec<Option<i64>>,
}

impl Columns {
    fn into_points(self) -> Result<Vec<TrackPoint>, DecodeError> {
        (0..self.times.len()).map(|i| self.point(i)).collect()
    }

    fn point(&self, index: usize) -> Result<TrackPoint, DecodeError> {
        let at = DateTime::<Utc>::from_timestamp_millis(self.times[index]).ok_or(
            DecodeError::OutOfRange {
                column: "time",
                index,
                value: self.times[index],
            },
        )?;
        Ok(TrackPoint {
            at,
            lat: checked_degrees("lat", index, self.lats[index], 90)?,
            lon: checked_degrees("lon", index, self.lons[index], 180)?,
            accuracy_m: checked_scaled("accuracy", index, self.accuracy[index], ACCURACY_SCALE)?,
            speed_mps: checked_scaled("speed", index, self.speed[index], SPEED_SCALE)?,
            bearing_deg: self.bearing[index].map(|b| b as f64),
        })
    }
}

fn checked_degrees(
    column: &'static str,
    index: usize,
    value: i64,
    limit: i64,
) -> Result<f64, DecodeError> {
    if value.unsigned_abs() > (limit * 1_000_000) as u64 {
        return Err(DecodeError::OutOfRange {
            column,
            index,
            value,
        });
    }
    Ok(value as f64 / DEGREE_SCALE)
}

fn checked_scaled(
    column: &'static str,
    index: usize,
    value: Option<i64>,
    scale: f64,
) -> Result<Option<f64>, DecodeError> {
    match value {
        Some(value) if value < 0 => Err(DecodeError::OutOfRange {
            column,
            index,
            value,
        }),
        Some(value) => Ok(Some(value as f64 / scale)),
        None => Ok(None),
    }
}
