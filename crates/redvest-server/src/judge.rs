//! The server's judgement of a clock-in: the flags it raises decide whether
//! the clock-in is accepted at once or goes to the squad leader's queue.
//! The rules themselves live in `redvest_proto::duty`, shared with the phone.

use chrono::{DateTime, TimeDelta, Utc};
use redvest_proto::duty::{judge_clock_in, server_capture_time, ClockInFacts, JudgeRules};
use redvest_proto::records::ClockIn;
use redvest_proto::wire::Site;
use redvest_proto::Stamp;
use uuid::Uuid;

/// What the server knows about one clock-in when it arrives.
#[derive(Debug, Clone, Copy)]
pub struct ClockInArrival<'a> {
    pub site: &'a Site,
    pub clock_in: &'a ClockIn,
    pub captured_at: Stamp,
    pub received_at: DateTime<Utc>,
    /// The device clock when the phone sent the batch, if the push carried it.
    pub sent_at: Option<Stamp>,
    /// The site of the member's open shift, if any.
    pub open_shift_site: Option<Uuid>,
}

/// Returns the machine codes of the flags a clock-in raises.
pub fn clock_in_flags(arrival: &ClockInArrival<'_>) -> Vec<String> {
    let rules = JudgeRules::default();
    let facts = ClockInFacts {
        site: arrival.site,
        fix: arrival.clock_in.fix.as_ref(),
        fix_requested_at: arrival.clock_in.fix_requested_at,
        device_time: arrival.captured_at,
        received_at: server_time_at_capture(arrival, rules.max_clock_skew),
        open_shift_site: arrival.open_shift_site,
        rules: &rules,
    };
    judge_clock_in(&facts).flag_codes()
}

/// Estimates the server clock at capture, so a record that waited offline is
/// not mistaken for a skewed clock. Without the device's send time, a
/// capture that arrived within `max_skew`, or one stamped after it arrived,
/// is compared with the receive time, and an older capture is not checked
/// for skew because delay and skew look the same.
fn server_time_at_capture(
    arrival: &ClockInArrival<'_>,
    max_skew: TimeDelta,
) -> Option<DateTime<Utc>> {
    let device = arrival.captured_at.utc;
    if let Some(sent_at) = arrival.sent_at {
        return Some(server_capture_time(
            device,
            sent_at.utc,
            arrival.received_at,
        ));
    }
    let waited = arrival.received_at.signed_duration_since(device);
    (waited <= max_skew).then_some(arrival.received_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_time_estimates() {
        let site = crate::seed::demo_sites().remove(0);
        let clock_in = ClockIn {
            site_id: site.id,
            fix: None,
            fix_requested_at: None,
            monotonic: None,
        };
        let received_at = Utc::now();
        let stamp = |minutes_before: i64| Stamp {
            utc: received_at - TimeDelta::minutes(minutes_before),
            offset_min: 480,
        };
        let arrival = |captured: Stamp, sent_at: Option<Stamp>| ClockInArrival {
            site: &site,
            clock_in: &clock_in,
            captured_at: captured,
            received_at,
            sent_at,
            open_shift_site: None,
        };
        let skew = TimeDelta::minutes(2);
        let cases = [
            ("pushed at once", arrival(stamp(0), None), Some(received_at)),
            ("clock ahead", arrival(stamp(-30), None), Some(received_at)),
            (
                "waited offline, no send time",
                arrival(stamp(90), None),
                None,
            ),
            (
                "waited offline, sent just now",
                arrival(stamp(90), Some(stamp(0))),
                Some(received_at - TimeDelta::minutes(90)),
            ),
        ];
        for (name, arrival, expected) in cases {
            assert_eq!(server_time_at_capture(&arrival, skew), expected, "{name}");
        }
    }
}
