//! Instants as they are stored everywhere: UTC plus the UTC offset that the
//! device had at capture, so a 07:30 clock-in in Asia/Shanghai is kept as
//! 23:30 UTC of the previous day and still shown as 07:30.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A captured instant: the UTC time and the device's UTC offset at capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub utc: DateTime<Utc>,
    /// Offset east of UTC in minutes (Asia/Shanghai is +480).
    pub offset_min: i32,
}

impl Stamp {
    /// Builds a stamp from a local time with its offset.
    pub fn from_local(local: DateTime<FixedOffset>) -> Self {
        Self {
            utc: local.with_timezone(&Utc),
            offset_min: local.offset().local_minus_utc() / 60,
        }
    }

    /// Stamps the current instant with the host's local offset.
    pub fn now_local() -> Self {
        Self::from_local(chrono::Local::now().fixed_offset())
    }

    /// Returns the instant in the offset it was captured with.
    pub fn local(&self) -> DateTime<FixedOffset> {
        let offset = FixedOffset::east_opt(self.offset_min * 60)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
        offset.from_utc_datetime(&self.utc.naive_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_morning_is_previous_utc_day() {
        let local = DateTime::parse_from_rfc3339("2026-09-01T07:30:00+08:00").unwrap();
        let stamp = Stamp::from_local(local);

        assert_eq!(stamp.utc.to_rfc3339(), "2026-08-31T23:30:00+00:00");
        assert_eq!(stamp.offset_min, 480);
        assert_eq!(stamp.local().format("%H:%M").to_string(), "07:30");
    }
}
