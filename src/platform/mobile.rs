//! The platform-independent half of the Android and iOS implementations.
//!
//! The Kotlin and Swift code keeps device state (buffered location fixes,
//! the network state, the result of a camera or picker session) and hands
//! it to Rust as JSON text through a [`NativeBridge`]. Everything that
//! decides what that text means lives here, compiled on every target, so
//! host tests drive it through a scripted bridge. `android.rs` and `ios.rs`
//! only implement [`NativeBridge`] over the Kotlin and Swift classes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use redvest_core::sync::SyncClient;
use redvest_proto::geo::{is_valid_position, Fix};
use redvest_proto::records::Monotonic;
use serde::Deserialize;

use super::{Connectivity, Location, PhotoPicker, PlatformError, TokenStore};

/// How often the native side is asked for location updates, in milliseconds.
pub const FIX_INTERVAL_MS: i64 = 1_000;

/// The calls that the Kotlin and Swift bridge classes implement.
///
/// Every call returns `Err` with the native error text when the platform
/// call failed. Text results are JSON in the shapes decoded below.
pub trait NativeBridge: Send + Sync {
    /// Starts foreground location updates, asking for permission if needed.
    fn start_location(&self, interval_ms: i64) -> Result<(), String>;
    /// Keeps location running with the screen off: on Android a foreground
    /// service of type location with its notification, on iOS background
    /// updates under "always" permission.
    fn begin_background_location(&self) -> Result<(), String>;
    /// Stops background location and the Android notification.
    fn end_background_location(&self) -> Result<(), String>;
    /// Removes and returns every fix buffered since the last call, as a JSON array.
    fn drain_fixes(&self) -> Result<String, String>;
    /// Returns the network state: `"none"`, `"connected"` or `"validated"`.
    fn network_state(&self) -> Result<String, String>;
    /// Opens the camera (`"camera"`) or the system photo picker (`"library"`).
    fn start_photo(&self, source: &str) -> Result<(), String>;
    /// Returns the finished photo session as JSON, or `None` while it runs.
    fn take_photo_result(&self) -> Result<Option<String>, String>;
    /// Returns `{"boot_id": ..., "millis": ...}` from a clock that counts sleep.
    fn monotonic(&self) -> Result<String, String>;
}

/// One fix as the bridge encodes it.
#[derive(Debug, Deserialize)]
struct NativeFix {
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
    /// The provider's time of the fix, in milliseconds since the Unix epoch.
    time_ms: i64,
    speed_mps: Option<f64>,
    bearing_deg: Option<f64>,
    provider: String,
    /// Android `Location.isMock()` (API 31+) or `isFromMockProvider()`; iOS
    /// `CLLocationSourceInformation.isSimulatedBySoftware` (iOS 15+).
    #[serde(default)]
    mock: bool,
}

fn native_error(capability: &'static str, detail: String) -> PlatformError {
    PlatformError::Native { capability, detail }
}

/// Decodes the JSON array of fixes that [`NativeBridge::drain_fixes`] returns.
///
/// A fix with an invalid position, a negative or non-finite accuracy, or a
/// time out of range is dropped with a warning, because one bad sample must
/// not discard the rest of the batch.
pub fn decode_fixes(json: &str) -> Result<Vec<Fix>, PlatformError> {
    let batch: Vec<NativeFix> = serde_json::from_str(json)
        .map_err(|error| native_error("location", format!("invalid fix batch: {error}")))?;
    let fixes = batch
        .into_iter()
        .filter_map(|native| {
            let fix = to_fix(native);
            if fix.is_none() {
                tracing::warn!("dropped a fix with an invalid position, accuracy or time");
            }
            fix
        })
        .collect();
    Ok(fixes)
}

