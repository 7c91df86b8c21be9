//! The compact column encoding of track points carried (base64) in a
//! `TrackChunk` record.
//!
//! Layout of version 2, every integer a LEB128 varint and every signed one
//! zigzag-mapped first:
//!
//! | part | content |
//! | --- | --- |
//! | version | one byte, `2` |
//! | count | number of points `n`; nothing follows when it is 0 |
//! | flags | one byte: bit 0 set when times are whole seconds, then two bits each for the predictor of time (bits 1-2), lat (bits 3-4) and lon (bits 5-6); bit 7 is 0 |
//! | time | `n` residuals in seconds (bit 0 set) or milliseconds since the Unix epoch |
//! | lat, lon | `n` residuals each in 1e-6 degree (about 0.11 m) |
//! | accuracy | presence, then runs of (delta in 0.1 m, run length - 1) over the present values |
//! | speed | presence, then deltas in 0.1 m/s over the present values |
//! | bearing | presence, then deltas in whole degrees, wrapped into -180..180 |
//!
//! A residual is a value minus its prediction from the values before it.
//! For each column the encoder picks the predictor that gives the fewest
//! bytes. Predictor 0 is the previous value, 1 the previous value plus the
//! previous step, and 2 (lat and lon only) the previous value plus the
//! previous step scaled by the ratio of this time spacing to the previous
//! one. The first value is predicted as 0 and the second as the first,
//! whatever the predictor.
//!
//! A presence part is one byte: 0 when no point has the value, 1 when all
//! have it, 2 when a bitmap of `ceil(n / 8)` bytes follows (bit `i % 8` of
//! byte `i / 8` set when point `i` has it).
//!
//! Version 1 has no flags byte: its times are milliseconds and time, lat
//! and lon all use predictor 1. Decoding still reads it, because phones
//! may hold chunks queued before the upgrade; encoding writes version 2.
//!
//! A phone that logs whole seconds at varying spacing (1-12 s on a real
//! Garmin walk) pays one byte per point for time, and the scaled step
//! keeps most lat and lon residuals in one byte, so a point takes a little
//! over 3 bytes. Decoding returns `decode(encode(p)) == quantize(p)` for
//! every point and rejects truncated or inconsistent input with a
//! [`DecodeError`].

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::track::TrackPoint;

/// The version byte this build writes.
pub const VERSION: u8 = 2;

/// The oldest version byte this build still reads.
pub const OLDEST_VERSION: u8 = 1;

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
    #[error(
        "unsupported track encoding version {0}; this build reads versions {OLDEST_VERSION} to {VERSION}"
    )]
    UnsupportedVersion(u8),
    #[error("invalid flags byte {0:#010b}; expected bit 7 clear and predictors 0 or 1 for time, 0 to 2 for lat and lon")]
    InvalidFlags(u8),
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

/// Encodes points in the version 2 layout described in the module docs.
pub fn encode(points: &[TrackPoint]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + points.len() * 4);
    out.push(VERSION);
    write_varint(&mut out, points.len() as u64);
    if points.is_empty() {
        return out;
    }

    let millis: Vec<i64> = points.iter().map(|p| p.at.timestamp_millis()).collect();
    let seconds = millis.iter().all(|m| m.rem_euclid(1000) == 0);
    let times: Vec<i64> = if seconds {
        millis.iter().map(|m| m.div_euclid(1000)).collect()
    } else {
        millis
    };
    let lats: Vec<i64> = points.iter().map(|p| degrees_to_units(p.lat)).collect();
    let lons: Vec<i64> = points.iter().map(|p| degrees_to_units(p.lon)).collect();
    let time = cheapest(&times, &times, TIME_PREDICTORS);
    let lat = cheapest(&lats, &times, POSITION_PREDICTORS);
    let lon = cheapest(&lons, &times, POSITION_PREDICTORS);
    let layout = Layout {
        seconds,
        time: time.0,
        lat: lat.0,
        lon: lon.0,
    };
    out.push(layout.flags());
    for residual in [time.1, lat.1, lon.1].iter().flatten() {
        write_signed(&mut out, *residual);
    }

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

