//! Codec round trips (property tests over generated points), size on a
//! generated walk, and rejection of damaged input.

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use crate::track::codec::{chunks, decode, encode, quantize, DecodeError, DEFAULT_CHUNK_POINTS};
use crate::track::TrackPoint;

fn at_millis(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap()
}

/// Generates a 1 s walk like a phone records it: jittered timestamps,
/// correlated position noise, a steady accuracy that changes now and then,
/// and moves under 2 m a second.
fn phone_walk(points: usize, with_speed_and_bearing: bool) -> Vec<TrackPoint> {
    let mut lat = 36.661_012_3;
    let mut lon = 117.021_045_6;
    let mut noise = GpsNoise::new(7);
    (0..points)
        .map(|i| {
            let step = i as f64;
            lat += 1.1e-5 * (step / 60.0).cos();
            lon += 1.1e-5 * (step / 60.0).sin();
            let (noise_lat, noise_lon) = noise.next_offset_deg();
            let jitter = ((i * 37) % 11) as i64 - 5;
            let mut point = TrackPoint::new(
                at_millis(1_788_000_000_000 + i as i64 * 1000 + jitter),
                lat + noise_lat,
                lon + noise_lon,
            );
            point.accuracy_m = Some(if (i / 120) % 2 == 0 { 4.0 } else { 6.5 });
            if with_speed_and_bearing {
                point.speed_mps = Some(1.2 + 0.1 * (step / 7.0).sin());
                point.bearing_deg = Some((step / 60.0).to_degrees().rem_euclid(360.0));
            }
            point
        })
        .collect()
}

/// Correlated position error like a phone's GPS: each step keeps 90% of
/// the last error and adds up to ±0.5 m, from a fixed-seed xorshift.
struct GpsNoise {
    state: u64,
    error_m: (f64, f64),
}

impl GpsNoise {
    fn new(seed: u64) -> Self {
        Self {
            state: seed.max(1),
            error_m: (0.0, 0.0),
        }
    }

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

fn optional(range: std::ops::Range<f64>) -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        range.prop_map(Some),
        Just(Some(f64::NAN)),
        Just(Some(-1.0))
    ]
}

fn any_point() -> impl Strategy<Value = TrackPoint> {
    (
        -2_000_000_000_000i64..5_000_000_000_000,
        -90.0..=90.0f64,
        -180.0..=180.0f64,
        optional(0.0..5_000.0),
        optional(0.0..100.0),
        optional(-720.0..720.0),
    )
        .prop_map(
            |(millis, lat, lon, accuracy_m, speed_mps, bearing_deg)| TrackPoint {
                at: at_millis(millis),
                lat,
                lon,
                accuracy_m,
                speed_mps,
                bearing_deg,
            },
        )
}

proptest! {
    #[test]
    fn round_trip_equals_quantized(points in prop::collection::vec(any_point(), 0..200)) {
        let decoded = decode(&encode(&points)).unwrap();

        let expected: Vec<TrackPoint> = points.iter().map(quantize).collect();
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn decoded_points_encode_to_same_bytes(points in prop::collection::vec(any_point(), 0..200)) {
        let bytes = encode(&points);

        prop_assert_eq!(encode(&decode(&bytes).unwrap()), bytes);
    }

    #[test]
    fn quantizing_twice_changes_nothing(point in any_point()) {
        prop_assert_eq!(quantize(&quantize(&point)), quantize(&point));
    }

    #[test]
    fn quantized_position_within_precision(point in any_point()) {
        let quantized = quantize(&point);

        prop_assert!((quantized.lat - point.lat).abs() <= 0.5e-6 + 1e-12);
        prop_assert!((quantized.lon - point.lon).abs() <= 0.5e-6 + 1e-12);
        prop_assert!((quantized.at - point.at).num_milliseconds().abs() <= 1);
    }

    #[test]
    fn every_prefix_is_rejected(points in prop::collection::vec(any_point(), 1..50)) {
        let bytes = encode(&points);

        for end in 0..bytes.len() {
            prop_assert!(decode(&bytes[..end]).is_err(), "prefix of {} bytes decoded", end);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn flipped_byte_never_panics(
        points in prop::collection::vec(any_point(), 1..50),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut bytes = encode(&points);
        let i = index.index(bytes.len());
        bytes[i] ^= flip;

        let _ = decode(&bytes);
    }
}

#[test]
fn walk_fits_four_bytes_per_point() {
    let points = phone_walk(3600, false);

    let bytes_per_point = encode(&points).len() as f64 / points.len() as f64;

    assert!(bytes_per_point <= 4.0, "{bytes_per_point} bytes per point");
}

#[test]
fn walk_with_speed_and_bearing_round_trips() {
    let points = phone_walk(600, true);

    let decoded = decode(&encode(&points)).unwrap();

    assert_eq!(decoded, points.iter().map(quantize).collect::<Vec<_>>());
}

#[test]
fn chunks_decode_on_their_own() {
    let points = phone_walk(700, true);

    let encoded = chunks(&points, DEFAULT_CHUNK_POINTS);

    let sizes: Vec<usize> = encoded
        .iter()
        .map(|chunk| decode(chunk).unwrap().len())
        .collect();
    assert_eq!(sizes, [300, 300, 100]);
    let joined: Vec<TrackPoint> = encoded
        .iter()
        .flat_map(|chunk| decode(chunk).unwrap())
        .collect();
    assert_eq!(joined, points.iter().map(quantize).collect::<Vec<_>>());
}

#[test]
fn chunks_of_zero_points_means_one() {
    assert_eq!(chunks(&phone_walk(3, false), 0).len(), 3);
}

#[test]
fn damaged_input_errors() {
    let valid = encode(&phone_walk(4, false));
    let mut trailing = valid.clone();
    trailing.push(0);
    let mut bad_presence = encode(&[TrackPoint::new(at_millis(0), 0.0, 0.0)]);
    let presence_at = bad_presence.len() - 3;
    bad_presence[presence_at] = 7;
    // Version, count 1, time 0, lat 91e6 (zigzag 182e6), lon 0, three empty presences.
    let mut lat_too_big = vec![1, 1, 0];
    lat_too_big.extend([0x80, 0xd8, 0xe4, 0x56]);
    lat_too_big.extend([0, 0, 0, 0]);
    let cases: [(&str, Vec<u8>, DecodeError); 5] = [
        ("empty", vec![], DecodeError::Empty),
        (
            "future version",
            vec![2, 0],
            DecodeError::UnsupportedVersion(2),
        ),
        (
            "count beyond input",
            vec![1, 100, 0, 0, 0],
            DecodeError::CountTooLarge {
                count: 100,
                needed: 300,
                available: 3,
            },
        ),
        (
            "trailing byte",
            trailing,
            DecodeError::TrailingBytes { count: 1 },
        ),
        (
            "presence byte 7",
            bad_presence,
            DecodeError::InvalidPresence {
                column: "accuracy",
                value: 7,
            },
        ),
    ];
    for (name, bytes, expected) in cases {
        assert_eq!(decode(&bytes), Err(expected), "{name}");
    }
    assert!(
        matches!(
            decode(&lat_too_big),
            Err(DecodeError::OutOfRange { column: "lat", .. })
        ),
        "lat beyond 90 degrees: {:?}",
        decode(&lat_too_big)
    );
}

#[test]
fn empty_track_is_two_bytes() {
    assert_eq!(encode(&[]), [1, 0]);
    assert_eq!(decode(&[1, 0]), Ok(vec![]));
}