fn to_fix(native: NativeFix) -> Option<Fix> {
    if !is_valid_position(native.lat, native.lon) {
        return None;
    }
    let accuracy_m = match native.accuracy_m {
        Some(value) if !value.is_finite() || value < 0.0 => return None,
        other => other,
    };
    let at = Utc.timestamp_millis_opt(native.time_ms).single()?;
    let finite = |value: Option<f64>| value.filter(|number| number.is_finite());

    Some(Fix {
        lat: native.lat,
        lon: native.lon,
        accuracy_m,
        at,
        speed_mps: finite(native.speed_mps),
        bearing_deg: finite(native.bearing_deg),
        provider: native.provider,
        mock: native.mock,
    })
}

/// The maximum number of fixes kept for the app between two drains: two hours at one
/// fix a second, plus margin. Older fixes are dropped first, with a warning.
const MAX_PENDING_FIXES: usize = 10_000;

/// Location from the phone's sensor, or a position the member typed.
pub struct BridgeLocation<B> {
    bridge: B,
    started: AtomicBool,
    state: Mutex<LocationState>,
}

#[derive(Default)]
struct LocationState {
    /// Fixes drained from the bridge and not yet handed to the app.
    pending: Vec<Fix>,
    newest: Option<Fix>,
    typed: Option<Fix>,
}

impl<B: NativeBridge> BridgeLocation<B> {
    pub fn new(bridge: B) -> Self {
        Self {
            bridge,
            started: AtomicBool::new(false),
            state: Mutex::new(LocationState::default()),
        }
    }

    /// Starts updates on first use, so that the permission prompt appears
    /// when the member first needs a position and not at app start.
    fn ensure_started(&self) -> Result<(), PlatformError> {
        if self.started.load(Ordering::Acquire) {
            return Ok(());
        }
        self.bridge
            .start_location(FIX_INTERVAL_MS)
            .map_err(|detail| native_error("location", detail))?;
        self.started.store(true, Ordering::Release);
        tracing::info!("location updates started");
        Ok(())
    }

    fn pull(&self) -> Result<std::sync::MutexGuard<'_, LocationState>, PlatformError> {
        self.ensure_started()?;
        let json = self
            .bridge
            .drain_fixes()
            .map_err(|detail| native_error("location", detail))?;
        let fixes = decode_fixes(&json)?;

        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for fix in fixes {
            let newer = state.newest.as_ref().is_none_or(|seen| fix.at >= seen.at);
            if newer {
                state.newest = Some(fix.clone());
            }
            state.pending.push(fix);
        }
        let excess = state.pending.len().saturating_sub(MAX_PENDING_FIXES);
        if excess > 0 {
            tracing::warn!(dropped = excess, "fix buffer full, oldest fixes dropped");
            state.pending.drain(..excess);
        }
        Ok(state)
    }
}

impl<B: NativeBridge> Location for BridgeLocation<B> {
    /// Returns the newer of the newest sensor fix and the typed position.
    fn current_fix(&self) -> Result<Option<Fix>, PlatformError> {
        let state = self.pull()?;
        let newest = match (&state.newest, &state.typed) {
            (Some(sensor), Some(typed)) if typed.at > sensor.at => Some(typed.clone()),
            (Some(sensor), _) => Some(sensor.clone()),
            (None, typed) => typed.clone(),
        };
        Ok(newest)
    }

    fn set_typed(&self, lat: f64, lon: f64) -> Result<(), PlatformError> {
        if !is_valid_position(lat, lon) {
            return Err(PlatformError::InvalidPosition { lat, lon });
        }
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        state.typed = Some(Fix::new(lat, lon, None, Utc::now(), "typed"));
        Ok(())
    }

    fn drain_fixes(&self) -> Result<Vec<Fix>, PlatformError> {
        let mut state = self.pull()?;
        Ok(std::mem::take(&mut state.pending))
    }

    fn begin_background(&self) -> Result<(), PlatformError> {
        self.ensure_started()?;
        self.bridge
            .begin_background_location()
            .map_err(|detail| native_error("background location", detail))?;
        tracing::info!("background location started");
        Ok(())
    }

    fn end_background(&self) -> Result<(), PlatformError> {
        self.bridge
            .end_background_location()
            .map_err(|detail| native_error("background location", detail))?;
        tracing::info!("background location stopped");
        Ok(())
    }
}

