//! Positions as the phone reports them (WGS-84 only) and the geodesic
//! helpers the rest of the domain measures with.

use chrono::{DateTime, Utc};
use geo::{Distance, Geodesic, Point};
use serde::{Deserialize, Serialize};

/// One location fix in WGS-84, as the platform delivered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy (68% radius) in metres, when the platform gives it.
    pub accuracy_m: Option<f64>,
    /// When the fix was taken, by the location provider's clock.
    pub at: DateTime<Utc>,
    pub speed_mps: Option<f64>,
    pub bearing_deg: Option<f64>,
    /// The provider name ("gps", "network", "fused", "replay", "typed").
    pub provider: String,
    /// Set when the platform marks the fix as coming from a mock provider.
    #[serde(default)]
    pub mock: bool,
}

impl Fix {
    /// Builds a plain fix with no speed, bearing or mock flag.
    pub fn new(
        lat: f64,
        lon: f64,
        accuracy_m: Option<f64>,
        at: DateTime<Utc>,
        provider: &str,
    ) -> Self {
        Self {
            lat,
            lon,
            accuracy_m,
            at,
            speed_mps: None,
            bearing_deg: None,
            provider: provider.to_owned(),
            mock: false,
        }
    }

    pub fn point(&self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }
}

/// Returns the geodesic distance in metres between two WGS-84 positions.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat_a, lon_a) = a;
    let (lat_b, lon_b) = b;
    Geodesic.distance(Point::new(lon_a, lat_a), Point::new(lon_b, lat_b))
}

/// Tells whether a latitude and longitude are finite and in range.
pub fn is_valid_position(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_one_degree_of_latitude() {
        let d = distance_m((36.0, 118.0), (37.0, 118.0));

        assert!((d - 110_950.0).abs() < 200.0, "got {d}");
    }

    #[test]
    fn position_range_check() {
        assert!(is_valid_position(36.64, 117.97));
        assert!(!is_valid_position(91.0, 0.0));
        assert!(!is_valid_position(f64::NAN, 0.0));
    }
}
