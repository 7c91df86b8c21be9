//! Checks of a site that brigade staff create or replace, on top of the
//! shared [`validate_site`] (time zone, weekdays, window order, calendar).
//! A site that passes is returned in the form the server stores: name
//! trimmed and polygon ring closed.

use geo::{LineString, Polygon, Validation};
use redvest_proto::duty::validate_site;
use redvest_proto::geo::is_valid_position;
use redvest_proto::wire::{Fence, Site};

/// Longest site name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Smallest and largest circle fence radius, in metres.
pub const RADIUS_RANGE_M: std::ops::RangeInclusive<f64> = 10.0..=2000.0;
/// Longest grace before or after a window, in minutes.
pub const MAX_GRACE_MIN: u32 = 120;

/// Checks a site and returns it normalised, or the reason it is invalid.
pub fn checked_site(site: &Site) -> Result<Site, String> {
    let mut site = site.clone();
    site.name = site.name.trim().to_owned();
    check_name(&site.name)?;
    check_grace(&site)?;
    site.fence = checked_fence(&site.fence)?;
    validate_site(&site).map_err(|error| error.to_string())?;
    Ok(site)
}

fn check_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 {
        return Err("site name is empty; give the site a name".to_owned());
    }
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "site name has {chars} characters; shorten it to at most {MAX_NAME_CHARS}"
        ));
    }
    Ok(())
}

fn check_grace(site: &Site) -> Result<(), String> {
    let graces = [
        ("grace_before_min", site.grace_before_min),
        ("grace_after_min", site.grace_after_min),
    ];
    match graces.iter().find(|(_, minutes)| *minutes > MAX_GRACE_MIN) {
        Some((name, minutes)) => Err(format!(
            "{name} is {minutes}; use at most {MAX_GRACE_MIN} minutes"
        )),
        None => Ok(()),
    }
}

fn checked_fence(fence: &Fence) -> Result<Fence, String> {
    match fence {
        Fence::Circle { lat, lon, radius_m } => {
            check_position(*lat, *lon)?;
            if !RADIUS_RANGE_M.contains(radius_m) {
                return Err(format!(
                    "fence radius {radius_m} m is out of range; use {} to {} m",
                    RADIUS_RANGE_M.start(),
                    RADIUS_RANGE_M.end()
                ));
            }
            Ok(fence.clone())
        }
        Fence::Polygon { ring } => Ok(Fence::Polygon {
            ring: checked_ring(ring)?,
        }),
    }
}

fn check_position(lat: f64, lon: f64) -> Result<(), String> {
    if is_valid_position(lat, lon) {
        return Ok(());
    }
    Err(format!(
        "fence position ({lat}, {lon}) is not a WGS-84 latitude and longitude"
    ))
}

/// Checks a ring of (lat, lon) vertices and closes it when its last vertex
/// is not its first.
fn checked_ring(ring: &[(f64, f64)]) -> Result<Vec<(f64, f64)>, String> {
    for &(lat, lon) in ring {
        check_position(lat, lon)?;
    }
    let mut distinct: Vec<(f64, f64)> = Vec::new();
    for vertex in ring {
        if !distinct.contains(vertex) {
            distinct.push(*vertex);
        }
    }
    if distinct.len() < 3 {
        return Err(format!(
            "fence polygon has {} distinct vertices; it needs at least 3",
            distinct.len()
        ));
    }

    let mut closed = ring.to_vec();
    if closed.first() != closed.last() {
        closed.push(ring[0]);
    }
    let exterior: LineString<f64> = closed.iter().map(|&(lat, lon)| (lon, lat)).collect();
    let polygon = Polygon::new(exterior, Vec::new());
    if let Some(problem) = polygon.validation_errors().first() {
        return Err(format!(
            "fence polygon is not a simple ring ({problem}); list the vertices in order around \
                the area"
        ));
    }
    Ok(closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_ring_is_closed() {
        let ring = [(36.0, 118.0), (36.0, 118.001), (36.001, 118.001)];

        let closed = checked_ring(&ring).unwrap();

        assert_eq!(closed.len(), 4);
        assert_eq!(closed.first(), closed.last());
    }

    #[test]
    fn crossing_ring_is_rejected() {
        let bow_tie = [
            (36.0, 118.0),
            (36.001, 118.001),
            (36.0, 118.001),
            (36.001, 118.0),
        ];

        assert!(checked_ring(&bow_tie).is_err());
    }
}
