//! iOS implementations: [`NativeBridge`] over the Swift class
//! `RedvestBridge` (the Swift package under `ios/`), plus the sign-in token
//! in the data-protection keychain through keyring-core.
//!
//! NOTE: this file has been type-checked for aarch64-apple-ios only; it has
//! not run on a device or a simulator.

use std::sync::OnceLock;

use redvest_proto::records::Monotonic;

use super::mobile::{
    bridge_monotonic, BridgeConnectivity, BridgeLocation, BridgePhotos, KeyringCoreTokens,
    NativeBridge, ServerProbe,
};
use super::PlatformError;
use crate::config::Config;

// Declares the Swift methods. Every method returns an `NSString`, because
// the generated call reads the result as an object pointer: a `nil` status
// means success. `dx` reads this block's metadata to build `ios/` into the
// app's DioxusSwiftPlugins framework.
#[manganis::ffi("ios")]
extern "Swift" {
    pub type RedvestBridge;

    pub fn start_location(this: &RedvestBridge, interval_ms: i64) -> Option<String>;
    pub fn begin_background_location(this: &RedvestBridge) -> Option<String>;
    pub fn end_background_location(this: &RedvestBridge) -> Option<String>;
    pub fn drain_fixes(this: &RedvestBridge) -> String;
    pub fn network_state(this: &RedvestBridge) -> String;
    pub fn start_photo(this: &RedvestBridge, source: &str) -> Option<String>;
    pub fn take_photo_result(this: &RedvestBridge) -> Option<String>;
    pub fn monotonic_clock(this: &RedvestBridge) -> String;
}

static BRIDGE: OnceLock<RedvestBridge> = OnceLock::new();

/// Returns the shared Swift bridge, creating it on first use.
fn bridge() -> Result<&'static RedvestBridge, String> {
    if let Some(bridge) = BRIDGE.get() {
        return Ok(bridge);
    }
    let created = RedvestBridge::new()
        .map_err(|detail| format!("cannot create the Swift RedvestBridge: {detail}"))?;
    tracing::info!("native bridge created");
    Ok(BRIDGE.get_or_init(|| created))
}

/// Turns a Swift `String?` status (nil on success) into a result.
fn status(result: Result<Option<String>, &'static str>) -> Result<(), String> {
    match result {
        Ok(None) => Ok(()),
        Ok(Some(detail)) => Err(detail),
        Err(detail) => Err(detail.to_owned()),
    }
}

fn text<T>(result: Result<T, &'static str>) -> Result<T, String> {
    result.map_err(str::to_owned)
}

/// The [`NativeBridge`] backed by the Swift class.
#[derive(Clone, Copy)]
pub struct IosBridge;

impl NativeBridge for IosBridge {
    fn start_location(&self, interval_ms: i64) -> Result<(), String> {
        status(start_location(bridge()?, interval_ms))
    }

    fn begin_background_location(&self) -> Result<(), String> {
        status(begin_background_location(bridge()?))
    }

    fn end_background_location(&self) -> Result<(), String> {
        status(end_background_location(bridge()?))
    }

    fn drain_fixes(&self) -> Result<String, String> {
        text(drain_fixes(bridge()?))
    }

    fn network_state(&self) -> Result<String, String> {
        text(network_state(bridge()?))
    }

    fn start_photo(&self, source: &str) -> Result<(), String> {
        status(start_photo(bridge()?, source))
    }

    fn take_photo_result(&self) -> Result<Option<String>, String> {
        text(take_photo_result(bridge()?))
    }

    fn monotonic(&self) -> Result<String, String> {
        text(monotonic_clock(bridge()?))
    }
}

/// Builds the location source; the Swift side starts on first use.
pub fn location(_config: &Config) -> Result<BridgeLocation<IosBridge>, PlatformError> {
    Ok(BridgeLocation::new(IosBridge))
}

/// Reads `CLOCK_MONOTONIC` (which counts sleep on Darwin) with
/// `kern.bootsessionuuid` as boot id.
pub fn monotonic() -> Option<Monotonic> {
    bridge_monotonic(&IosBridge)
}

pub fn photo_picker() -> BridgePhotos<IosBridge> {
    BridgePhotos::new(IosBridge)
}

/// Installs the data-protection keychain as keyring-core's default, once.
fn install_token_store() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(
        || match apple_native_keyring_store::protected::Store::new() {
            Ok(store) => {
                keyring_core::set_default_store(store);
                tracing::info!("token store: ios keychain");
            }
            Err(error) => tracing::error!(%error, "no secure token store"),
        },
    );
}

/// The token store in the app's default keychain access group, not synced
/// to iCloud, so the token stays on this phone.
pub fn token_store(server_url: &str) -> KeyringCoreTokens {
    install_token_store();
    KeyringCoreTokens::new(server_url)
}

pub fn connectivity(server_url: &str) -> BridgeConnectivity<IosBridge, ServerProbe> {
    BridgeConnectivity::new(IosBridge, ServerProbe::new(server_url))
}
