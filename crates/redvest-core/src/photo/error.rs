//! The typed error of the photo pipeline. Each variant names the bad value
//! and, where the member can act, what to do instead.

use std::path::PathBuf;

/// Why a photo could not be processed or stored.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("failed to read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("invalid photo option {name} = {value}: expected {expected}")]
    InvalidOption {
        name: &'static str,
        value: u64,
        expected: &'static str,
    },

    #[error("photo is empty: pick the photo again")]
    Empty,

    #[error(
        "photo file is {bytes} bytes, over the limit of {max_bytes} bytes: pick a smaller photo"
    )]
    FileTooLarge { bytes: u64, max_bytes: u64 },

    #[error(
        "photo header claims {width}x{height} pixels, over the limit of {max_pixels} pixels: \
         pick a smaller photo"
    )]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
    },

    #[error(
        "HEIC/HEIF photos ({brand}) are not supported: set the camera's format to \
         \"Most Compatible\" (JPEG) in the camera settings, or pick a JPEG photo"
    )]
    Heic { brand: String },

    #[error("unsupported photo format ({detected}): pick a JPEG, PNG or WebP photo")]
    UnsupportedFormat { detected: String },

    #[error("invalid or truncated {format} photo: {message}")]
    Decode {
        format: &'static str,
        message: String,
    },

    #[error("the {format} decoder crashed on this photo, so it is treated as corrupt")]
    DecoderPanic { format: &'static str },

    #[error("failed to encode the processed photo as JPEG: {message}")]
    Encode { message: String },
}

impl PhotoError {
    /// Tells whether the input photo itself is at fault, so retrying the same
    /// file cannot succeed. I/O errors (a full disk, say) may pass later.
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            PhotoError::Io { .. } | PhotoError::Encode { .. } | PhotoError::InvalidOption { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PhotoError::Io {
            path: path.into(),
            source,
        }
    }
}
