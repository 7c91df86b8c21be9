//! Android implementations, still to be written: each capability returns a
//! typed "unsupported" error so that the app compiles for Android.

use std::path::PathBuf;

use redvest_proto::geo::Fix;

use super::{Connectivity, Location, PhotoPicker, PlatformError, TokenStore};
use crate::config::Config;

/// A capability with no Android implementation yet.
pub struct Unsupported;

fn unsupported<T>(capability: &'static str) -> Result<T, PlatformError> {
    Err(PlatformError::Unsupported { capability })
}

impl Location for Unsupported {
    fn current_fix(&self) -> Result<Option<Fix>, PlatformError> {
        unsupported("location")
    }

    fn set_typed(&self, _lat: f64, _lon: f64) -> Result<(), PlatformError> {
        unsupported("typed location")
    }
}

impl PhotoPicker for Unsupported {
    fn accept(&self, _path: PathBuf) -> Result<PathBuf, PlatformError> {
        unsupported("photo picking")
    }
}

impl TokenStore for Unsupported {
    fn load(&self) -> Result<Option<String>, PlatformError> {
        unsupported("secure token storage")
    }

    fn save(&self, _token: &str) -> Result<(), PlatformError> {
        unsupported("secure token storage")
    }

    fn clear(&self) -> Result<(), PlatformError> {
        unsupported("secure token storage")
    }
}

impl Connectivity for Unsupported {
    async fn check(&self) -> bool {
        false
    }
}

pub fn location(_config: &Config) -> Result<Unsupported, PlatformError> {
    Ok(Unsupported)
}

/// Returns no monotonic reading until the platform clock is wired.
pub fn monotonic() -> Option<redvest_proto::records::Monotonic> {
    None
}

pub fn photo_picker() -> Unsupported {
    Unsupported
}

pub fn token_store(_server_url: &str) -> Unsupported {
    Unsupported
}

pub fn connectivity(_server_url: &str) -> Unsupported {
    Unsupported
}
