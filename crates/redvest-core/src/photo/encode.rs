//! JPEG output: encoding RGB pixels with `jpeg-encoder` (4:2:0 below
//! quality 90, no metadata segments besides JFIF), and removing metadata
//! from an existing JPEG byte stream without re-encoding it.

use image::RgbImage;

use super::PhotoError;

/// Encodes `image` as a baseline JPEG at `quality` (1–100).
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let (width, height) = image.dimensions();
    let (Ok(width), Ok(height)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err(PhotoError::Encode {
            message: format!("{width}x{height} exceeds the JPEG limit of 65535 pixels a side"),
        });
    };

    let mut out = Vec::with_capacity(usize::from(width) * usize::from(height) / 4);
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(image.as_raw(), width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| PhotoError::Encode {
            message: e.to_string(),
        })?;
    Ok(out)
}

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

/// Copies a JPEG stream without its metadata: APP1–APP13 and APP15 (EXIF,
/// XMP, ICC, MPF, IPTC, vendor data) and COM segments are dropped, and so
/// is anything after the first EOI (MPF secondary images, vendor trailers).
/// APP0 (JFIF) and APP14 (Adobe, which tells the colour transform) stay.
/// Returns `None` when the stream is malformed.
pub fn strip_jpeg_metadata(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.get(0..2)? != [0xFF, SOI] {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut pos = 2;

    loop {
        let (marker, next) = read_marker(bytes, pos)?;
        if marker == EOI {
            out.extend_from_slice(&[0xFF, EOI]);
            return Some(out);
        }

        let length = usize::from(u16::from_be_bytes([
            *bytes.get(next)?,
            *bytes.get(next + 1)?,
        ]));
        let end = next
            .checked_add(length)
            .filter(|&end| length >= 2 && end <= bytes.len())?;
        if !is_metadata(marker) {
            out.extend_from_slice(&bytes[pos..end]);
        }
        pos = end;

        if marker == SOS {
            let data_end = entropy_data_end(bytes, pos)?;
            out.extend_from_slice(&bytes[pos..data_end]);
            pos = data_end;
        }
    }
}

fn is_metadata(marker: u8) -> bool {
    let is_app = (APP0..=0xEF).contains(&marker);
    marker == COM || (is_app && marker != APP0 && marker != APP14)
}

/// Reads the marker at `pos`, skipping fill bytes, and returns its code and
/// the offset just after it.
fn read_marker(bytes: &[u8], mut pos: usize) -> Option<(u8, usize)> {
    if *bytes.get(pos)? != 0xFF {
        return None;
    }
    while *bytes.get(pos + 1)? == 0xFF {
        pos += 1;
    }
    Some((bytes[pos + 1], pos + 2))
}

/// Finds where the entropy-coded data after an SOS header ends: the next
/// marker that is neither a stuffed zero nor a restart marker.
fn entropy_data_end(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let offset = bytes.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        pos += offset;
        match *bytes.get(pos + 1)? {
            0x00 | 0xD0..=0xD7 => pos += 2,
            0xFF => pos += 1,
            _ => return Some(pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let length = (payload.len() + 2) as u16;
        let mut bytes = vec![0xFF, marker];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn strip_drops_metadata_and_trailer() {
        let mut jpeg = vec![0xFF, SOI];
        jpeg.extend(segment(APP0, b"JFIF\0"));
        jpeg.extend(segment(0xE1, b"Exif\0\0secret"));
        jpeg.extend(segment(COM, b"comment"));
        jpeg.extend(segment(0xDB, b"table"));
        jpeg.extend(segment(SOS, b"scan"));
        jpeg.extend_from_slice(&[1, 0xFF, 0x00, 2, 0xFF, 0xD0, 3, 0xFF, EOI]);
        jpeg.extend_from_slice(b"trailer");

        let stripped = strip_jpeg_metadata(&jpeg).unwrap();

        let mut expected = vec![0xFF, SOI];
        expected.extend(segment(APP0, b"JFIF\0"));
        expected.extend(segment(0xDB, b"table"));
        expected.extend(segment(SOS, b"scan"));
        expected.extend_from_slice(&[1, 0xFF, 0x00, 2, 0xFF, 0xD0, 3, 0xFF, EOI]);
        assert_eq!(stripped, expected);
    }

    #[test]
    fn strip_rejects_truncated_stream() {
        let mut jpeg = vec![0xFF, SOI];
        jpeg.extend(segment(0xDB, b"table"));
        jpeg.extend(segment(SOS, b"scan"));
        jpeg.extend_from_slice(&[1, 2, 3]);

        assert_eq!(strip_jpeg_metadata(&jpeg), None);
    }
}
