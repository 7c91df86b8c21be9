//! Desktop (Linux) implementations: location replayed from a GPX file or
//! typed by hand, photos chosen as files, the token in the Secret Service
//! through `keyring`, and reachability by polling the server's health route.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use super::mobile::ServerProbe;
use chrono::Utc;
use redvest_proto::geo::{is_valid_position, Fix};

use super::{Location, PhotoPicker, PlatformError, TokenStore};
use crate::config::Config;

/// Accuracy given to typed positions, which are as good as the typist.
const TYPED_ACCURACY_M: f64 = 10.0;

/// Replays a recorded track at its own pace (times `speed`), or serves a typed position.
pub struct DesktopLocation {
    track: Vec<Fix>,
    speed: f64,
    started: Instant,
    started_utc: chrono::DateTime<Utc>,
    /// Index of the first track point that `drain_fixes` has not returned yet.
    drained: Mutex<usize>,
    typed: Mutex<Option<(f64, f64)>>,
}

impl DesktopLocation {
    /// Returns how many track points the replay has reached by now.
    fn reached(&self) -> usize {
        let Some(first) = self.track.first() else {
            return 0;
        };
        let elapsed_ms = self.started.elapsed().as_secs_f64() * self.speed * 1000.0;
        self.track
            .iter()
            .take_while(|fix| ((fix.at - first.at).num_milliseconds() as f64) <= elapsed_ms)
            .count()
    }

    /// Returns track point `index` as a replayed fix, re-timed to the replay's clock.
    fn replayed(&self, index: usize) -> Fix {
        let first_at = self.track[0].at;
        let mut fix = self.track[index].clone();
        let offset_ms = (fix.at - first_at).num_milliseconds() as f64 / self.speed;
        fix.at = self.started_utc + chrono::Duration::milliseconds(offset_ms as i64);
        // The provider name keeps every replayed point recognisable as such.
        fix.provider = "replay".to_owned();
        fix
    }

    /// Returns the newest replayed point as the current fix, marked as mock so
    /// that the clock-in judge never takes a replay as proof of presence.
    /// Patrol points keep the flag off, because the track filter drops mock fixes.
    fn replayed_fix(&self) -> Option<Fix> {
        let reached = self.reached();
        let mut fix = self.replayed(reached.checked_sub(1)?);
        fix.at = Utc::now();
        fix.mock = true;
        Some(fix)
    }

    fn typed_fix(&self) -> Option<Fix> {
        let typed = *self
            .typed
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        typed.map(|(lat, lon)| Fix::new(lat, lon, Some(TYPED_ACCURACY_M), Utc::now(), "typed"))
    }
}

impl Location for DesktopLocation {
    fn current_fix(&self) -> Result<Option<Fix>, PlatformError> {
        Ok(self.typed_fix().or_else(|| self.replayed_fix()))
    }

    /// Returns every track point reached since the last call, so a fast
    /// replay loses no point between two polls; a typed position comes alone.
    fn drain_fixes(&self) -> Result<Vec<Fix>, PlatformError> {
        if let Some(fix) = self.typed_fix() {
            return Ok(vec![fix]);
        }
        let reached = self.reached();
        let mut drained = self
            .drained
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let fixes = (*drained..reached)
            .map(|index| self.replayed(index))
            .collect();
        *drained = reached.max(*drained);
        Ok(fixes)
    }

    fn set_typed(&self, lat: f64, lon: f64) -> Result<(), PlatformError> {
        if !is_valid_position(lat, lon) {
            return Err(PlatformError::InvalidPosition { lat, lon });
        }
        *self
            .typed
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some((lat, lon));
        Ok(())
    }
}

/// Builds the location source from `REDVEST_GPX`, or an empty one to be typed into.
pub fn location(config: &Config) -> Result<DesktopLocation, PlatformError> {
    let track = match &config.gpx {
        Some(path) => read_gpx(path)?,
        None => Vec::new(),
    };
    tracing::info!(
        points = track.len(),
        speed = config.gpx_speed,
        "location source ready"
    );

    Ok(DesktopLocation {
        track,
        speed: config.gpx_speed,
        started: Instant::now(),
        started_utc: Utc::now(),
        drained: Mutex::new(0),
        typed: Mutex::new(None),
    })
}

