//! Decodes JPEG, PNG and WebP into 8-bit RGB. JPEGs go through
//! `jpeg-decoder`, whose DCT scaling (1/2, 1/4, 1/8) decodes a 12 MP photo
//! straight to about the target size: neither `image` 0.25 nor `zune-jpeg`
//! 0.5 offers DCT scaling. PNG and WebP use the `image` crate at full size.
//! Decoder panics are caught and reported as corrupt input.
//!
//! NOTE: for a progressive JPEG, `jpeg-decoder` keeps every full-size DCT
//! coefficient, so a 12 MP progressive photo peaks near 56 MB and decodes
//! about 2.5 times slower than a baseline one (see docs/BENCHMARKS.md).

use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};

use image::{DynamicImage, RgbImage};
use jpeg_decoder::PixelFormat;

use super::sniff::{decode_error, Format};
use super::PhotoError;

/// A decoded photo, possibly already reduced by DCT scaling.
pub struct Decoded {
    pub image: RgbImage,
    /// True for an 8-bit YCbCr or grayscale JPEG, whose bytes can be kept
    /// as they are once their metadata segments are removed.
    pub is_plain_jpeg: bool,
}

/// Decodes `bytes` to RGB, at no less than `target_long_edge` on the long
/// side when the source is that large.
pub fn decode(
    bytes: &[u8],
    format: Format,
    target_long_edge: u32,
    max_pixels: u64,
) -> Result<Decoded, PhotoError> {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| match format {
        Format::Jpeg => decode_jpeg(bytes, target_long_edge),
        Format::Png | Format::WebP => decode_generic(bytes, format, max_pixels),
    }));
    outcome.unwrap_or_else(|_| {
        tracing::warn!(format = format.name(), "photo decoder panicked");
        Err(PhotoError::DecoderPanic {
            format: format.name(),
        })
    })
}

fn decode_jpeg(bytes: &[u8], target_long_edge: u32) -> Result<Decoded, PhotoError> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder
        .read_info()
        .map_err(|e| decode_error(Format::Jpeg, e))?;
    let info = decoder.info().ok_or_else(missing_frame)?;

    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let (request_w, request_h) = scaled_request(width, height, target_long_edge);
    let (out_w, out_h) = decoder
        .scale(request_w, request_h)
        .map_err(|e| decode_error(Format::Jpeg, e))?;

    let pixels = decoder
        .decode()
        .map_err(|e| decode_error(Format::Jpeg, e))?;
    let format = decoder.info().ok_or_else(missing_frame)?.pixel_format;
    let rgb = to_rgb(pixels, format);
    let image = RgbImage::from_raw(u32::from(out_w), u32::from(out_h), rgb).ok_or_else(|| {
        decode_error(
            Format::Jpeg,
            "decoded pixel buffer is shorter than the image size",
        )
    })?;
    let is_plain_jpeg = matches!(format, PixelFormat::RGB24 | PixelFormat::L8);
    Ok(Decoded {
        image,
        is_plain_jpeg,
    })
}

fn missing_frame() -> PhotoError {
    decode_error(Format::Jpeg, "no frame header found")
}

/// Returns the size to ask DCT scaling for: the source scaled so its long
/// edge is `target_long_edge`, or the full size when it is already smaller.
/// The decoder rounds up to the next scale it supports.
pub fn scaled_request(width: u32, height: u32, target_long_edge: u32) -> (u16, u16) {
    let long_edge = width.max(height);
    if long_edge <= target_long_edge {
        return (clamp_u16(width), clamp_u16(height));
    }
    let scale =
        |side: u32| (u64::from(side) * u64::from(target_long_edge)).div_ceil(u64::from(long_edge));
    (
        clamp_u16(scale(width) as u32),
        clamp_u16(scale(height) as u32),
    )
}

fn clamp_u16(value: u32) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX).max(1)
}

fn to_rgb(pixels: Vec<u8>, format: PixelFormat) -> Vec<u8> {
    match format {
        PixelFormat::RGB24 => pixels,
        PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        PixelFormat::L16 => pixels
            .chunks_exact(2)
            .flat_map(|pair| {
                let high = (u16::from_ne_bytes([pair[0], pair[1]]) >> 8) as u8;
                [high, high, high]
            })
            .collect(),
        PixelFormat::CMYK32 => pixels.chunks_exact(4).flat_map(cmyk_to_rgb).collect(),
    }
}

/// Converts one pixel of ink amounts (0 = no ink), as `jpeg-decoder` emits
/// them, with the naive formula. NOTE: no ICC colour management, so print
/// CMYK photos come out with approximate colours.
fn cmyk_to_rgb(pixel: &[u8]) -> [u8; 3] {
    let white = 255 - u32::from(pixel[3]);
    let channel = |ink: u8| ((255 - u32::from(ink)) * white / 255) as u8;
    [channel(pixel[0]), channel(pixel[1]), channel(pixel[2])]
}

fn decode_generic(bytes: &[u8], format: Format, max_pixels: u64) -> Result<Decoded, PhotoError> {
    let image_format = match format {
        Format::Png => image::ImageFormat::Png,
        _ => image::ImageFormat::WebP,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut limits = image::Limits::default();
    // Room for a 16-bit RGBA buffer of the largest accepted image.
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    reader.limits(limits);

    let decoded = reader.decode().map_err(|e| decode_error(format, e))?;
    Ok(Decoded {
        image: flatten_on_white(decoded),
        is_plain_jpeg: false,
    })
}

/// Drops the alpha channel by compositing on white, so transparent areas of
/// a screenshot or sticker do not turn black in the JPEG.
fn flatten_on_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (width, height) = rgba.dimensions();
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for pixel in rgba.pixels() {
        let alpha = u32::from(pixel[3]);
        for &channel in &pixel.0[..3] {
            let blended = (u32::from(channel) * alpha + 255 * (255 - alpha) + 127) / 255;
            rgb.push(blended as u8);
        }
    }
    RgbImage::from_raw(width, height, rgb).expect("buffer has width * height * 3 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_request_keeps_aspect_and_rounds_up() {
        let cases = [
            ((4032, 3024, 1600), (1600, 1200)),
            ((3024, 4032, 1600), (1200, 1600)),
            ((1000, 750, 1600), (1000, 750)),
            ((4000, 1, 1600), (1600, 1)),
        ];
        for ((w, h, edge), expected) in cases {
            assert_eq!(scaled_request(w, h, edge), expected, "{w}x{h} to {edge}");
        }
    }

    #[test]
    fn cmyk_without_ink_is_white() {
        assert_eq!(cmyk_to_rgb(&[0, 0, 0, 0]), [255, 255, 255]);
    }

    #[test]
    fn cmyk_full_black_ink_is_black() {
        assert_eq!(cmyk_to_rgb(&[0, 0, 0, 255]), [0, 0, 0]);
    }
}