/// Reads the monotonic clock through the bridge; `None` when it fails.
pub fn bridge_monotonic<B: NativeBridge>(bridge: &B) -> Option<Monotonic> {
    #[derive(Deserialize)]
    struct Reading {
        boot_id: String,
        millis: i64,
    }

    let json = match bridge.monotonic() {
        Ok(json) => json,
        Err(detail) => {
            tracing::warn!(%detail, "monotonic clock unavailable");
            return None;
        }
    };
    let reading: Reading = serde_json::from_str(&json).ok()?;
    if reading.boot_id.is_empty() || reading.millis < 0 {
        return None;
    }
    Some(Monotonic {
        boot_id: reading.boot_id,
        millis: reading.millis,
    })
}

/// The network as the operating system reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkState {
    /// No network at all (flight mode, no signal).
    None,
    /// A network that the system has not validated, such as a captive portal.
    Connected,
    /// A network on which the system reached the internet.
    Validated,
}

impl NetworkState {
    /// Parses the bridge's state word.
    pub fn parse(word: &str) -> Result<Self, PlatformError> {
        match word.trim() {
            "none" => Ok(Self::None),
            "connected" => Ok(Self::Connected),
            "validated" => Ok(Self::Validated),
            other => Err(native_error(
                "connectivity",
                format!("unknown network state {other:?}; expected none, connected or validated"),
            )),
        }
    }
}

/// Reachability from the system's network callback plus a probe of the server.
///
/// With no network the result is `false` at once, so a phone in a dead
/// zone does not wait for an HTTP timeout. Otherwise the server decides,
/// because a validated network can still fail to reach our server.
pub struct BridgeConnectivity<B, P> {
    bridge: B,
    probe: P,
}

impl<B: NativeBridge, P: Connectivity> BridgeConnectivity<B, P> {
    pub fn new(bridge: B, probe: P) -> Self {
        Self { bridge, probe }
    }
}

impl<B: NativeBridge, P: Connectivity> Connectivity for BridgeConnectivity<B, P> {
    async fn check(&self) -> bool {
        let state = self
            .bridge
            .network_state()
            .map_err(|detail| native_error("connectivity", detail))
            .and_then(|word| NetworkState::parse(&word));
        match state {
            Ok(NetworkState::None) => false,
            Ok(_) => self.probe.check().await,
            Err(error) => {
                // The probe still gives a correct result when the callback fails.
                tracing::warn!(%error, "network state unavailable, probing the server");
                self.probe.check().await
            }
        }
    }
}

/// Checks reachability with `GET /v1/health` through the core sync client,
/// which owns every network connection the app makes.
pub struct ServerProbe {
    client: Option<SyncClient>,
}

impl ServerProbe {
    pub fn new(server_url: &str) -> Self {
        let client = SyncClient::new(server_url)
            .inspect_err(
                |error| tracing::warn!(%error, "invalid server address, reporting offline"),
            )
            .ok();
        Self { client }
    }
}

impl Connectivity for ServerProbe {
    async fn check(&self) -> bool {
        let Some(client) = &self.client else {
            return false;
        };
        match client.health().await {
            Ok(_) => true,
            Err(error) => {
                tracing::debug!(%error, "server unreachable");
                false
            }
        }
    }
}

/// The source of a new photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoSource {
    Camera,
    Library,
}

impl PhotoSource {
    fn word(self) -> &'static str {
        match self {
            Self::Camera => "camera",
            Self::Library => "library",
        }
    }
}

/// The end of a camera or picker session as the bridge reports it.
#[derive(Debug, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum PhotoOutcome {
    /// The photo was written to `path` inside the app's own storage.
    Saved {
        path: PathBuf,
    },
    Cancelled,
    Failed {
        detail: String,
    },
}

/// How often a running photo session is polled.
const PHOTO_POLL: Duration = Duration::from_millis(200);

/// Camera capture and photo picking through the bridge.
pub struct BridgePhotos<B> {
    bridge: B,
}