fn read_gpx(path: &Path) -> Result<Vec<Fix>, PlatformError> {
    let gpx_error = |detail: String| PlatformError::Gpx {
        path: path.to_owned(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|error| gpx_error(error.to_string()))?;
    let segments =
        redvest_core::gpx::import_fixes(&text).map_err(|error| gpx_error(error.to_string()))?;
    Ok(segments.into_iter().flatten().collect())
}

/// Reads the Linux boot id and the uptime, a clock that never jumps with
/// the wall clock; the uptime has a resolution of 10 ms.
pub fn monotonic() -> Option<redvest_proto::records::Monotonic> {
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    let seconds: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    Some(redvest_proto::records::Monotonic {
        boot_id: boot_id.trim().to_owned(),
        millis: (seconds * 1000.0) as i64,
    })
}

/// Accepts photo files chosen in the file dialog or typed as a path.
pub struct FilePicker;

impl PhotoPicker for FilePicker {
    fn accept(&self, path: PathBuf) -> Result<PathBuf, PlatformError> {
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(path),
            Ok(_) => Err(PlatformError::Photo {
                path,
                source: std::io::ErrorKind::InvalidInput.into(),
            }),
            Err(source) => Err(PlatformError::Photo { path, source }),
        }
    }
}

pub fn photo_picker() -> FilePicker {
    FilePicker
}

/// The session token in the Linux Secret Service, one entry per server.
pub struct KeyringTokens {
    server_url: String,
}

impl KeyringTokens {
    fn entry(&self) -> Result<keyring::Entry, PlatformError> {
        keyring::Entry::new("redvest", &self.server_url).map_err(secret_error)
    }
}

fn secret_error(error: keyring::Error) -> PlatformError {
    match error {
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => {
            PlatformError::NoSecretStore {
                detail: error.to_string(),
            }
        }
        other => PlatformError::SecretStore {
            detail: other.to_string(),
        },
    }
}

impl TokenStore for KeyringTokens {
    fn load(&self) -> Result<Option<String>, PlatformError> {
        match self.entry()?.get_password() {
            Ok(token) => Ok(Some(token)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(secret_error(error)),
        }
    }

    fn save(&self, token: &str) -> Result<(), PlatformError> {
        self.entry()?.set_password(token).map_err(secret_error)
    }

    fn clear(&self) -> Result<(), PlatformError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(secret_error(error)),
        }
    }
}

pub fn token_store(server_url: &str) -> KeyringTokens {
    KeyringTokens {
        server_url: server_url.to_owned(),
    }
}

/// Checks reachability with the probe the phone builds share, which asks the
/// server's health route through the core sync client.
pub fn connectivity(server_url: &str) -> ServerProbe {
    ServerProbe::new(server_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPX: &str = r#"<?xml version="1.0"?>
<gpx version="1.1" creator="test"><trk><trkseg>
<trkpt lat="36.64" lon="117.97"><ele>50</ele><time>2026-09-01T07:30:00Z</time></trkpt>
<trkpt lat="36.641" lon="117.971"><time>2026-09-01T07:30:05Z</time><extensions><x/></extensions></trkpt>
</trkseg></trk></gpx>"#;

    fn write_gpx(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("walk.gpx");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn gpx_points_are_read() {
        let (_dir, path) = write_gpx(GPX);

        let fixes = read_gpx(&path).unwrap();

        assert_eq!(fixes.len(), 2);
        assert_eq!(fixes[1].lat, 36.641);
        assert_eq!((fixes[1].at - fixes[0].at).num_seconds(), 5);
    }

    #[test]
    fn gpx_bad_file_names_path() {
        let (_dir, path) = write_gpx(
            "<gpx><trk><trkseg><trkpt lat=\"99\" lon=\"1\"></trkpt></trkseg></trk></gpx>",
        );

        let error = read_gpx(&path).unwrap_err();

        assert!(error.to_string().contains("walk.gpx"), "{error}");
    }

    #[test]
    fn fast_replay_drains_every_point() {
        let mut config = crate::config::Config::from_env();
        let (_dir, path) = write_gpx(GPX);
        config.gpx = Some(path);
        config.gpx_speed = 1000.0;
        let source = location(&config).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));

        let fixes = source.drain_fixes().unwrap();

        assert_eq!(fixes.len(), 2);
        assert!(fixes
            .iter()
            .all(|fix| fix.provider == "replay" && !fix.mock));
        assert!(source.current_fix().unwrap().is_some_and(|fix| fix.mock));
        assert!(source.drain_fixes().unwrap().is_empty());
    }

    #[test]
    fn missing_secret_service_is_reported() {
        let cases = [
            (
                keyring::Error::PlatformFailure("no D-Bus session".into()),
                true,
            ),
            (
                keyring::Error::NoStorageAccess("keyring locked".into()),
                true,
            ),
            (keyring::Error::TooLong("user".into(), 255), false),
        ];
        for (error, no_store) in cases {
            let text = error.to_string();
            let mapped = secret_error(error);
            assert_eq!(
                matches!(mapped, PlatformError::NoSecretStore { .. }),
                no_store,
                "{text}"
            );
        }
    }
}
