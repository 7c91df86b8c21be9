//! Route coverage: how much of a planned route a patrol actually walked.
//!
//! The route is cut into pieces of at most [`SAMPLE_STEP_M`]; a piece counts
//! as walked when its midpoint lies within the tolerance of the walked track
//! (of a line between two consecutive points of one segment, or of a lone
//! point). Gaps between segments never count as walked.

use geo::{Closest, ClosestPoint, Coord, Line, Point};
use serde::{Deserialize, Serialize};

use crate::geo::distance_m;
use crate::track::figures::LocalPlane;
use crate::track::TrackPoint;

/// Tolerance in metres within which a piece of route counts as walked.
pub const DEFAULT_COVERAGE_TOLERANCE_M: f64 = 30.0;

/// Longest piece of route judged as one, in metres.
pub const SAMPLE_STEP_M: f64 = 5.0;

/// The walked share of a planned route.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Geodesic length of the planned route in metres.
    pub route_m: f64,
    /// Length of the route in metres that lies within the tolerance of the track.
    pub covered_m: f64,
}

impl Coverage {
    /// Returns the covered share between 0 and 1 (0 for an empty route).
    pub fn share(&self) -> f64 {
        if self.route_m <= 0.0 {
            return 0.0;
        }
        (self.covered_m / self.route_m).clamp(0.0, 1.0)
    }
}

/// Measures how much of `route` (WGS-84 `(lat, lon)` vertices) lies within
/// `tolerance_m` of the walked `segments`.
pub fn route_coverage(
    route: &[(f64, f64)],
    segments: &[Vec<TrackPoint>],
    tolerance_m: f64,
) -> Coverage {
    let mut coverage = Coverage {
        route_m: 0.0,
        covered_m: 0.0,
    };
    let Some(&(origin_lat, origin_lon)) = route.first() else {
        return coverage;
    };
    let plane = LocalPlane::new(origin_lat, origin_lon);
    let walked = walked_lines(&plane, segments);

    for leg in route.windows(2) {
        let metres = distance_m(leg[0], leg[1]);
        let pieces = (metres / SAMPLE_STEP_M).ceil().max(1.0) as usize;
        let (start, end) = (
            plane.project(leg[0].0, leg[0].1),
            plane.project(leg[1].0, leg[1].1),
        );
        for piece in 0..pieces {
            let t = (piece as f64 + 0.5) / pieces as f64;
            let midpoint = Coord {
                x: start.x + (end.x - start.x) * t,
                y: start.y + (end.y - start.y) * t,
            };
            if is_near(&walked, midpoint, tolerance_m) {
                coverage.covered_m += metres / pieces as f64;
            }
        }
        coverage.route_m += metres;
    }
    coverage
}

/// Projects each segment into lines; a one-point segment becomes a line of
/// zero length so that it still counts.
fn walked_lines(plane: &LocalPlane, segments: &[Vec<TrackPoint>]) -> Vec<Line<f64>> {
    let mut lines = Vec::new();
    for segment in segments {
        let coords: Vec<Coord<f64>> = segment
            .iter()
            .map(|p| plane.project(p.lat, p.lon))
            .collect();
        match coords.as_slice() {
            [] => {}
            [only] => lines.push(Line::new(*only, *only)),
            _ => lines.extend(coords.windows(2).map(|pair| Line::new(pair[0], pair[1]))),
        }
    }
    lines
}

fn is_near(lines: &[Line<f64>], target: Coord<f64>, tolerance_m: f64) -> bool {
    let target = Point::from(target);
    lines.iter().any(|line| match line.closest_point(&target) {
        Closest::Intersection(p) | Closest::SinglePoint(p) => {
            let (dx, dy) = (p.x() - target.x(), p.y() - target.y());
            dx.hypot(dy) <= tolerance_m
        }
        Closest::Indeterminate => false,
    })
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn walk(points: &[(f64, f64)]) -> Vec<TrackPoint> {
        let at = |i: usize| DateTime::from_timestamp(1_780_000_000 + i as i64, 0).unwrap();
        points
            .iter()
            .enumerate()
            .map(|(i, &(lat, lon))| TrackPoint::new(at(i), lat, lon))
            .collect()
    }

    #[test]
    fn coverage_of_half_walked_route() {
        let route = [(36.0, 118.0), (36.0, 118.02)];
        let track = walk(&[(36.0001, 118.0), (36.0001, 118.01)]);

        let coverage = route_coverage(&route, &[track], DEFAULT_COVERAGE_TOLERANCE_M);

        // Half the route plus the last 28 m that lie within 30 m of the
        // track's end point (11 m off the route): 929 m of 1803 m.
        assert!(
            (coverage.share() - 0.516).abs() < 0.005,
            "share {}",
            coverage.share()
        );
    }

    #[test]
    fn coverage_ignores_track_beyond_tolerance() {
        let route = [(36.0, 118.0), (36.0, 118.01)];
        let track = walk(&[(36.001, 118.0), (36.001, 118.01)]);

        let coverage = route_coverage(&route, &[track], DEFAULT_COVERAGE_TOLERANCE_M);

        assert_eq!(coverage.covered_m, 0.0);
    }

    #[test]
    fn coverage_of_empty_route_is_zero() {
        assert_eq!(
            route_coverage(&[], &[], DEFAULT_COVERAGE_TOLERANCE_M).share(),
            0.0
        );
    }
}
