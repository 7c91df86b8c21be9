//! Conversion between WGS-84 (what GPS reports and what Redvest stores) and
//! GCJ-02, the obfuscated datum that AMap and Tencent basemaps draw in.
//!
//! The forward formula is the widely circulated one (as in the eviltransform
//! and coordtransform projects), on the Krasovsky 1940 ellipsoid. GCJ-02 has
//! no closed-form inverse, so [`gcj02_to_wgs84`] iterates the forward formula
//! until it lands within 1e-9 degree. Points outside China's bounding box are
//! returned unchanged by both directions.

/// Semi-major axis in metres of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_A: f64 = 6_378_245.0;

/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;

/// Stop the inverse iteration once the forward image is this close, in degrees
/// (about 0.1 mm).
const INVERSE_TOLERANCE_DEG: f64 = 1e-9;

const INVERSE_MAX_ITERATIONS: usize = 30;

/// Tells whether a point lies outside the rectangle where GCJ-02 applies.
///
/// NOTE: this is the usual bounding box (72.004–137.8347 E, 0.8293–55.8271
/// N), which also covers parts of neighbouring countries; a border polygon
/// would be exact.
pub fn is_outside_china(lat: f64, lon: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

/// Converts a WGS-84 `(lat, lon)` to GCJ-02 for drawing on AMap or Tencent.
pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if is_outside_china(lat, lon) {
        return (lat, lon);
    }
    let (dlat, dlon) = offset(lat, lon);
    (lat + dlat, lon + dlon)
}

/// Converts a GCJ-02 `(lat, lon)` (a point picked on AMap or Tencent) back
/// to WGS-84, within 1e-9 degree of the exact inverse.
pub fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if is_outside_china(lat, lon) {
        return (lat, lon);
    }
    let (mut wgs_lat, mut wgs_lon) = (lat, lon);
    for _ in 0..INVERSE_MAX_ITERATIONS {
        let (image_lat, image_lon) = wgs84_to_gcj02(wgs_lat, wgs_lon);
        let (error_lat, error_lon) = (image_lat - lat, image_lon - lon);
        if error_lat.abs() < INVERSE_TOLERANCE_DEG && error_lon.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
        wgs_lat -= error_lat;
        wgs_lon -= error_lon;
    }
    (wgs_lat, wgs_lon)
}

/// Returns the GCJ-02 shift in degrees `(dlat, dlon)` at a WGS-84 point.
fn offset(lat: f64, lon: f64) -> (f64, f64) {
    use std::f64::consts::PI;

    let (x, y) = (lon - 105.0, lat - 35.0);
    let rad_lat = lat.to_radians();
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();

    let dlat = shift_lat(x, y) * 180.0
        / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = shift_lon(x, y) * 180.0 / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (dlat, dlon)
}

fn shift_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;

    let mut shift = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    shift += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    shift += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    shift += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    shift
}

fn shift_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;

    let mut shift = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    shift += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    shift += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    shift += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    shift
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::distance_m;

    /// (name, WGS-84 lat, lon) of points across China.
    const CHINA: [(&str, f64, f64); 6] = [
        ("Beijing Tiananmen", 39.9087, 116.3975),
        ("Shanghai Bund", 31.2400, 121.4900),
        ("Jinan Quancheng Square", 36.6610, 117.0210),
        ("Urumqi", 43.8256, 87.6168),
        ("Haikou", 20.0440, 110.1999),
        ("Harbin", 45.8038, 126.5350),
    ];

    #[test]
    fn round_trip_in_china_within_one_metre() {
        for (name, lat, lon) in CHINA {
            let (gcj_lat, gcj_lon) = wgs84_to_gcj02(lat, lon);
            let back = gcj02_to_wgs84(gcj_lat, gcj_lon);

            let error = distance_m((lat, lon), back);
            assert!(error < 1.0, "{name}: round trip off by {error} m");
        }
    }

    #[test]
    fn forward_shift_in_china_is_hundreds_of_metres() {
        for (name, lat, lon) in CHINA {
            let shift = distance_m((lat, lon), wgs84_to_gcj02(lat, lon));

            assert!((50.0..1000.0).contains(&shift), "{name}: shift {shift} m");
        }
    }

    #[test]
    fn known_beijing_offset() {
        // The shift at Tiananmen is about 0.0013 degree north and 0.0062 east
        // in every published implementation of the formula.
        let (lat, lon) = wgs84_to_gcj02(39.9087, 116.3975);

        assert!((lat - 39.9087 - 0.00128).abs() < 0.0002, "lat {lat}");
        assert!((lon - 116.3975 - 0.00624).abs() < 0.0002, "lon {lon}");
    }

    #[test]
    fn points_outside_china_unchanged() {
        let outside = [
            ("London", 51.5074, -0.1278),
            ("San Jose", 37.2417, -121.9723),
            ("Sydney", -33.8688, 151.2093),
            ("Null Island", 0.0, 0.0),
        ];
        for (name, lat, lon) in outside {
            assert_eq!(wgs84_to_gcj02(lat, lon), (lat, lon), "{name} forward");
            assert_eq!(gcj02_to_wgs84(lat, lon), (lat, lon), "{name} inverse");
        }
    }
}
