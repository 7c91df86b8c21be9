//! Distance from a fix to a site's geofence, measured geodesically in metres
//! on WGS-84, and the presence it implies given the fix's accuracy circle.

use geo::{
    Closest, Contains, Distance, Geodesic, HaversineClosestPoint, LineString, Point, Polygon,
};
use serde::{Deserialize, Serialize};

use crate::geo::{distance_m, is_valid_position, Fix};
use crate::wire::Fence;

/// Position of the member relative to the fence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// The fix lies inside the fence and is not from a mock provider.
    Inside,
    /// Only the fix's accuracy circle reaches the fence, or a mock fix lies inside.
    Uncertain,
    /// Even the accuracy circle stays clear of the fence.
    Outside,
    /// The phone had no usable fix.
    NoFix,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Inside => "inside",
            Presence::Uncertain => "uncertain",
            Presence::Outside => "outside",
            Presence::NoFix => "no_fix",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Presence::Inside,
            Presence::Uncertain,
            Presence::Outside,
            Presence::NoFix,
        ]
        .into_iter()
        .find(|presence| presence.as_str() == text)
    }
}

/// Measures the distance in metres from a fix to the edge of a fence, 0 when
/// the fix lies inside.
///
/// A polygon with fewer than three vertices contains nothing, so every fix is
/// measured to its vertices. Containment is tested in plain latitude and
/// longitude, an approximation that is close for fences of a few hundred metres.
pub fn distance_to_fence_m(fence: &Fence, fix: &Fix) -> f64 {
    match fence {
        Fence::Circle { lat, lon, radius_m } => {
            (distance_m((fix.lat, fix.lon), (*lat, *lon)) - radius_m).max(0.0)
        }
        Fence::Polygon { ring } => distance_to_ring_m(ring, fix.point()),
    }
}

fn distance_to_ring_m(ring: &[(f64, f64)], point: Point<f64>) -> f64 {
    let exterior: LineString<f64> = ring.iter().map(|&(lat, lon)| (lon, lat)).collect();
    let polygon = Polygon::new(exterior, Vec::new());
    if ring.len() >= 3 && polygon.contains(&point) {
        return 0.0;
    }

    match polygon.exterior().haversine_closest_point(&point) {
        Closest::Intersection(_) => 0.0,
        Closest::SinglePoint(nearest) => Geodesic.distance(point, nearest),
        Closest::Indeterminate => f64::INFINITY,
    }
}

/// Classifies a fix from its distance to the fence and its accuracy radius.
pub(crate) fn presence(distance_m: f64, accuracy_m: f64, mock: bool) -> Presence {
    if distance_m <= 0.0 && !mock {
        return Presence::Inside;
    }
    if distance_m <= 0.0 || distance_m <= accuracy_m {
        return Presence::Uncertain;
    }
    Presence::Outside
}

/// Tells whether a fix has a valid position to judge.
pub(crate) fn is_usable(fix: &Fix) -> bool {
    is_valid_position(fix.lat, fix.lon)
}

/// Returns the accuracy radius when the platform gave a finite, non-negative one.
pub(crate) fn usable_accuracy_m(fix: &Fix) -> Option<f64> {
    fix.accuracy_m
        .filter(|accuracy| accuracy.is_finite() && *accuracy >= 0.0)
}
