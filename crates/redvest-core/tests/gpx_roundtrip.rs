//! Export of a filtered track as GPX 1.1 and GeoJSON, and GPX re-import to
//! the same points.

use chrono::{DateTime, TimeDelta, Utc};
use redvest_core::gpx::{export_geojson, export_gpx, import_fixes};
use redvest_proto::geo::Fix;
use redvest_proto::records::PatrolMode;
use redvest_proto::track::{filter, FilterParams, FilteredTrack, TrackPoint};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z")
        .unwrap()
        .to_utc()
}

/// Generates a 1 s walk north-east from Jinan with a 10-minute silence in
/// the middle and jittered, sub-second fix times.
fn walk_with_silence() -> FilteredTrack {
    let fixes: Vec<Fix> = (0..1200)
        .filter(|i| !(400..1000).contains(i))
        .map(|i| {
            let at = start() + TimeDelta::milliseconds(i * 1000 + (i * 37) % 200);
            let accuracy = 3.0 + (i % 7) as f64 * 0.7;
            Fix::new(
                36.661 + i as f64 * 8e-6,
                117.021 + i as f64 * 9e-6,
                Some(accuracy),
                at,
                "gps",
            )
        })
        .collect();
    filter(
        &fixes,
        start(),
        PatrolMode::Walking,
        &FilterParams::default(),
    )
}

fn as_points(segments: &[Vec<Fix>]) -> Vec<Vec<TrackPoint>> {
    segments
        .iter()
        .map(|s| s.iter().map(TrackPoint::from).collect())
        .collect()
}

#[test]
fn gpx_export_reimports_same_points() {
    let segments = walk_with_silence().segment_points();

    let reimported = as_points(&import_fixes(&export_gpx(&segments, "patrol")).unwrap());

    assert_eq!(reimported.len(), segments.len());
    for (segment, (original, back)) in segments.iter().zip(&reimported).enumerate() {
        assert_eq!(back.len(), original.len(), "segment {segment} length");
        for (a, b) in original.iter().zip(back) {
            assert_eq!((b.lat, b.lon), (a.lat, a.lon), "position at {}", a.at);
            assert_eq!(b.at, a.at, "time");
            let accuracy_error = (b.accuracy_m.unwrap() - a.accuracy_m.unwrap()).abs();
            assert!(accuracy_error < 1e-9, "accuracy at {}", a.at);
        }
    }
}

#[test]
fn gpx_export_keeps_gap_as_two_segments() {
    let track = walk_with_silence();

    let gpx = export_gpx(&track.segment_points(), "patrol");

    assert!(track.is_incomplete());
    assert_eq!(gpx.matches("<trkseg>").count(), 2);
}

#[test]
fn gpx_export_escapes_name() {
    let gpx = export_gpx(&[], "东门 <巡逻> & 复核");

    assert!(
        gpx.contains("<name>东门 &lt;巡逻&gt; &amp; 复核</name>"),
        "{gpx}"
    );
}

#[test]
fn geojson_is_multilinestring_lon_lat() {
    let segments = walk_with_silence().segment_points();

    let feature = export_geojson(&segments);

    assert_eq!(feature["type"], "Feature");
    assert_eq!(feature["geometry"]["type"], "MultiLineString");
    let lines = feature["geometry"]["coordinates"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0][0][0].as_f64(), Some(segments[0][0].lon));
    assert_eq!(lines[0][0][1].as_f64(), Some(segments[0][0].lat));
    assert_eq!(lines[1].as_array().unwrap().len(), segments[1].len());
}

#[test]
fn geojson_times_match_positions() {
    let segments = walk_with_silence().segment_points();

    let feature = export_geojson(&segments);

    let times = feature["properties"]["coordTimes"].as_array().unwrap();
    assert_eq!(times[0].as_array().unwrap().len(), segments[0].len());
    assert_eq!(
        times[0][1].as_str().unwrap(),
        segments[0][1]
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
}

#[test]
fn geojson_skips_one_point_segment() {
    let point = TrackPoint::new(start(), 36.0, 117.0);

    let feature = export_geojson(&[vec![point]]);

    assert_eq!(
        feature["geometry"]["coordinates"].as_array().unwrap().len(),
        0
    );
}
