//! The domain rules the store applies at capture time, taken from
//! `redvest_proto` so the phone's instant verdict and the server's final
//! word come from the same code: the clock-in judge, the fence distance,
//! and the track filter and codec.

use base64::Engine;
use chrono::{DateTime, Utc};
use redvest_proto::duty::{self, ClockInFacts, JudgeRules};
use redvest_proto::geo::Fix;
use redvest_proto::records::{PatrolMode, PatrolStop};
use redvest_proto::track::{self, codec, FilterParams, TrackPoint};
use redvest_proto::wire::Site;
use redvest_proto::Stamp;
use uuid::Uuid;

/// Returns the distance in metres from a fix to a site's fence, 0 inside it.
pub fn distance_to_fence_m(site: &Site, fix: &Fix) -> f64 {
    duty::distance_to_fence_m(&site.fence, fix)
}

/// Judges a clock-in on the phone, without a server receive time, and
/// returns the distance to the fence and the machine codes of the flags.
pub fn judge_clock_in(
    site: &Site,
    fix: Option<&Fix>,
    fix_requested_at: Option<Stamp>,
    device_time: Stamp,
) -> (Option<f64>, Vec<String>) {
    let rules = JudgeRules::default();
    let facts = ClockInFacts {
        site,
        fix,
        fix_requested_at,
        device_time,
        received_at: None,
        open_shift_site: None,
        rules: &rules,
    };
    let verdict = duty::judge_clock_in(&facts);
    (verdict.distance_m, verdict.flag_codes())
}

/// A filtered patrol track ready to be written as records.
pub struct FilteredTrack {
    pub stop: PatrolStop,
    /// Base64 chunk payloads with their point counts, at most
    /// [`codec::DEFAULT_CHUNK_POINTS`] points each.
    pub chunks: Vec<(u32, String)>,
}

/// Filters the raw fixes of a patrol, measures the kept ones and encodes
/// them in chunks.
pub fn filter_track(
    patrol_id: Uuid,
    mode: PatrolMode,
    started_at: DateTime<Utc>,
    fixes: &[Fix],
) -> FilteredTrack {
    let filtered = track::filter(fixes, started_at, mode, &FilterParams::default());
    let points: Vec<TrackPoint> = filtered.kept.iter().map(TrackPoint::from).collect();
    let encoded = codec::chunks(&points, codec::DEFAULT_CHUNK_POINTS);
    let counts = points
        .chunks(codec::DEFAULT_CHUNK_POINTS)
        .map(|chunk| chunk.len() as u32);
    let chunks: Vec<(u32, String)> = counts
        .zip(encoded)
        .map(|(count, bytes)| {
            (
                count,
                base64::engine::general_purpose::STANDARD.encode(bytes),
            )
        })
        .collect();
    let stop = filtered.patrol_stop(patrol_id, chunks.len() as u32);
    FilteredTrack { stop, chunks }
}
