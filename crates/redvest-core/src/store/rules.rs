//! The domain rules the store applies at capture time: the local clock-in
//! verdict, the fence distance and the track filter and codec.
//!
//! TODO: temporary fallback until `redvest_proto::duty::judge_clock_in` and
//! `redvest_proto::track` are committed; then call them from here and drop
//! the fallback bodies.

use base64::Engine;
use chrono::{DateTime, Utc};
use redvest_proto::geo::{distance_m, is_valid_position, Fix};
use redvest_proto::records::{PatrolMode, PatrolStop};
use redvest_proto::wire::{Fence, Site};
use redvest_proto::Stamp;
use uuid::Uuid;

/// The accuracy radius beyond which a fix is flagged or dropped, in metres.
const POOR_ACCURACY_M: f64 = 50.0;

/// How long after the app requested it a fix still counts as fresh.
const STALE_AFTER_S: i64 = 120;

/// The maximum number of points one `TrackChunk` record carries.
pub const CHUNK_POINTS: usize = 300;

/// Returns the distance in metres from a fix to a site's fence, 0 inside it.
pub fn distance_to_fence_m(site: &Site, fix: &Fix) -> f64 {
    match &site.fence {
        Fence::Circle { lat, lon, radius_m } => (distance_m((*lat, *lon), (fix.lat, fix.lon)) - radius_m).max(0.0),
        Fence::Polygon { ring } if inside_ring(ring, fix.lat, fix.lon) => 0.0,
        Fence::Polygon { ring } => ring
            .iter()
            .map(|vertex| distance_m(*vertex, (fix.lat, fix.lon)))
            .fold(f64::INFINITY, f64::min),
    }
}

fn inside_ring(ring: &[(f64, f64)], lat: f64, lon: f64) -> bool {
    let mut inside = false;
    let mut previous = match ring.last() {
        Some(vertex) => *vertex,
        None => return false,
    };
    for &(vertex_lat, vertex_lon) in ring {
        let (previous_lat, previous_lon) = previous;
        let crosses = (vertex_lat > lat) != (previous_lat > lat);
        if crosses {
            let lon_at = vertex_lon + (lat - vertex_lat) / (previous_lat - vertex_lat) * (previous_lon - vertex_lon);
            inside ^= lon < lon_at;
        }
        previous = (vertex_lat, vertex_lon);
    }
    inside
}

/// Returns the machine codes of the flags a clock-in raises, and the
/// distance to the fence when there was a fix.
pub fn judge_clock_in(site: &Site, fix: Option<&Fix>, fix_requested_at: Option<Stamp>) -> (Option<f64>, Vec<String>) {
    let Some(fix) = fix else {
        return (None, vec!["no_fix".to_owned()]);
    };

    let mut flags = Vec::new();
    let distance = distance_to_fence_m(site, fix);
    let accuracy = fix.accuracy_m.unwrap_or(POOR_ACCURACY_M);
    if accuracy > POOR_ACCURACY_M {
        flags.push("poor_accuracy".to_owned());
    }
    if distance > accuracy {
        flags.push("outside_fence".to_owned());
    }
    if fix.mock {
        flags.push("mock_location".to_owned());
    }
    let stale = fix_requested_at.is_some_and(|asked| (asked.utc - fix.at).num_seconds() > STALE_AFTER_S);
    if stale {
        flags.push("stale_fix".to_owned());
    }
    (Some(distance), flags)
}

/// A filtered patrol track ready to be written as records.
pub struct FilteredTrack {
    pub stop: PatrolStop,
    /// Base64 chunk payloads with their point counts.
    pub chunks: Vec<(u32, String)>,
}

/// Filters the raw fixes of a patrol, measures the kept ones and encodes
/// them in chunks. `fixes` carries each fix with its pause segment.
pub fn filter_track(patrol_id: Uuid, _mode: PatrolMode, fixes: &[(i64, Fix)]) -> FilteredTrack {
    let mut kept: Vec<&(i64, Fix)> = fixes.iter().filter(|(_, fix)| is_usable(fix)).collect();
    kept.sort_by_key(|(_, fix)| fix.at);

    let mut distance = 0.0;
    let mut moving_s = 0;
    let mut segments = u32::from(!kept.is_empty());
    for pair in kept.windows(2) {
        let ((segment_a, a), (segment_b, b)) = (pair[0], pair[1]);
        if segment_a != segment_b {
            segments += 1;
            continue;
        }
        let step = distance_m((a.lat, a.lon), (b.lat, b.lon));
        let seconds = (b.at - a.at).num_seconds();
        distance += step;
        if seconds > 0 && step / seconds as f64 > 0.5 {
            moving_s += seconds;
        }
    }

    let duration_s = match (kept.first(), kept.last()) {
        (Some((_, first)), Some((_, last))) => (last.at - first.at).num_seconds(),
        _ => 0,
    };
    let chunks: Vec<(u32, String)> = kept
        .chunks(CHUNK_POINTS)
        .map(|chunk| (chunk.len() as u32, encode_chunk(chunk)))
        .collect();
    let stop = PatrolStop {
        patrol_id,
        distance_m: distance,
        moving_s,
        duration_s,
        points_kept: kept.len() as u32,
        points_rejected: (fixes.len() - kept.len()) as u32,
        segments,
        incomplete: segments > 1,
        chunks: chunks.len() as u32,
    };
    FilteredTrack { stop, chunks }
}

fn is_usable(fix: &Fix) -> bool {
    is_valid_position(fix.lat, fix.lon) && fix.accuracy_m.is_none_or(|accuracy| accuracy <= POOR_ACCURACY_M)
}

fn encode_chunk(points: &[&(i64, Fix)]) -> String {
    let columns: Vec<(DateTime<Utc>, f64, f64, Option<f64>)> = points
        .iter()
        .map(|(_, fix)| (fix.at, fix.lat, fix.lon, fix.accuracy_m))
        .collect();
    let json = serde_json::to_vec(&columns).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(json)
}
