//! The photo pipeline, run once when a member captures or picks a photo.
//! It checks the file size and header, decodes (JPEGs with DCT scaling),
//! reads EXIF, downscales to a long edge, turns the pixels upright and
//! re-encodes them as JPEG without any metadata. It then makes a thumbnail
//! and stores both under the SHA-256 of the photo's bytes. Records name the
//! photo through [`ProcessedPhoto::into_ref`].
//!
//! HEIC/HEIF is rejected here. NOTE: an iOS or Android bridge that converts
//! HEIC to JPEG must run before `process_file`; none exists yet.

mod decode;
mod encode;
mod error;
mod meta;
mod sniff;
mod store;
mod transform;

use std::path::{Path, PathBuf};
use std::time::Instant;

use redvest_proto::records::PhotoRef;
use sha2::{Digest, Sha256};

pub use encode::strip_jpeg_metadata;
pub use error::PhotoError;
pub use meta::ExifTime;
pub use sniff::Format;

pub(crate) use store::write_atomic;

/// The largest long edge a caller may configure, in pixels.
pub const MAX_LONG_EDGE: u32 = 2048;

/// Limits and output settings of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoOptions {
    /// Input files larger than this are rejected before reading, in bytes.
    pub max_file_bytes: u64,
    /// Headers claiming more pixels than this are rejected before decoding.
    pub max_pixels: u64,
    /// Long edge of the stored photo in pixels, 1..=2048; never enlarged.
    pub long_edge: u32,
    /// Long edge of the thumbnail in pixels.
    pub thumb_long_edge: u32,
    /// JPEG quality 1–100 of the photo and its thumbnail.
    pub quality: u8,
}

impl Default for PhotoOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 40 * 1024 * 1024,
            max_pixels: 100_000_000,
            long_edge: 1600,
            thumb_long_edge: 320,
            quality: 80,
        }
    }
}

impl PhotoOptions {
    fn validate(&self) -> Result<(), PhotoError> {
        let checks = [
            (
                "long_edge",
                u64::from(self.long_edge),
                1..=u64::from(MAX_LONG_EDGE),
                "1 to 2048",
            ),
            (
                "thumb_long_edge",
                u64::from(self.thumb_long_edge),
                1..=u64::from(MAX_LONG_EDGE),
                "1 to 2048",
            ),
            ("quality", u64::from(self.quality), 1..=100, "1 to 100"),
            ("max_pixels", self.max_pixels, 1..=u64::MAX, "at least 1"),
        ];
        for (name, value, range, expected) in checks {
            if !range.contains(&value) {
                return Err(PhotoError::InvalidOption {
                    name,
                    value,
                    expected,
                });
            }
        }
        Ok(())
    }
}

/// A stored photo and what the pipeline learnt from its source.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedPhoto {
    /// Lowercase hex SHA-256 of the stored photo's bytes.
    pub sha256: String,
    /// `<store_dir>/<sha256>.jpg`.
    pub path: PathBuf,
    /// `<store_dir>/<sha256>.thumb.jpg`.
    pub thumb_path: PathBuf,
    /// Upright width of the stored photo in pixels.
    pub width: u32,
    pub height: u32,
    /// Size of the stored photo in bytes.
    pub bytes: u64,
    /// WGS-84 latitude and longitude from the source's EXIF GPS tags.
    pub exif_position: Option<(f64, f64)>,
    pub taken_at: Option<ExifTime>,
}

impl ProcessedPhoto {
    /// Converts into the reference a record carries.
    pub fn into_ref(self) -> PhotoRef {
        PhotoRef {
            sha256: self.sha256,
            bytes: self.bytes,
            width: self.width,
            height: self.height,
        }
    }
}

/// Processes the photo file at `input` and stores the result in `store_dir`.
pub fn process_file(
    input: &Path,
    store_dir: &Path,
    opts: &PhotoOptions,
) -> Result<ProcessedPhoto, PhotoError> {
    opts.validate()?;
    let size = std::fs::metadata(input)
        .map_err(|e| PhotoError::io(input, e))?
        .len();
    check_file_size(size, opts)?;

    let bytes = std::fs::read(input).map_err(|e| PhotoError::io(input, e))?;
    process_bytes(&bytes, store_dir, opts)
}

