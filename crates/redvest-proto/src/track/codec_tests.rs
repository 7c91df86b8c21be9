//! Codec round trips (property tests over generated points), the choice of
//! time unit and predictors, size on a generated walk, decoding of stored
//! version 1 chunks, and rejection of damaged input.

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use crate::track::codec::{
    chunks, decode, encode, quantize, DecodeError, DEFAULT_CHUNK_POINTS, VERSION,
};
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

/// Generates a walk logged in whole seconds at uneven spacing (0 to 12 s,
/// sometimes backwards), moving in small random steps: the case the
/// seconds unit and the scaled-step predictor are for.
fn whole_second_walk() -> impl Strategy<Value = Vec<TrackPoint>> {
    let step = (-2i64..=12, -300i64..=300, -300i64..=300);
    (
        -2_000_000_000i64..5_000_000_000,
        prop::collection::vec(step, 0..200),
    )
        .prop_map(|(start_s, steps)| {
            let (mut seconds, mut lat, mut lon) = (start_s, 36_661_012i64, 117_021_045i64);
            steps
                .into_iter()
                .map(|(spacing_s, lat_step, lon_step)| {
                    seconds += spacing_s;
                    lat += lat_step;
                    lon += lon_step;
                    TrackPoint::new(
                        DateTime::from_timestamp(seconds, 0).unwrap(),
                        lat as f64 / 1e6,
                        lon as f64 / 1e6,
                    )
                })
                .collect()
        })
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
    fn whole_second_walk_round_trips(points in whole_second_walk()) {
        let bytes = encode(&points);
        let decoded = decode(&bytes).unwrap();

        let expected: Vec<TrackPoint> = points.iter().map(quantize).collect();
        prop_assert_eq!(&decoded, &expected);
        prop_assert_eq!(encode(&decoded), bytes);
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
    fn arbitrary_flags_never_panic(
        flags in any::<u8>(),
        tail in prop::collection::vec(any::<u8>(), 0..100),
    ) {
        let mut bytes = vec![VERSION, 3, flags];
        bytes.extend(tail);

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

/// Generates a walk like a Garmin watch logs it: whole seconds at a
/// spacing of 1 to 12 s, about 1.4 m/s along a slow curve, correlated
/// noise, and no accuracy, speed or bearing.
fn uneven_whole_second_walk(points: usize) -> Vec<TrackPoint> {
    let (mut lat, mut lon) = (37.241_738, -121.972_324);
    let mut seconds = 1_501_339_595i64;
    let mut noise = GpsNoise::new(11);
    (0..points)
        .map(|i| {
            let spacing_s = ((i * 7) % 12) as i64 + 1;
            seconds += spacing_s;
            let heading = seconds as f64 / 600.0;
            lat += 1.26e-5 * spacing_s as f64 * heading.cos();
            lon += 1.57e-5 * spacing_s as f64 * heading.sin();
            let (noise_lat, noise_lon) = noise.next_offset_deg();
            TrackPoint::new(
                DateTime::from_timestamp(seconds, 0).unwrap(),
                lat + noise_lat,
                lon + noise_lon,
            )
        })
        .collect()
}

#[test]
fn uneven_walk_fits_four_bytes() {
    let points = uneven_whole_second_walk(1000);

    let bytes_per_point = encode(&points).len() as f64 / points.len() as f64;

    assert!(bytes_per_point <= 4.0, "{bytes_per_point} bytes per point");
}

/// Whole seconds, then the time, lat and lon predictor.
type Layout = (bool, u8, u8, u8);

/// Returns the flags byte of an encoding of fewer than 128 points, split
/// into (whole seconds, time, lat and lon predictor).
fn layout_of(points: &[TrackPoint]) -> Layout {
    assert!((1..128).contains(&points.len()), "count must fit one byte");
    let flags = encode(points)[2];
    (
        flags & 1 != 0,
        (flags >> 1) & 3,
        (flags >> 3) & 3,
        (flags >> 5) & 3,
    )
}

/// Generates points that stand still at 1 s spacing with uncorrelated
/// position noise of up to 30e-6 degree, where plain deltas beat steps.
fn jittery_pause(points: usize) -> Vec<TrackPoint> {
    let mut noise = GpsNoise::new(5);
    (0..points)
        .map(|i| {
            let lat = 36_661_012 + (noise.uniform() * 30.0).round() as i64;
            let lon = 117_021_045 + (noise.uniform() * 30.0).round() as i64;
            TrackPoint::new(
                DateTime::from_timestamp(1_788_000_000 + i as i64, 0).unwrap(),
                lat as f64 / 1e6,
                lon as f64 / 1e6,
            )
        })
        .collect()
}

/// Generates a straight ride at a steady 1003 ms spacing and about 13 m/s,
/// so each spacing and step needs two bytes and its change one.
fn steady_millisecond_ride(points: usize) -> Vec<TrackPoint> {
    (0..points)
        .map(|i| {
            let i = i as i64;
            TrackPoint::new(
                at_millis(1_788_000_000_000 + i * 1003),
                (36_661_012 + i * 113) as f64 / 1e6,
                (117_021_045 - i * 97) as f64 / 1e6,
            )
        })
        .collect()
}

#[test]
fn encoder_picks_cheapest_layout() {
    // Predictor 0 is the previous value, 1 the previous step, 2 the time-scaled step.
    // On a tie the lower number wins.
    let cases: [(&str, Vec<TrackPoint>, Layout); 3] = [
        (
            "steady ms ride",
            steady_millisecond_ride(100),
            (false, 1, 1, 1),
        ),
        (
            "uneven s walk",
            uneven_whole_second_walk(100),
            (true, 0, 2, 2),
        ),
        ("jittery pause", jittery_pause(100), (true, 0, 0, 0)),
    ];
    for (name, points, (seconds, time, lat, lon)) in cases {
        let layout = layout_of(&points);
        assert_eq!(layout.0, seconds, "{name}: whole seconds");
        assert_eq!(layout.1, time, "{name}: time predictor");
        assert_eq!(layout.2, lat, "{name}: lat predictor");
        assert_eq!(layout.3, lon, "{name}: lon predictor");
    }
}

#[test]
fn one_millisecond_keeps_millisecond_unit() {
    let mut points = uneven_whole_second_walk(20);
    points[7].at += chrono::TimeDelta::milliseconds(1);

    let decoded = decode(&encode(&points)).unwrap();

    assert!(!layout_of(&points).0, "whole seconds flag set");
    assert_eq!(decoded, points.iter().map(quantize).collect::<Vec<_>>());
}

/// A chunk written by the version 1 encoder: six points of a 1 s phone
/// walk with the speed of point 2 and the bearing of point 4 missing and
/// the accuracy of point 5 at 12.3 m.
const VERSION_1_CHUNK: [u8; 52] = [
    1, 6, 246, 223, 214, 209, 137, 104, 216, 15, 0, 21, 22, 0, 182, 156, 251, 34, 28, 7, 0, 8, 2,
    234, 229, 204, 111, 0, 6, 1, 7, 12, 1, 80, 4, 166, 1, 0, 2, 59, 24, 0, 0, 2, 0, 2, 47, 0, 2, 2,
    2, 4,
];

#[test]
fn version_1_chunk_still_decodes() {
    let point = |millis, lat, lon, accuracy_m, speed_mps, bearing_deg| TrackPoint {
        at: at_millis(millis),
        lat,
        lon,
        accuracy_m: Some(accuracy_m),
        speed_mps,
        bearing_deg,
    };
    let expected = vec![
        point(
            1_787_999_999_995,
            36.661019,
            117.021045,
            4.0,
            Some(1.2),
            Some(0.0),
        ),
        point(
            1_788_000_000_999,
            36.661033,
            117.021045,
            4.0,
            Some(1.2),
            Some(1.0),
        ),
        point(
            1_788_000_002_003,
            36.661043,
            117.021048,
            4.0,
            None,
            Some(2.0),
        ),
        point(
            1_788_000_002_996,
            36.661053,
            117.02105,
            4.0,
            Some(1.2),
            Some(3.0),
        ),
        point(
            1_788_000_004_000,
            36.661067,
            117.021048,
            4.0,
            Some(1.3),
            None,
        ),
        point(
            1_788_000_005_004,
            36.661082,
            117.021052,
            12.3,
            Some(1.3),
            Some(5.0),
        ),
    ];

    let decoded = decode(&VERSION_1_CHUNK).unwrap();

    assert_eq!(decoded, expected);
}

#[test]
fn version_1_chunk_reencodes_as_current_version() {
    let bytes = encode(&decode(&VERSION_1_CHUNK).unwrap());

    assert_eq!(bytes[0], VERSION);
    assert_eq!(decode(&bytes), decode(&VERSION_1_CHUNK));
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
    let zigzag_varint = |value: i64| {
        let mut value = ((value << 1) ^ (value >> 63)) as u64;
        let mut bytes = Vec::new();
        while value >= 0x80 {
            bytes.push(value as u8 | 0x80);
            value >>= 7;
        }
        bytes.push(value as u8);
        bytes
    };
    // Version 2, count 1, whole seconds, time beyond i64 milliseconds.
    let seconds_too_big = i64::MAX / 1000 + 1;
    let mut time_overflow = vec![2, 1, 1];
    time_overflow.extend(zigzag_varint(seconds_too_big));
    time_overflow.extend([0, 0, 0, 0, 0]);
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
    let cases: [(&str, Vec<u8>, DecodeError); 10] = [
        ("empty", vec![], DecodeError::Empty),
        (
            "future version",
            vec![3, 0],
            DecodeError::UnsupportedVersion(3),
        ),
        ("version 0", vec![0, 0], DecodeError::UnsupportedVersion(0)),
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
            "count beyond input, version 2",
            vec![2, 2, 0, 0, 0, 0],
            DecodeError::CountTooLarge {
                count: 2,
                needed: 6,
                available: 4,
            },
        ),
        (
            "flags bit 7",
            vec![2, 1, 0x80, 0, 0, 0, 0, 0, 0],
            DecodeError::InvalidFlags(0x80),
        ),
        (
            "scaled step for time",
            vec![2, 1, 0b100, 0, 0, 0, 0, 0, 0],
            DecodeError::InvalidFlags(0b100),
        ),
        (
            "lat predictor 3",
            vec![2, 1, 0b1_1000, 0, 0, 0, 0, 0, 0],
            DecodeError::InvalidFlags(0b1_1000),
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
    assert_eq!(
        decode(&time_overflow),
        Err(DecodeError::OutOfRange {
            column: "time",
            index: 0,
            value: seconds_too_big,
        }),
        "whole seconds beyond i64 milliseconds"
    );
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
    assert_eq!(encode(&[]), [VERSION, 0]);
    assert_eq!(decode(&[VERSION, 0]), Ok(vec![]));
    assert_eq!(decode(&[1, 0]), Ok(vec![]), "version 1");
}
