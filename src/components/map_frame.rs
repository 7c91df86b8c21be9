//! The flat frame the fence and track drawings share: an equirectangular
//! projection of WGS-84 positions into an SVG view box, fitted around the
//! positions to draw. It draws no basemap, so no GCJ-02 conversion is needed.
//! A drawing over a GCJ-02 basemap would convert with `redvest_proto::gcj02`
//! here, at display time only.

/// Metres per degree of latitude on a sphere of the mean Earth radius.
const METRES_PER_DEGREE_LAT: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// Width and height of the square view box, in SVG user units.
pub const VIEW_SIZE: f64 = 300.0;

/// Space kept free at each edge of the view box, in SVG user units.
const MARGIN: f64 = 16.0;

/// A projection from (lat, lon) to view-box coordinates, north up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapFrame {
    centre_lat: f64,
    centre_lon: f64,
    metres_per_degree_lon: f64,
    /// View-box units per metre.
    scale: f64,
}

impl MapFrame {
    /// Fits a frame around circles given as (lat, lon, radius in metres);
    /// a point is a circle of radius 0. Returns `None` without circles.
    pub fn fit(circles: &[(f64, f64, f64)]) -> Option<Self> {
        let (first_lat, first_lon, _) = *circles.first()?;
        let metres_per_degree_lon = METRES_PER_DEGREE_LAT * first_lat.to_radians().cos();
        let origin = Self {
            centre_lat: first_lat,
            centre_lon: first_lon,
            metres_per_degree_lon,
            scale: 1.0,
        };

        let (mut west, mut east, mut south, mut north) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(lat, lon, radius) in circles {
            let (x, y) = origin.metres(lat, lon);
            west = west.min(x - radius);
            east = east.max(x + radius);
            south = south.min(y - radius);
            north = north.max(y + radius);
        }
        // A lone point still gets a 50 m wide view, so it is not drawn at infinite zoom.
        let span = (east - west).max(north - south).max(50.0);
        let centre_lat = first_lat + (south + north) / 2.0 / METRES_PER_DEGREE_LAT;
        let centre_lon = first_lon + (west + east) / 2.0 / metres_per_degree_lon;

        Some(Self {
            centre_lat,
            centre_lon,
            metres_per_degree_lon,
            scale: (VIEW_SIZE - 2.0 * MARGIN) / span,
        })
    }

    /// Returns metres east and north of the frame's centre.
    fn metres(&self, lat: f64, lon: f64) -> (f64, f64) {
        (
            (lon - self.centre_lon) * self.metres_per_degree_lon,
            (lat - self.centre_lat) * METRES_PER_DEGREE_LAT,
        )
    }

    /// Projects a position into view-box coordinates (y grows southwards).
    pub fn project(&self, lat: f64, lon: f64) -> (f64, f64) {
        let (east, north) = self.metres(lat, lon);
        (
            VIEW_SIZE / 2.0 + east * self.scale,
            VIEW_SIZE / 2.0 - north * self.scale,
        )
    }

    /// Converts a length in metres into view-box units.
    pub fn length(&self, metres: f64) -> f64 {
        metres * self.scale
    }

    /// Formats positions as the `points` attribute of a polyline or polygon.
    pub fn points_attribute(&self, positions: impl IntoIterator<Item = (f64, f64)>) -> String {
        positions
            .into_iter()
            .map(|(lat, lon)| {
                let (x, y) = self.project(lat, lon);
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_circle_stays_inside_view() {
        let frame = MapFrame::fit(&[(36.64, 117.97, 100.0)]).unwrap();

        let (x, y) = frame.project(36.64, 117.97);
        let radius = frame.length(100.0);

        assert!((x - VIEW_SIZE / 2.0).abs() < 0.01, "x {x}");
        assert!((y - VIEW_SIZE / 2.0).abs() < 0.01, "y {y}");
        assert!(radius <= VIEW_SIZE / 2.0, "radius {radius}");
    }

    #[test]
    fn north_is_up() {
        let frame = MapFrame::fit(&[(36.64, 117.97, 0.0), (36.641, 117.97, 0.0)]).unwrap();

        let (_, south_y) = frame.project(36.64, 117.97);
        let (_, north_y) = frame.project(36.641, 117.97);

        assert!(north_y < south_y);
    }

    #[test]
    fn empty_input_has_no_frame() {
        assert_eq!(MapFrame::fit(&[]), None);
    }
}