/// Processes an encoded photo held in memory and stores the result in
/// `store_dir`, which must exist.
pub fn process_bytes(
    bytes: &[u8],
    store_dir: &Path,
    opts: &PhotoOptions,
) -> Result<ProcessedPhoto, PhotoError> {
    let started = Instant::now();
    let encoded = encode_photo(bytes, opts)?;

    let sha256 = hex::encode(Sha256::digest(&encoded.photo));
    // The thumbnail goes first: once the photo's name exists, so does its thumbnail.
    let thumb_name = format!("{sha256}.thumb.jpg");
    let photo_name = format!("{sha256}.jpg");
    let files: [(&str, &[u8]); 2] = [(&thumb_name, &encoded.thumb), (&photo_name, &encoded.photo)];
    store::write_atomic(store_dir, &files)?;

    tracing::info!(
        %sha256,
        width = encoded.width,
        height = encoded.height,
        input_bytes = bytes.len(),
        output_bytes = encoded.photo.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "photo stored"
    );
    Ok(ProcessedPhoto {
        bytes: encoded.photo.len() as u64,
        path: store_dir.join(&photo_name),
        thumb_path: store_dir.join(&thumb_name),
        sha256,
        width: encoded.width,
        height: encoded.height,
        exif_position: encoded.meta.position,
        taken_at: encoded.meta.taken_at,
    })
}

/// The pipeline's output before it is written to disk.
struct EncodedPhoto {
    photo: Vec<u8>,
    thumb: Vec<u8>,
    width: u32,
    height: u32,
    meta: meta::PhotoMeta,
}

/// Runs every step except storage: checks, decoding, resizing, orientation
/// and encoding of the photo and its thumbnail.
fn encode_photo(bytes: &[u8], opts: &PhotoOptions) -> Result<EncodedPhoto, PhotoError> {
    opts.validate()?;
    check_file_size(bytes.len() as u64, opts)?;
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }

    let format = sniff::detect(bytes)?;
    let (src_w, src_h) = sniff::dimensions(bytes, format)?;
    sniff::check_pixels(src_w, src_h, opts.max_pixels)?;
    let meta = meta::read(bytes);

    let decoded = decode::decode(bytes, format, opts.long_edge, opts.max_pixels)?;
    let (fit_w, fit_h) = transform::fit_long_edge(src_w, src_h, opts.long_edge);
    let resized = transform::resize(decoded.image, fit_w, fit_h)?;
    let upright = transform::apply_orientation(resized, meta.orientation);
    let reencoded = encode::encode_jpeg(&upright, opts.quality)?;

    let (width, height) = upright.dimensions();
    let (thumb_w, thumb_h) = transform::fit_long_edge(width, height, opts.thumb_long_edge);
    let thumb_image = transform::resize(upright, thumb_w, thumb_h)?;
    let thumb = encode::encode_jpeg(&thumb_image, opts.quality)?;

    let kept_as_is =
        decoded.is_plain_jpeg && (fit_w, fit_h) == (src_w, src_h) && meta.orientation == 1;
    let photo = if kept_as_is {
        smaller_of(reencoded, bytes)
    } else {
        reencoded
    };
    Ok(EncodedPhoto {
        photo,
        thumb,
        width,
        height,
        meta,
    })
}

/// Keeps the source JPEG, minus its metadata, when it is smaller than the
/// re-encoded one, so a small low-quality JPEG never grows.
fn smaller_of(reencoded: Vec<u8>, source: &[u8]) -> Vec<u8> {
    match strip_jpeg_metadata(source) {
        Some(stripped) if stripped.len() <= reencoded.len() => stripped,
        _ => reencoded,
    }
}

fn check_file_size(size: u64, opts: &PhotoOptions) -> Result<(), PhotoError> {
    if size > opts.max_file_bytes {
        return Err(PhotoError::FileTooLarge {
            bytes: size,
            max_bytes: opts.max_file_bytes,
        });
    }
    Ok(())
}
