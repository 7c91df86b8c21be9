//! Start-up settings read from the environment: the server address, the
//! folder of the local database and photos, and an optional GPX file whose
//! track the desktop build replays as the location source.

use std::path::PathBuf;

/// The server used when `REDVEST_SERVER` is not set.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Settings of one run of the app.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server_url: String,
    pub data_dir: PathBuf,
    pub gpx: Option<PathBuf>,
    /// How many times faster than recorded the GPX track is replayed.
    pub gpx_speed: f64,
}

impl Config {
    /// Reads `REDVEST_SERVER`, `REDVEST_DATA`, `REDVEST_GPX` and `REDVEST_GPX_SPEED`.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        let data_dir = var("REDVEST_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(default_data_dir);
        let gpx_speed = var("REDVEST_GPX_SPEED")
            .and_then(|text| text.parse::<f64>().ok())
            .filter(|speed| speed.is_finite() && *speed > 0.0)
            .unwrap_or(1.0);

        Self {
            server_url: var("REDVEST_SERVER").unwrap_or_else(|| DEFAULT_SERVER.to_owned()),
            data_dir,
            gpx: var("REDVEST_GPX").map(PathBuf::from),
            gpx_speed,
        }
    }
}

/// Picks the platform's own app folder where it has one (Android), else the
/// user's data folder (`~/.local/share/redvest` on Linux).
fn default_data_dir() -> PathBuf {
    if let Some(dir) = crate::platform::app_data_dir() {
        return dir;
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("redvest")
}
