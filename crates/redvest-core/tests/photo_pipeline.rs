//! End-to-end tests of the photo pipeline on photos generated here: JPEGs
//! with a hand-written EXIF segment, PNG, WebP, a fake HEIC header, a
//! truncated JPEG and a header that claims 50,000×50,000 pixels.

use std::path::Path;

use exif::{In, Tag};
use image::{imageops, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};
use redvest_core::photo::{process_bytes, process_file, PhotoError, PhotoOptions};
use sha2::{Digest, Sha256};

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

/// Builds an upright test picture whose quadrants are red (top left), green
/// (top right), blue (bottom left) and white (bottom right).
fn quadrants(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let right = x >= width / 2;
        let bottom = y >= height / 2;
        Rgb(match (right, bottom) {
            (false, false) => RED,
            (true, false) => GREEN,
            (false, true) => BLUE,
            (true, true) => WHITE,
        })
    })
}

/// Builds noise that JPEG cannot compress well, like a real camera photo.
fn noise(width: u32, height: u32, seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let base = ((x + y) % 256) as u8;
        Rgb([base, (state & 0xFF) as u8, ((state >> 8) & 0xFF) as u8])
    })
}

/// EXIF fields to write into a test JPEG.
#[derive(Default)]
struct ExifFields {
    orientation: Option<u16>,
    /// Latitude and longitude in degrees, north and east positive.
    gps: Option<(f64, f64)>,
    date_time: Option<&'static str>,
}

/// Builds the payload of an APP1 EXIF segment ("Exif\0\0" and a
/// little-endian TIFF structure) holding `fields`.
fn exif_payload(fields: &ExifFields) -> Vec<u8> {
    let mut ifd0: Vec<(u16, u16, u32, Vec<u8>)> = Vec::new();
    if let Some(orientation) = fields.orientation {
        ifd0.push((0x0112, 3, 1, orientation.to_le_bytes().to_vec()));
    }
    if let Some(text) = fields.date_time {
        let mut ascii = text.as_bytes().to_vec();
        ascii.push(0);
        ifd0.push((0x0132, 2, ascii.len() as u32, ascii));
    }
    let mut gps_ifd = Vec::new();
    if let Some((lat, lon)) = fields.gps {
        gps_ifd.push((0x0001, 2, 2, b"N\0".to_vec()));
        gps_ifd.push((0x0002, 5, 3, dms_rationals(lat)));
        gps_ifd.push((0x0003, 2, 2, b"E\0".to_vec()));
        gps_ifd.push((0x0004, 5, 3, dms_rationals(lon)));
        // The pointer's value is patched once the GPS IFD's offset is known.
        ifd0.push((0x8825, 4, 1, vec![0; 4]));
    }

    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    let gps_offset = 8 + ifd_size(&ifd0);
    if let Some(entry) = ifd0.iter_mut().find(|entry| entry.0 == 0x8825) {
        entry.3 = (gps_offset as u32).to_le_bytes().to_vec();
    }
    write_ifd(&mut tiff, &ifd0);
    if !gps_ifd.is_empty() {
        write_ifd(&mut tiff, &gps_ifd);
    }

    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff);
    payload
}

fn dms_rationals(degrees: f64) -> Vec<u8> {
    let whole = degrees.trunc() as u32;
    let minutes_f = (degrees - f64::from(whole)) * 60.0;
    let minutes = minutes_f.trunc() as u32;
    let centiseconds = ((minutes_f - f64::from(minutes)) * 60.0 * 100.0).round() as u32;
    [(whole, 1), (minutes, 1), (centiseconds, 100)]
        .iter()
        .flat_map(|(num, den): &(u32, u32)| [num.to_le_bytes(), den.to_le_bytes()].concat())
        .collect()
}

fn ifd_size(entries: &[(u16, u16, u32, Vec<u8>)]) -> usize {
    let overflow: usize = entries
        .iter()
        .map(|e| if e.3.len() > 4 { e.3.len() } else { 0 })
        .sum();
    2 + entries.len() * 12 + 4 + overflow
}

/// Appends an IFD whose overflowing values follow it directly.
fn write_ifd(tiff: &mut Vec<u8>, entries: &[(u16, u16, u32, Vec<u8>)]) {
    let start = tiff.len();
    let mut overflow_offset = start + 2 + entries.len() * 12 + 4;
    let mut overflow: Vec<u8> = Vec::new();
    tiff.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        tiff.extend(tag.to_le_bytes());
        tiff.extend(kind.to_le_bytes());
        tiff.extend(count.to_le_bytes());
        if value.len() <= 4 {
            let mut inline = value.clone();
            inline.resize(4, 0);
            tiff.extend(inline);
        } else {
            tiff.extend((overflow_offset as u32).to_le_bytes());
            overflow_offset += value.len();
            overflow.extend(value);
        }
    }
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(overflow);
}

