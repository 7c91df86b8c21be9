//! GPX import: both schema versions, tolerance of unknown elements, route
//! import with coverage, and errors that name the line and element.

use redvest_core::gpx::{import_fixes, import_route, parse, GpxError, HDOP_TO_METRES};
use redvest_proto::track::{route_coverage, TrackPoint};

/// A GPX 1.1 file as a Garmin watch writes it: namespaced extensions,
/// elevation, metadata with its own time, and a waypoint.
const GARMIN_STYLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gpx creator="test" version="1.1" xmlns="http://www.topografix.com/GPX/1/1"
  xmlns:ns3="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">
  <metadata><time>2001-01-01T00:00:00Z</time></metadata>
  <wpt lat="1.0" lon="2.0"><time>2001-01-01T00:00:00Z</time></wpt>
  <trk>
    <name>walk</name>
    <trkseg>
      <trkpt lat="36.661" lon="117.021">
        <ele>104</ele>
        <time>2026-09-01T08:00:00Z</time>
        <hdop>1.2</hdop>
        <extensions><ns3:TrackPointExtension><ns3:hr>74</ns3:hr></ns3:TrackPointExtension></extensions>
      </trkpt>
      <trkpt lat="36.6611" lon="117.021"><time>2026-09-01T08:00:05.250Z</time></trkpt>
    </trkseg>
    <trkseg>
      <trkpt lat="36.662" lon="117.022"><time>2026-09-01T08:10:00+08:00</time><unknown>x</unknown></trkpt>
    </trkseg>
  </trk>
</gpx>
"#;

/// A GPX 1.0 file, whose trkpt may carry speed and course.
const GPX_1_0: &str = r#"<?xml version="1.0"?>
<gpx version="1.0" creator="test" xmlns="http://www.topografix.com/GPX/1/0">
  <trk><trkseg>
    <trkpt lat="31.24" lon="121.49"><time>2026-09-01T08:00:00Z</time><course>90.5</course><speed>1.4</speed></trkpt>
    <trkpt lat="31.2401" lon="121.49"><time>2026-09-01T08:00:01Z</time></trkpt>
  </trkseg></trk>
</gpx>
"#;

const ROUTE: &str = r#"<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <rte><name>school gate loop</name>
    <rtept lat="36.0" lon="118.0"/>
    <rtept lat="36.0" lon="118.02"><name>corner</name></rtept>
  </rte>
</gpx>
"#;

#[test]
fn garmin_style_segments_and_times() {
    let segments = import_fixes(GARMIN_STYLE).unwrap();

    assert_eq!(segments.len(), 2);
    assert_eq!(segments[0].len(), 2);
    assert_eq!(segments[1].len(), 1);
    assert_eq!(
        segments[0][1].at.to_rfc3339(),
        "2026-09-01T08:00:05.250+00:00"
    );
    assert_eq!(segments[1][0].at.to_rfc3339(), "2026-09-01T00:10:00+00:00");
}

#[test]
fn hdop_becomes_accuracy_estimate() {
    let segments = import_fixes(GARMIN_STYLE).unwrap();

    assert_eq!(segments[0][0].accuracy_m, Some(1.2 * HDOP_TO_METRES));
    assert_eq!(segments[0][1].accuracy_m, None);
}

#[test]
fn waypoints_and_metadata_ignored() {
    let document = parse(GARMIN_STYLE).unwrap();

    let points: usize = document.tracks.iter().flatten().map(Vec::len).sum();
    assert_eq!(points, 3);
    assert!(document.routes.is_empty());
}

#[test]
fn gpx_1_0_speed_and_course() {
    let segments = import_fixes(GPX_1_0).unwrap();

    assert_eq!(segments[0][0].speed_mps, Some(1.4));
    assert_eq!(segments[0][0].bearing_deg, Some(90.5));
    assert_eq!(segments[0][1].speed_mps, None);
}

