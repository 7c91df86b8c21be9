//! Patrol tracks: the pure rules that turn the raw fixes a phone recorded
//! into a track that tells the truth.
//!
//! [`filter`] sorts the fixes, rejects bad ones (each with its reason),
//! splits the rest into segments at gaps and measures them. [`figures`]
//! holds the measuring and display helpers, [`codec`] the compact column
//! encoding that travels in a `TrackChunk`, and [`coverage`] compares a
//! walked track with a planned route. Nothing here does I/O: GPX and
//! GeoJSON live in `redvest-core`.

pub mod codec;
pub mod coverage;
pub mod figures;
pub mod filter;

#[cfg(test)]
mod codec_tests;
#[cfg(test)]
mod filter_tests;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::geo::Fix;

pub use codec::{chunks, decode, encode, DecodeError};
pub use coverage::{route_coverage, Coverage};
pub use figures::simplify;
pub use filter::{filter, FilterParams, FilteredTrack, Gap, GapReason, RejectReason, Segment};

/// One kept point of a track, as the codec stores it and exports draw it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrackPoint {
    pub at: DateTime<Utc>,
    /// WGS-84 latitude in degrees.
    pub lat: f64,
    /// WGS-84 longitude in degrees.
    pub lon: f64,
    /// Horizontal accuracy (68% radius) in metres.
    pub accuracy_m: Option<f64>,
    pub speed_mps: Option<f64>,
    /// Course over ground in degrees clockwise from true north.
    pub bearing_deg: Option<f64>,
}

impl TrackPoint {
    /// Builds a point with no accuracy, speed or bearing.
    pub fn new(at: DateTime<Utc>, lat: f64, lon: f64) -> Self {
        Self {
            at,
            lat,
            lon,
            accuracy_m: None,
            speed_mps: None,
            bearing_deg: None,
        }
    }

    /// Returns the position as `(lat, lon)`, the order `geo::distance_m` takes.
    pub fn lat_lon(&self) -> (f64, f64) {
        (self.lat, self.lon)
    }
}

impl From<&Fix> for TrackPoint {
    fn from(fix: &Fix) -> Self {
        Self {
            at: fix.at,
            lat: fix.lat,
            lon: fix.lon,
            accuracy_m: fix.accuracy_m,
            speed_mps: fix.speed_mps,
            bearing_deg: fix.bearing_deg,
        }
    }
}