fn jpeg(image: &RgbImage, quality: u8, exif: Option<&ExifFields>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    if let Some(fields) = exif {
        encoder.add_app_segment(1, &exif_payload(fields)).unwrap();
    }
    let (width, height) = (image.width() as u16, image.height() as u16);
    encoder
        .encode(image.as_raw(), width, height, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

/// Returns the stored image as the inverse of `orientation` would have
/// left it, so that applying the orientation gives `upright` back.
fn stored_for(upright: &RgbImage, orientation: u16) -> RgbImage {
    match orientation {
        3 => imageops::rotate180(upright),
        6 => imageops::rotate270(upright),
        8 => imageops::rotate90(upright),
        _ => upright.clone(),
    }
}

fn decode_output(path: &Path) -> RgbImage {
    image::open(path).unwrap().into_rgb8()
}

/// Checks a colour with room for JPEG error.
fn is_close(pixel: &Rgb<u8>, expected: [u8; 3]) -> bool {
    pixel
        .0
        .iter()
        .zip(expected)
        .all(|(&a, b)| a.abs_diff(b) < 40)
}

fn corner_colours(image: &RgbImage) -> [Rgb<u8>; 4] {
    let (w, h) = image.dimensions();
    let (dx, dy) = (w / 8, h / 8);
    [
        *image.get_pixel(dx, dy),
        *image.get_pixel(w - 1 - dx, dy),
        *image.get_pixel(dx, h - 1 - dy),
        *image.get_pixel(w - 1 - dx, h - 1 - dy),
    ]
}

fn store() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn exif_orientation_comes_out_upright() {
    for orientation in [1u16, 3, 6, 8] {
        let upright = quadrants(640, 480);
        let fields = ExifFields {
            orientation: Some(orientation),
            ..Default::default()
        };
        let input = jpeg(&stored_for(&upright, orientation), 90, Some(&fields));
        let dir = store();

        let photo = process_bytes(&input, dir.path(), &PhotoOptions::default()).unwrap();

        assert_eq!(
            (photo.width, photo.height),
            (640, 480),
            "orientation {orientation}"
        );
        for (label, path, size) in [
            ("photo", &photo.path, (640, 480)),
            ("thumb", &photo.thumb_path, (320, 240)),
        ] {
            let output = decode_output(path);
            assert_eq!(
                output.dimensions(),
                size,
                "{label} size, orientation {orientation}"
            );
            let corners = corner_colours(&output);
            for (corner, expected) in corners.iter().zip([RED, GREEN, BLUE, WHITE]) {
                assert!(
                    is_close(corner, expected),
                    "{label} corner {corner:?} should be {expected:?}, orientation {orientation}"
                );
            }
        }
    }
}

#[test]
fn large_photo_scales_to_long_edge() {
    let input = jpeg(&noise(4032, 3024, 7), 90, None);
    let cases = [
        (1600, (1600, 1200)),
        (1024, (1024, 768)),
        (2048, (2048, 1536)),
    ];
    for (long_edge, expected) in cases {
        let dir = store();
        let opts = PhotoOptions {
            long_edge,
            ..Default::default()
        };

        let photo = process_bytes(&input, dir.path(), &opts).unwrap();

        assert_eq!(
            (photo.width, photo.height),
            expected,
            "long edge {long_edge}"
        );
        assert_eq!(
            decode_output(&photo.path).dimensions(),
            expected,
            "file, long edge {long_edge}"
        );
    }
}

#[test]
fn portrait_photo_scales_by_height() {
    let input = jpeg(&noise(1500, 2000, 3), 85, None);
    let dir = store();

    let photo = process_bytes(&input, dir.path(), &PhotoOptions::default()).unwrap();

    assert_eq!((photo.width, photo.height), (1200, 1600));
}

#[test]
fn long_edge_over_max_is_rejected() {
    let opts = PhotoOptions {
        long_edge: 4000,
        ..Default::default()
    };

    let error =
        process_bytes(&jpeg(&noise(64, 48, 1), 80, None), store().path(), &opts).unwrap_err();

    assert!(
        matches!(
            error,
            PhotoError::InvalidOption {
                name: "long_edge",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn small_low_quality_jpeg_never_grows() {
    for (quality, size) in [(20u8, (320, 240)), (40, (800, 600)), (60, (1600, 1200))] {
        let fields = ExifFields {
            orientation: Some(1),
            date_time: Some("2026:09:01 07:30:00"),
            ..Default::default()
        };
        let input = jpeg(&noise(size.0, size.1, 11), quality, Some(&fields));
        let dir = store();

        let photo = process_bytes(&input, dir.path(), &PhotoOptions::default()).unwrap();

        assert!(
            photo.bytes < input.len() as u64,
            "quality {quality}: {} bytes out, {} in",
            photo.bytes,
            input.len()
        );
        assert_eq!((photo.width, photo.height), size, "quality {quality}");
    }
}

#[test]
fn output_has_no_exif() {
    let fields = ExifFields {
        orientation: Some(1),
        gps: Some((31.2304, 121.4737)),
        date_time: Some("2026:09:01 07:30:00"),
    };
    // The small photo is kept as its source minus metadata, the large one re-encoded.
    for (label, image, quality) in [
        ("kept", noise(200, 150, 5), 30),
        ("re-encoded", noise(2400, 1800, 5), 92),
    ] {
        let input = jpeg(&image, quality, Some(&fields));
        let dir = store();

        let photo = process_bytes(&input, dir.path(), &PhotoOptions::default()).unwrap();

        for path in [&photo.path, &photo.thumb_path] {
            let bytes = std::fs::read(path).unwrap();
            let exif = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&bytes));
            assert!(exif.is_err(), "{label}: {} still has EXIF", path.display());
            assert!(
                !contains(&bytes, b"Exif\0\0"),
                "{label}: {} has an EXIF header",
                path.display()
            );
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn file_name_is_sha256_of_bytes() {
    let input = jpeg(&noise(1800, 1200, 9), 90, None);
    let dir = store();

    let photo = process_bytes(&input, dir.path(), &PhotoOptions::default()).unwrap();

    let bytes = std::fs::read(&photo.path).unwrap();
    let digest = hex::encode(Sha256::digest(&bytes));
    assert_eq!(photo.sha256, digest);
    assert_eq!(photo.path, dir.path().join(format!("{digest}.jpg")));
    assert_eq!(
        photo.thumb_path,
        dir.path().join(format!("{digest}.thumb.jpg"))
    );
    assert_eq!(photo.bytes, bytes.len() as u64);
    let reference = photo.clone().into_ref();
    assert_eq!(reference.sha256, digest);
    assert_eq!((reference.width, reference.height), (1600, 1067));
}

#[test]
fn store_holds_only_photo_and_thumbnail() {
    let input = jpeg(&noise(900, 600, 2), 90, None);
    let dir = store();

    let first = process_bytes(&input, dir.path(), &PhotoOptions::default()).unwrap();
    let second = process_bytes(&input, dir.path(), &PhotoOptions::default()).unwrap();

    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(second.sha256, first.sha256);
    assert_eq!(
        names,
        [
            format!("{}.jpg", first.sha256),
            format!("{}.thumb.jpg", first.sha256)
        ]
    );
}

#[test]
fn missing_store_dir_leaves_nothing() {
    let dir = store();
    let missing = dir.path().join("absent");

    let error = process_bytes(
        &jpeg(&noise(64, 48, 1), 80, None),
        &missing,
        &PhotoOptions::default(),
    )
    .unwrap_err();

    assert!(matches!(error, PhotoError::Io { .. }), "{error}");
    assert!(!missing.exists());
}

#[test]
fn exif_gps_and_time_read_back() {
    let fields = ExifFields {
        orientation: Some(1),
        gps: Some((31.2304, 121.4737)),
        date_time: Some("2026:09:01 07:30:15"),
    };
    let input = jpeg(&noise(320, 240, 4), 80, Some(&fields));

    let photo = process_bytes(&input, store().path(), &PhotoOptions::default()).unwrap();

    let (lat, lon) = photo.exif_position.expect("position from EXIF GPS");
    assert!((lat - 31.2304).abs() < 1e-4, "latitude {lat}");
    assert!((lon - 121.4737).abs() < 1e-4, "longitude {lon}");
    let taken = photo.taken_at.expect("time from EXIF");
    assert_eq!(taken.local.to_string(), "2026-09-01 07:30:15");
    assert_eq!(taken.offset_min, None);
}

#[test]
fn truncated_jpeg_is_rejected() {
    let input = jpeg(&noise(1200, 900, 8), 90, None);
    let truncated = &input[..input.len() / 2];

    let error = process_bytes(truncated, store().path(), &PhotoOptions::default()).unwrap_err();

    assert!(
        matches!(error, PhotoError::Decode { format: "JPEG", .. }),
        "{error}"
    );
    assert!(error.to_string().contains("truncated"), "{error}");
}

#[test]
fn pixel_bomb_header_is_rejected() {
    // SOI, then a baseline SOF0 claiming 50,000×50,000 with 3 components.
    let mut bomb = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
    bomb.extend(50_000u16.to_be_bytes());
    bomb.extend(50_000u16.to_be_bytes());
    bomb.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    bomb.extend([0xFF, 0xD9]);

    let error = process_bytes(&bomb, store().path(), &PhotoOptions::default()).unwrap_err();

    assert!(
        matches!(
            error,
            PhotoError::TooManyPixels {
                width: 50_000,
                height: 50_000,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("50000x50000"), "{error}");
    assert!(error.to_string().contains("100000000"), "{error}");
}

#[test]
fn oversized_file_is_rejected_before_reading() {
    let dir = store();
    let input = dir.path().join("big.jpg");
    std::fs::write(&input, jpeg(&noise(640, 480, 6), 95, None)).unwrap();
    let opts = PhotoOptions {
        max_file_bytes: 1024,
        ..Default::default()
    };

    let error = process_file(&input, dir.path(), &opts).unwrap_err();

    assert!(
        matches!(
            error,
            PhotoError::FileTooLarge {
                max_bytes: 1024,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn process_file_reads_from_disk() {
    let dir = store();
    let input = dir.path().join("in.jpg");
    std::fs::write(&input, jpeg(&quadrants(400, 300), 90, None)).unwrap();

    let photo = process_file(&input, dir.path(), &PhotoOptions::default()).unwrap();

    assert_eq!((photo.width, photo.height), (400, 300));
}

#[test]
fn png_and_webp_decode() {
    let upright = quadrants(600, 400);
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(upright.as_raw(), 600, 400, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .write_image(upright.as_raw(), 600, 400, image::ExtendedColorType::Rgb8)
        .unwrap();

    for (label, input) in [("png", png), ("webp", webp)] {
        let dir = store();

        let photo = process_bytes(&input, dir.path(), &PhotoOptions::default()).unwrap();

        assert_eq!((photo.width, photo.height), (600, 400), "{label}");
        let corners = corner_colours(&decode_output(&photo.path));
        assert!(
            is_close(&corners[0], RED),
            "{label} top-left {:?}",
            corners[0]
        );
    }
}

#[test]
fn transparent_png_turns_white() {
    let image = RgbaImage::from_pixel(100, 80, Rgba([0, 0, 0, 0]));
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(image.as_raw(), 100, 80, image::ExtendedColorType::Rgba8)
        .unwrap();

    let dir = store();

    let photo = process_bytes(&png, dir.path(), &PhotoOptions::default()).unwrap();

    let output = decode_output(&photo.path);
    assert!(
        is_close(output.get_pixel(50, 40), WHITE),
        "{:?}",
        output.get_pixel(50, 40)
    );
}

#[test]
fn heic_is_rejected_with_camera_hint() {
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend([0; 64]);

    let error = process_bytes(&heic, store().path(), &PhotoOptions::default()).unwrap_err();

    assert!(matches!(error, PhotoError::Heic { .. }), "{error}");
    assert!(error.to_string().contains("Most Compatible"), "{error}");
}

#[test]
fn garbage_is_rejected_as_unsupported() {
    let error = process_bytes(
        b"GIF89a not a photo",
        store().path(),
        &PhotoOptions::default(),
    )
    .unwrap_err();

    assert!(
        matches!(error, PhotoError::UnsupportedFormat { .. }),
        "{error}"
    );
}

#[test]
fn output_orientation_tag_is_gone() {
    let fields = ExifFields {
        orientation: Some(6),
        ..Default::default()
    };
    let input = jpeg(&stored_for(&quadrants(300, 200), 6), 90, Some(&fields));
    let dir = store();

    let photo = process_bytes(&input, dir.path(), &PhotoOptions::default()).unwrap();

    let bytes = std::fs::read(&photo.path).unwrap();
    let exif = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&bytes));
    let orientation = exif.ok().and_then(|e| {
        e.get_field(Tag::Orientation, In::PRIMARY)
            .map(|f| f.value.get_uint(0))
    });
    assert_eq!(orientation, None);
}
