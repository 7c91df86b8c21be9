//! Reads the few EXIF fields the pipeline uses: orientation (to make pixels
//! upright), the GPS position (a lead's position fallback) and the capture
//! time. A photo with missing or broken EXIF is still a valid photo, so
//! every reader here returns `None` instead of an error.

use std::io::Cursor;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use exif::{Exif, In, Tag, Value};
use redvest_proto::time::Stamp;

/// The capture time from EXIF, as the camera's wall clock showed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExifTime {
    /// `DateTimeOriginal` (or `DateTime`), in the camera's local time.
    pub local: NaiveDateTime,
    /// `OffsetTimeOriginal` in minutes east of UTC, when the camera wrote it.
    pub offset_min: Option<i32>,
}

impl ExifTime {
    /// Converts to a stored instant, which needs the UTC offset.
    pub fn to_stamp(&self) -> Option<Stamp> {
        let offset = FixedOffset::east_opt(self.offset_min? * 60)?;
        let local = offset.from_local_datetime(&self.local).single()?;
        Some(Stamp::from_local(local))
    }
}

/// The EXIF fields of one photo that the pipeline acts on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotoMeta {
    /// EXIF orientation 1–8; 1 (upright) when absent or out of range.
    pub orientation: u8,
    /// WGS-84 latitude and longitude in degrees.
    pub position: Option<(f64, f64)>,
    pub taken_at: Option<ExifTime>,
}

impl Default for PhotoMeta {
    fn default() -> Self {
        Self {
            orientation: 1,
            position: None,
            taken_at: None,
        }
    }
}

/// Reads EXIF from a JPEG, PNG or WebP container.
pub fn read(bytes: &[u8]) -> PhotoMeta {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return PhotoMeta::default();
    };
    PhotoMeta {
        orientation: orientation(&exif),
        position: position(&exif),
        taken_at: taken_at(&exif),
    }
}

fn orientation(exif: &Exif) -> u8 {
    let value = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|field| field.value.get_uint(0));
    match value {
        Some(v @ 1..=8) => v as u8,
        _ => 1,
    }
}

fn position(exif: &Exif) -> Option<(f64, f64)> {
    let status = ascii(exif, Tag::GPSStatus);
    if status.as_deref() == Some("V") {
        return None;
    }

    let lat = degrees(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, "S")?;
    let lon = degrees(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, "W")?;
    let in_range = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
    let is_null_island = lat == 0.0 && lon == 0.0;
    (in_range && !is_null_island).then_some((lat, lon))
}

/// Converts a degrees/minutes/seconds rational triple, negated when the
/// reference tag equals `negative_ref`.
fn degrees(exif: &Exif, tag: Tag, ref_tag: Tag, negative_ref: &str) -> Option<f64> {
    let field = exif.get_field(tag, In::PRIMARY)?;
    let Value::Rational(parts) = &field.value else {
        return None;
    };
    if parts.is_empty() || parts.iter().any(|p| p.denom == 0) {
        return None;
    }

    let mut value = 0.0;
    for (part, scale) in parts.iter().zip([1.0, 60.0, 3600.0]) {
        value += part.to_f64() / scale;
    }
    let reference = ascii(exif, ref_tag)?;
    let sign = if reference.eq_ignore_ascii_case(negative_ref) {
        -1.0
    } else {
        1.0
    };
    Some(sign * value)
}

fn ascii(exif: &Exif, tag: Tag) -> Option<String> {
    let field = exif.get_field(tag, In::PRIMARY)?;
    let Value::Ascii(parts) = &field.value else {
        return None;
    };
    let first = parts.first()?;
    Some(String::from_utf8_lossy(first).trim().to_string())
}

fn taken_at(exif: &Exif) -> Option<ExifTime> {
    let (raw, offset_tag) = [
        (Tag::DateTimeOriginal, Tag::OffsetTimeOriginal),
        (Tag::DateTime, Tag::OffsetTime),
    ]
    .into_iter()
    .find_map(|(tag, offset_tag)| Some((ascii(exif, tag)?, offset_tag)))?;

    let mut parsed = exif::DateTime::from_ascii(raw.as_bytes()).ok()?;
    if let Some(offset) = ascii(exif, offset_tag) {
        // A malformed offset leaves the time usable, only without an offset.
        let _ = parsed.parse_offset(offset.as_bytes());
    }

    let date = NaiveDate::from_ymd_opt(
        i32::from(parsed.year),
        u32::from(parsed.month),
        u32::from(parsed.day),
    )?;
    let local = date.and_hms_opt(
        u32::from(parsed.hour),
        u32::from(parsed.minute),
        u32::from(parsed.second),
    )?;
    Some(ExifTime {
        local,
        offset_min: parsed.offset.map(i32::from),
    })
}
