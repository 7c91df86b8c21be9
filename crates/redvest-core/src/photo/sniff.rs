//! Detects the container format from the first bytes and reads the pixel
//! dimensions from the header alone, so oversized input is rejected before
//! any pixel buffer is allocated.

use std::io::Cursor;

use super::PhotoError;

/// Container formats the pipeline tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::WebP => "WebP",
        }
    }
}

/// ISO-BMFF major brands of HEIF images (HEIC from phones, plain HEIF and
/// image sequences), as registered in ISO/IEC 23008-12.
const HEIF_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
];

/// Detects the format by its magic bytes, rejecting HEIF with its own error.
pub fn detect(bytes: &[u8]) -> Result<Format, PhotoError> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(Format::WebP);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Err(reject_iso_bmff(&bytes[8..12]));
    }

    Err(PhotoError::UnsupportedFormat {
        detected: describe_magic(bytes),
    })
}

fn reject_iso_bmff(brand: &[u8]) -> PhotoError {
    let name = String::from_utf8_lossy(brand).into_owned();
    if HEIF_BRANDS.iter().any(|known| known.as_slice() == brand) {
        return PhotoError::Heic { brand: name };
    }
    PhotoError::UnsupportedFormat {
        detected: format!("ISO-BMFF brand {name:?}"),
    }
}

fn describe_magic(bytes: &[u8]) -> String {
    let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("first bytes {}", head.join(" "))
}

/// Reads width and height from the header without decoding pixels.
pub fn dimensions(bytes: &[u8], format: Format) -> Result<(u32, u32), PhotoError> {
    match format {
        Format::Jpeg => jpeg_dimensions(bytes),
        Format::Png | Format::WebP => generic_dimensions(bytes, format),
    }
}

fn jpeg_dimensions(bytes: &[u8]) -> Result<(u32, u32), PhotoError> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder
        .read_info()
        .map_err(|e| decode_error(Format::Jpeg, e))?;
    let info = decoder.info().ok_or_else(|| PhotoError::Decode {
        format: Format::Jpeg.name(),
        message: "no frame header found".into(),
    })?;
    Ok((u32::from(info.width), u32::from(info.height)))
}

fn generic_dimensions(bytes: &[u8], format: Format) -> Result<(u32, u32), PhotoError> {
    let image_format = match format {
        Format::Png => image::ImageFormat::Png,
        _ => image::ImageFormat::WebP,
    };
    image::ImageReader::with_format(Cursor::new(bytes), image_format)
        .into_dimensions()
        .map_err(|e| decode_error(format, e))
}

pub fn decode_error(format: Format, error: impl std::fmt::Display) -> PhotoError {
    PhotoError::Decode {
        format: format.name(),
        message: error.to_string(),
    }
}

/// Rejects a header whose pixel count exceeds `max_pixels`.
pub fn check_pixels(width: u32, height: u32, max_pixels: u64) -> Result<(), PhotoError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            max_pixels,
        });
    }
    if pixels == 0 {
        return Err(PhotoError::Decode {
            format: "image",
            message: format!("header claims {width}x{height} pixels"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_formats_by_magic() {
        let cases: [(&[u8], Option<Format>); 4] = [
            (b"\xFF\xD8\xFF\xE0rest", Some(Format::Jpeg)),
            (b"\x89PNG\r\n\x1a\nrest", Some(Format::Png)),
            (b"RIFF\0\0\0\0WEBPVP8 ", Some(Format::WebP)),
            (b"GIF89a\0\0\0\0\0\0", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(detect(bytes).ok(), expected, "magic {bytes:?}");
        }
    }

    #[test]
    fn heic_brand_is_rejected_as_heic() {
        let bytes = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";

        let error = detect(bytes).unwrap_err();

        assert!(matches!(error, PhotoError::Heic { .. }), "{error}");
    }

    #[test]
    fn avif_brand_is_unsupported_not_heic() {
        let bytes = b"\0\0\0\x18ftypavif\0\0\0\0";

        let error = detect(bytes).unwrap_err();

        assert!(
            matches!(error, PhotoError::UnsupportedFormat { .. }),
            "{error}"
        );
    }
}