#[test]
fn route_vertices_in_order() {
    let route = import_route(ROUTE).unwrap();

    assert_eq!(route, [(36.0, 118.0), (36.0, 118.02)]);
}

#[test]
fn track_file_imports_as_route() {
    let route = import_route(GARMIN_STYLE).unwrap();

    assert_eq!(route.len(), 3);
}

#[test]
fn route_coverage_of_half_walk() {
    let route = import_route(ROUTE).unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z")
        .unwrap()
        .to_utc();
    let walked: Vec<TrackPoint> = (0..=100)
        .map(|i| {
            TrackPoint::new(
                start + chrono::TimeDelta::seconds(i),
                36.0,
                118.0 + i as f64 * 1e-4,
            )
        })
        .collect();

    let coverage = route_coverage(&route, &[walked], 30.0);

    assert!(
        (coverage.route_m - 1803.3).abs() < 1.0,
        "route {}",
        coverage.route_m
    );
    assert!(
        (coverage.share() - 0.517).abs() < 0.005,
        "share {}",
        coverage.share()
    );
}

#[test]
fn route_without_times_is_not_a_track() {
    let error = import_fixes(ROUTE).unwrap_err();

    assert!(
        matches!(error, GpxError::MissingTime { line: 3, .. }),
        "{error}"
    );
}

/// Wraps one trkpt line in a minimal document; the trkpt sits on line 3.
fn with_point(trkpt: &str) -> String {
    format!("<?xml version=\"1.0\"?>\n<gpx version=\"1.1\"><trk><trkseg>\n{trkpt}\n</trkseg></trk></gpx>\n")
}

#[test]
fn bad_input_names_line_and_element() {
    let cases = [
        (
            "latitude not a number",
            with_point(r#"<trkpt lat="north" lon="117"><time>2026-09-01T08:00:00Z</time></trkpt>"#),
            "lat \"north\" of <trkpt> at line 3 is not a valid number in range",
        ),
        (
            "latitude beyond 90",
            with_point(r#"<trkpt lat="95" lon="117"><time>2026-09-01T08:00:00Z</time></trkpt>"#),
            "lat \"95\" of <trkpt> at line 3 is not a valid number in range",
        ),
        (
            "longitude missing",
            with_point(r#"<trkpt lat="36"><time>2026-09-01T08:00:00Z</time></trkpt>"#),
            "<trkpt> at line 3 has no lon attribute",
        ),
        (
            "time not rfc 3339",
            with_point(r#"<trkpt lat="36" lon="117"><time>yesterday</time></trkpt>"#),
            "<time> \"yesterday\" at line 3 is not an RFC 3339 time such as 2026-09-01T08:00:00Z",
        ),
        (
            "negative hdop",
            with_point(
                r#"<trkpt lat="36" lon="117"><time>2026-09-01T08:00:00Z</time><hdop>-1</hdop></trkpt>"#,
            ),
            "hdop \"-1\" of <trkpt> at line 3 is not a valid number in range",
        ),
        (
            "not a gpx root",
            "<?xml version=\"1.0\"?>\n<kml></kml>\n".to_owned(),
            "root element is <kml> at line 2, expected <gpx>; is this a GPX file?",
        ),
        (
            "no points at all",
            "<gpx version=\"1.1\"><trk><trkseg/></trk></gpx>".to_owned(),
            "the file has no trkpt or rtept elements; there is nothing to import",
        ),
    ];
    for (name, xml, expected) in cases {
        let error = import_fixes(&xml).unwrap_err();

        assert_eq!(error.to_string(), expected, "{name}");
    }
}

#[test]
fn broken_xml_names_line() {
    let xml = with_point(r#"<trkpt lat="36" lon="117"><time>2026-09-01T08:00:00Z</time></trkseg>"#);

    let error = import_fixes(&xml).unwrap_err();

    assert!(matches!(error, GpxError::Xml { line: 3, .. }), "{error}");
}
