//! Figures of a segment (geodesic distance, duration, moving time) and the
//! Douglas–Peucker simplification used to draw a track.
//!
//! Distances are geodesic on WGS-84 (the `geo` crate's `Geodesic`).
//! Simplification and route coverage work on a local metric plane
//! (equirectangular around the first point), which over a patrol's few
//! kilometres differs from the geodesic by far less than the 5 m tolerance.

use geo::{Coord, LineString, SimplifyIdx};
use serde::{Deserialize, Serialize};

use crate::geo::{distance_m, Fix};
use crate::track::filter::seconds_between;
use crate::track::TrackPoint;

/// Mean Earth radius in metres (IUGG), for the local plane.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Simplification tolerance in metres for drawing a track on a phone map.
pub const DISPLAY_TOLERANCE_M: f64 = 5.0;

/// Distance and times of one segment or of a whole track.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Figures {
    /// Geodesic length in metres.
    pub distance_m: f64,
    /// Seconds from the first to the last fix.
    pub duration_s: f64,
    /// Seconds spent between fixes at or above the stop speed.
    pub moving_s: f64,
}

/// Measures a run of time-ordered fixes with no gap in it.
///
/// Moving time adds the spacing of each pair of consecutive fixes whose
/// average speed is at least `stop_speed_mps`.
pub fn measure(fixes: &[Fix], stop_speed_mps: f64) -> Figures {
    let mut figures = Figures::default();
    for pair in fixes.windows(2) {
        let metres = distance_m((pair[0].lat, pair[0].lon), (pair[1].lat, pair[1].lon));
        let seconds = seconds_between(pair[0].at, pair[1].at);
        figures.distance_m += metres;
        figures.duration_s += seconds;
        if seconds > 0.0 && metres / seconds >= stop_speed_mps {
            figures.moving_s += seconds;
        }
    }
    figures
}

/// Simplifies one segment with Douglas–Peucker at `tolerance_m` metres,
/// keeping the first and last point and returning original points only.
pub fn simplify(points: &[TrackPoint], tolerance_m: f64) -> Vec<TrackPoint> {
    let Some(origin) = points.first() else {
        return Vec::new();
    };
    let plane = LocalPlane::new(origin.lat, origin.lon);
    let line: LineString<f64> = points.iter().map(|p| plane.project(p.lat, p.lon)).collect();

    line.simplify_idx(tolerance_m)
        .into_iter()
        .map(|i| points[i])
        .collect()
}

/// An equirectangular projection around one origin, in metres east (x) and
/// north (y).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalPlane {
    origin_lat: f64,
    origin_lon: f64,
    metres_per_degree_lon: f64,
}

impl LocalPlane {
    const METRES_PER_DEGREE_LAT: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

    pub(crate) fn new(origin_lat: f64, origin_lon: f64) -> Self {
        Self {
            origin_lat,
            origin_lon,
            metres_per_degree_lon: Self::METRES_PER_DEGREE_LAT * origin_lat.to_radians().cos(),
        }
    }

    pub(crate) fn project(&self, lat: f64, lon: f64) -> Coord<f64> {
        Coord {
            x: (lon - self.origin_lon) * self.metres_per_degree_lon,
            y: (lat - self.origin_lat) * Self::METRES_PER_DEGREE_LAT,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + second, 0).unwrap()
    }

    #[test]
    fn measure_excludes_stops_from_moving_time() {
        let walk = [
            Fix::new(36.0, 118.0, Some(5.0), at(0), "gps"),
            Fix::new(36.0001, 118.0, Some(5.0), at(10), "gps"),
            Fix::new(36.0001, 118.0, Some(5.0), at(70), "gps"),
        ];

        let figures = measure(&walk, 0.3);

        assert!(
            (figures.distance_m - 11.09).abs() < 0.05,
            "distance {}",
            figures.distance_m
        );
        assert_eq!(figures.duration_s, 70.0);
        assert_eq!(figures.moving_s, 10.0);
    }

    #[test]
    fn simplify_drops_collinear_points() {
        let points: Vec<TrackPoint> = (0..100)
            .map(|i| TrackPoint::new(at(i), 36.0 + i as f64 * 1e-5, 118.0))
            .collect();

        let simplified = simplify(&points, DISPLAY_TOLERANCE_M);

        assert_eq!(simplified.len(), 2);
        assert_eq!(simplified[0], points[0]);
        assert_eq!(simplified[1], points[99]);
    }

    #[test]
    fn simplify_keeps_a_corner_beyond_tolerance() {
        let corner = [
            TrackPoint::new(at(0), 36.0, 118.0),
            TrackPoint::new(at(1), 36.001, 118.0),
            TrackPoint::new(at(2), 36.001, 118.001),
        ];

        assert_eq!(simplify(&corner, DISPLAY_TOLERANCE_M).len(), 3);
    }
}