/// Decodes bytes written by [`encode`] in version 2, or by a version 1
/// build.
pub fn decode(bytes: &[u8]) -> Result<Vec<TrackPoint>, DecodeError> {
    let (&version, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if !(OLDEST_VERSION..=VERSION).contains(&version) {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let mut reader = Reader { bytes, offset: 1 };
    let count = read_count(&mut reader, rest.len())?;
    if count == 0 {
        return reader.finish(Vec::new());
    }
    let layout = match version {
        1 => Layout::VERSION_1,
        _ => Layout::from_flags(reader.byte("flags")?)?,
    };

    let times = reader.residuals("time", count)?;
    let times = restore(&times, &[], layout.time);
    let lats = restore(&reader.residuals("lat", count)?, &times, layout.lat);
    let lons = restore(&reader.residuals("lon", count)?, &times, layout.lon);
    let accuracy_mask = reader.presence("accuracy", count)?;
    let accuracy = reader.runs(present_count(&accuracy_mask))?;
    let speed_mask = reader.presence("speed", count)?;
    let speed = reader.deltas("speed", present_count(&speed_mask))?;
    let bearing_mask = reader.presence("bearing", count)?;
    let bearing = reader.bearing_deltas(present_count(&bearing_mask))?;

    let columns = Columns {
        times: to_millis(times, layout.seconds)?,
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

/// The rule that predicts each value of a column from the values before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Predictor {
    /// The previous value (first-order deltas).
    Previous = 0,
    /// The previous value plus the previous step (second-order deltas).
    Step = 1,
    /// The previous step scaled by this time spacing over the previous one,
    /// which follows a steady walk logged at uneven spacing.
    TimedStep = 2,
}

const TIME_PREDICTORS: &[Predictor] = &[Predictor::Previous, Predictor::Step];
const POSITION_PREDICTORS: &[Predictor] =
    &[Predictor::Previous, Predictor::Step, Predictor::TimedStep];

impl Predictor {
    fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0 => Some(Self::Previous),
            1 => Some(Self::Step),
            2 => Some(Self::TimedStep),
            _ => None,
        }
    }

    /// Predicts `values[i]` from `values[..i]` and, for [`Self::TimedStep`],
    /// `times[..=i]`. All arithmetic wraps, so any `i64` input round-trips.
    fn predict(self, values: &[i64], times: &[i64], i: usize) -> i64 {
        if i == 0 {
            return 0;
        }
        let last = values[i - 1];
        if i == 1 || self == Self::Previous {
            return last;
        }
        let step = last.wrapping_sub(values[i - 2]);
        let step = match self {
            Self::TimedStep => scale_step(step, times, i),
            _ => step,
        };
        last.wrapping_add(step)
    }
}

/// Scales `step` by `(times[i] - times[i - 1]) / (times[i - 1] - times[i - 2])`,
/// rounded half away from zero. Without a positive previous spacing and a
/// non-negative current one the step stays as it is.
fn scale_step(step: i64, times: &[i64], i: usize) -> i64 {
    let spacing = i128::from(times[i].wrapping_sub(times[i - 1]));
    let previous = i128::from(times[i - 1].wrapping_sub(times[i - 2]));
    if previous <= 0 || spacing < 0 {
        return step;
    }
    let product = i128::from(step) * spacing;
    let magnitude = (product.unsigned_abs() + (previous as u128) / 2) / previous as u128;
    let scaled = magnitude as i128;
    let scaled = if product < 0 { -scaled } else { scaled };
    scaled as i64
}

/// Returns each value minus its prediction.
fn residuals(values: &[i64], times: &[i64], predictor: Predictor) -> Vec<i64> {
    (0..values.len())
        .map(|i| values[i].wrapping_sub(predictor.predict(values, times, i)))
        .collect()
}

/// Undoes [`residuals`]. For [`Predictor::TimedStep`] the `times` column
/// must be restored already.
fn restore(residuals: &[i64], times: &[i64], predictor: Predictor) -> Vec<i64> {
    let mut values = Vec::with_capacity(residuals.len());
    for (i, residual) in residuals.iter().enumerate() {
        let value = predictor.predict(&values, times, i).wrapping_add(*residual);
        values.push(value);
    }
    values
}

/// Picks the predictor whose residuals take the fewest bytes, the first
/// listed on a tie, and returns it with those residuals.
fn cheapest(values: &[i64], times: &[i64], predictors: &[Predictor]) -> (Predictor, Vec<i64>) {
    predictors
        .iter()
        .map(|&predictor| (predictor, residuals(values, times, predictor)))
        .min_by_key(|(_, residuals)| {
            residuals
                .iter()
                .map(|&r| varint_len(zigzag(r)))
                .sum::<usize>()
        })
        .expect("predictor lists are not empty")
}

/// The time unit and the predictor of each column of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    seconds: bool,
    time: Predictor,
    lat: Predictor,
    lon: Predictor,
}

impl Layout {
    const VERSION_1: Self = Self {
        seconds: false,
        time: Predictor::Step,
        lat: Predictor::Step,
        lon: Predictor::Step,
    };

    fn flags(self) -> u8 {
        u8::from(self.seconds)
            | (self.time as u8) << 1
            | (self.lat as u8) << 3
            | (self.lon as u8) << 5
    }

    fn from_flags(flags: u8) -> Result<Self, DecodeError> {
        let invalid = DecodeError::InvalidFlags(flags);
        if flags & 0x80 != 0 {
            return Err(invalid);
        }
        let time = Predictor::from_bits((flags >> 1) & 3)
            .filter(|p| TIME_PREDICTORS.contains(p))
            .ok_or(invalid.clone())?;
        let lat = Predictor::from_bits((flags >> 3) & 3).ok_or(invalid.clone())?;
        let lon = Predictor::from_bits((flags >> 5) & 3).ok_or(invalid)?;
        Ok(Self {
            seconds: flags & 1 != 0,
            time,
            lat,
            lon,
        })
    }
}

/// Converts a time column to milliseconds, rejecting seconds that overflow.
fn to_millis(times: Vec<i64>, seconds: bool) -> Result<Vec<i64>, DecodeError> {
    if !seconds {
        return Ok(times);
    }
    times
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            value.checked_mul(1000).ok_or(DecodeError::OutOfRange {
                column: "time",
                index,
                value,
            })
        })
        .collect()
}

fn varint_len(value: u64) -> usize {
    (64 - value.leading_zeros() as usize).max(1).div_ceil(7)
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

    fn residuals(&mut self, column: &'static str, count: usize) -> Result<Vec<i64>, DecodeError> {
        (0..count).map(|_| self.signed(column)).collect()
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
