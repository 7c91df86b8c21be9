//! Filters GPX tracks and compares the size of the compact track encoding
//! with GPX and JSON, raw and gzip'd, on those tracks and on a generated
//! phone walk.
//!
//! Usage: `cargo run -p redvest-core --release --example track_bytes -- FILE.gpx...`
//! Prints the filter verdict of each file and one Markdown table of sizes.

use std::io::Write;

use chrono::{DateTime, TimeDelta, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use redvest_core::gpx::{export_gpx, import_fixes};
use redvest_proto::geo::Fix;
use redvest_proto::records::PatrolMode;
use redvest_proto::track::{encode, filter, FilterParams, FilteredTrack, TrackPoint};

fn main() -> anyhow::Result<()> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let mut rows = Vec::new();
    for path in &paths {
        let xml = std::fs::read_to_string(path)?;
        let fixes: Vec<Fix> = import_fixes(&xml)?.into_iter().flatten().collect();
        let track = filter_from_first_fix(&fixes);
        print_verdict(path, fixes.len(), &track);
        rows.push(size_row(path, &track.segment_points()));
    }
    let walk = generated_walk(3600);
    let bare: Vec<TrackPoint> = walk.iter().map(without_speed_and_bearing).collect();
    rows.push(size_row(
        "generated 1 s walk, time/lat/lon/accuracy",
        &[bare],
    ));
    rows.push(size_row("same walk with speed and bearing", &[walk]));

    println!("| input | points | codec bytes | codec B/pt | codec gzip B/pt | GPX raw | GPX gzip | JSON raw | JSON gzip |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

/// Filters as a walking patrol that started at the earliest fix, because a
/// GPX file does not say when the patrol started.
fn filter_from_first_fix(fixes: &[Fix]) -> FilteredTrack {
    let started_at = fixes.iter().map(|fix| fix.at).min().unwrap_or_default();
    filter(
        fixes,
        started_at,
        PatrolMode::Walking,
        &FilterParams::default(),
    )
}

fn print_verdict(path: &str, input: usize, track: &FilteredTrack) {
    println!("{path}");
    println!(
        "  fixes {input}, kept {}, rejected {:?}",
        track.kept.len(),
        track.rejected_counts()
    );
    println!(
        "  segments {}, gaps {:?}",
        track.segments.len(),
        track.gaps.iter().map(|gap| gap.reason).collect::<Vec<_>>()
    );
    println!(
        "  distance {:.1} m, moving {:.0} s, duration {:.0} s, interval {} s",
        track.distance_m(),
        track.moving_s(),
        track.duration_s(),
        track.interval_s
    );
}

fn size_row(name: &str, segments: &[Vec<TrackPoint>]) -> String {
    let points: Vec<TrackPoint> = segments.iter().flatten().copied().collect();
    let count = points.len().max(1) as f64;
    let codec = encode(&points);
    let gpx = export_gpx(segments, "track").into_bytes();
    let json = serde_json::to_vec(&points).expect("track points always serialize");
    let per_point = |bytes: usize| format!("{:.2}", bytes as f64 / count);
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
        points.len(),
        codec.len(),
        per_point(codec.len()),
        per_point(gzip_len(&codec)),
        per_point(gpx.len()),
        per_point(gzip_len(&gpx)),
        per_point(json.len()),
        per_point(gzip_len(&json)),
    )
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .expect("writing to memory cannot fail");
    encoder
        .finish()
        .expect("writing to memory cannot fail")
        .len()
}

fn without_speed_and_bearing(point: &TrackPoint) -> TrackPoint {
    TrackPoint {
        speed_mps: None,
        bearing_deg: None,
        ..*point
    }
}

/// Generates a 1 s walk at about 1.4 m/s along a slow curve, as an Android
/// phone records it. Fix times are jittered by a few milliseconds, positions
/// carry correlated noise, accuracy is 4 m or 6.5 m in two-minute stretches,
/// and every fix has speed and bearing.
fn generated_walk(points: usize) -> Vec<TrackPoint> {
    let start: DateTime<Utc> = DateTime::from_timestamp(1_788_000_000, 0).expect("valid instant");
    let (mut lat, mut lon) = (36.661_012_3, 117.021_045_6);
    let mut noise = GpsNoise {
        state: 7,
        error_m: (0.0, 0.0),
    };
    (0..points)
        .map(|i| {
            let heading = i as f64 / 60.0;
            lat += 1.1e-5 * heading.cos();
            lon += 1.1e-5 * heading.sin();
            let (noise_lat, noise_lon) = noise.next_offset_deg();
            let jitter = ((i * 37) % 11) as i64 - 5;
            let at = start + TimeDelta::milliseconds(i as i64 * 1000 + jitter);
            TrackPoint {
                at,
                lat: lat + noise_lat,
                lon: lon + noise_lon,
                accuracy_m: Some(if (i / 120) % 2 == 0 { 4.0 } else { 6.5 }),
                speed_mps: Some(1.4 + 0.1 * (i as f64 / 7.0).sin()),
                bearing_deg: Some(heading.to_degrees().rem_euclid(360.0)),
            }
        })
        .collect()
}

/// Correlated position error like a phone's GPS: each step keeps 90% of the
/// last error and adds up to ±0.5 m, from a fixed-seed xorshift.
struct GpsNoise {
    state: u64,
    error_m: (f64, f64),
}

impl GpsNoise {
    fn uniform(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    fn next_offset_deg(&mut self) -> (f64, f64) {
        self.error_m.0 = 0.9 * self.error_m.0 + 0.5 * self.uniform();
        self.error_m.1 = 0.9 * self.error_m.1 + 0.5 * self.uniform();
        (self.error_m.0 / 111_195.0, self.error_m.1 / 89_200.0)
    }
}