impl<B: NativeBridge> BridgePhotos<B> {
    pub fn new(bridge: B) -> Self {
        Self { bridge }
    }

    /// Opens the camera or picker and waits until the member finishes.
    ///
    /// Returns `Ok(None)` when the member cancels. The session has no time
    /// limit, because the member may take minutes to frame a photo.
    pub async fn take(&self, source: PhotoSource) -> Result<Option<PathBuf>, PlatformError> {
        self.bridge
            .start_photo(source.word())
            .map_err(|detail| native_error("photo", detail))?;
        loop {
            let result = self
                .bridge
                .take_photo_result()
                .map_err(|detail| native_error("photo", detail))?;
            if let Some(json) = result {
                return self.finish(&json);
            }
            tokio::time::sleep(PHOTO_POLL).await;
        }
    }

    fn finish(&self, json: &str) -> Result<Option<PathBuf>, PlatformError> {
        let outcome: PhotoOutcome = serde_json::from_str(json)
            .map_err(|error| native_error("photo", format!("invalid photo result: {error}")))?;
        match outcome {
            PhotoOutcome::Saved { path } => self.accept(path).map(Some),
            PhotoOutcome::Cancelled => Ok(None),
            PhotoOutcome::Failed { detail } => Err(native_error("photo", detail)),
        }
    }
}

impl<B: NativeBridge> PhotoPicker for BridgePhotos<B> {
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

/// The secret store that keeps the sign-in token on a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenBackend {
    /// Android Keystore key encrypting a SharedPreferences file
    /// (`android-native-keyring-store`).
    AndroidKeystore,
    /// The iOS data-protection keychain (`apple-native-keyring-store`).
    AppleKeychain,
    /// The freedesktop Secret Service over D-Bus (`keyring` 3).
    SecretService,
    /// No store: the token lives in memory until the app stops.
    Memory,
}

impl TokenBackend {
    /// Tells whether a token saved here survives an app restart.
    pub fn is_persistent(self) -> bool {
        !matches!(self, Self::Memory)
    }

    /// Returns the backend that this build uses for `target_os`, mirroring
    /// the `cfg` choices in `platform/mod.rs` and `Cargo.toml`.
    pub fn for_target_os(target_os: &str) -> Self {
        match target_os {
            "android" => Self::AndroidKeystore,
            "ios" => Self::AppleKeychain,
            "linux" => Self::SecretService,
            _ => Self::Memory,
        }
    }
}

/// The sign-in token in a `keyring-core` credential store, one entry per server.
///
/// The store is whatever `keyring_core::set_default_store` installed: the
/// native store on a phone, the in-memory sample store in host tests.
pub struct KeyringCoreTokens {
    server_url: String,
}

impl KeyringCoreTokens {
    pub fn new(server_url: &str) -> Self {
        Self {
            server_url: server_url.to_owned(),
        }
    }

    fn entry(&self) -> Result<keyring_core::Entry, PlatformError> {
        keyring_core::Entry::new("redvest", &self.server_url).map_err(secret_error)
    }
}

fn secret_error(error: keyring_core::Error) -> PlatformError {
    match error {
        keyring_core::Error::NoDefaultStore
        | keyring_core::Error::PlatformFailure(_)
        | keyring_core::Error::NoStorageAccess(_) => PlatformError::NoSecretStore {
            detail: error.to_string(),
        },
        other => PlatformError::SecretStore {
            detail: other.to_string(),
        },
    }
}

impl TokenStore for KeyringCoreTokens {
    fn load(&self) -> Result<Option<String>, PlatformError> {
        match self.entry()?.get_password() {
            Ok(token) => Ok(Some(token)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(error) => Err(secret_error(error)),
        }
    }

    fn save(&self, token: &str) -> Result<(), PlatformError> {
        self.entry()?.set_password(token).map_err(secret_error)
    }

    fn clear(&self) -> Result<(), PlatformError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(error) => Err(secret_error(error)),
        }
    }
}

/// Returns the time of a fix as the bridge encodes it, for tests and fakes.
pub fn to_time_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}
