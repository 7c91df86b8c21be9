//! The seam between the app and the device: one trait per capability
//! (location, photo picking, secure token storage, connectivity) and one
//! implementation per platform, chosen here by `cfg` so that callers never
//! name a platform.

use std::path::PathBuf;

use redvest_proto::geo::Fix;

#[cfg(target_os = "android")]
mod android;
#[cfg(not(any(target_os = "android", target_os = "ios")))]
mod desktop;
#[cfg(target_os = "ios")]
mod ios;
pub mod mobile;

#[cfg(target_os = "android")]
use android as imp;
#[cfg(not(any(target_os = "android", target_os = "ios")))]
use desktop as imp;
#[cfg(target_os = "ios")]
use ios as imp;

pub use imp::{connectivity, location, monotonic, photo_picker, token_store};

/// Returns the folder that the platform assigns to the app's data, where
/// there is one (`Context.getFilesDir()` on Android), else `None`.
pub fn app_data_dir() -> Option<PathBuf> {
    #[cfg(target_os = "android")]
    return android::data_dir();
    #[cfg(not(target_os = "android"))]
    None
}

/// Checks a chosen photo file with the platform's picker.
pub fn photo_picker_accept(path: PathBuf) -> Result<PathBuf, PlatformError> {
    photo_picker().accept(path)
}

/// Why a platform capability failed.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("{capability} is not supported on this platform yet")]
    Unsupported { capability: &'static str },
    #[error("no secure storage is available ({detail}): the sign-in is kept in memory only")]
    NoSecretStore { detail: String },
    #[error("secure storage failed: {detail}")]
    SecretStore { detail: String },
    #[error("cannot read GPX file {path}: {detail}; set REDVEST_GPX to a GPX 1.0 or 1.1 file")]
    Gpx { path: PathBuf, detail: String },
    #[error(
        "photo file {path} cannot be read: {source}; choose an existing JPEG, PNG or WebP file"
    )]
    Photo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "invalid position {lat}, {lon}: latitude must be within ±90 and longitude within ±180"
    )]
    InvalidPosition { lat: f64, lon: f64 },
    #[error("{capability} failed on the device: {detail}")]
    Native {
        capability: &'static str,
        detail: String,
    },
}

/// A source of position fixes in WGS-84.
pub trait Location: Send + Sync {
    /// Returns the newest fix, or `None` while there is none.
    fn current_fix(&self) -> Result<Option<Fix>, PlatformError>;

    /// Uses a position the member typed instead of the sensor.
    fn set_typed(&self, lat: f64, lon: f64) -> Result<(), PlatformError>;

    /// Removes and returns every fix received since the last call, oldest
    /// first, so that a patrol keeps the fixes taken while the app was not
    /// polling. The default returns the current fix, if any.
    fn drain_fixes(&self) -> Result<Vec<Fix>, PlatformError> {
        Ok(self.current_fix()?.into_iter().collect())
    }

    /// Keeps fixes coming with the screen off, for the length of a patrol.
    /// The default does nothing, for sources that never stop.
    fn begin_background(&self) -> Result<(), PlatformError> {
        Ok(())
    }

    /// Ends what [`Location::begin_background`] started.
    fn end_background(&self) -> Result<(), PlatformError> {
        Ok(())
    }
}

/// Picks photo files for a lead.
pub trait PhotoPicker: Send + Sync {
    /// Checks that a chosen file can be read and returns its path.
    fn accept(&self, path: PathBuf) -> Result<PathBuf, PlatformError>;
}

/// Keeps the session token in the platform's secret store, never in a file.
pub trait TokenStore: Send + Sync {
    fn load(&self) -> Result<Option<String>, PlatformError>;
    fn save(&self, token: &str) -> Result<(), PlatformError>;
    fn clear(&self) -> Result<(), PlatformError>;
}

/// Tells whether the server can be reached right now.
pub trait Connectivity: Send + Sync {
    /// Checks reachability once; a platform may answer from a system callback.
    fn check(&self) -> impl std::future::Future<Output = bool> + Send;
}
