//! Android implementations: [`NativeBridge`] over the Kotlin class
//! `org.redvest.bridge.RedvestBridge` (sources under `android/`), plus the
//! sign-in token in the Android Keystore through keyring-core.
//!
//! NOTE: this file has been type-checked for aarch64-linux-android only; it
//! has not run on a device or an emulator.

use std::path::PathBuf;
use std::sync::OnceLock;

use manganis::jni::objects::{JClass, JObject, JString, JValue};
use manganis::jni::JNIEnv;
use redvest_proto::records::Monotonic;

use super::mobile::{
    bridge_monotonic, BridgeConnectivity, BridgeLocation, BridgePhotos, KeyringCoreTokens,
    NativeBridge, ServerProbe,
};
use super::PlatformError;
use crate::config::Config;

/// The Kotlin class, loaded through the activity's class loader because a
/// native thread's `FindClass` only sees system classes.
const BRIDGE_CLASS: &str = "org.redvest.bridge.RedvestBridge";

// Declares the Kotlin methods; `dx` also reads this block's link-section
// metadata to build `android/` as a Gradle module of the APK. The namespace
// comes from `android/build.gradle.kts`.
#[manganis::ffi("android")]
extern "Kotlin" {
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

/// Returns the shared Kotlin bridge, creating it on first use.
fn bridge() -> Result<&'static RedvestBridge, String> {
    if let Some(bridge) = BRIDGE.get() {
        return Ok(bridge);
    }
    let created = manganis::android::with_activity(|env, activity| Some(new_bridge(env, activity)))
        .unwrap_or_else(|| Err("no JNI environment or activity is available yet".to_owned()))?;
    tracing::info!(class = BRIDGE_CLASS, "native bridge created");
    Ok(BRIDGE.get_or_init(|| created))
}

fn new_bridge(env: &mut JNIEnv<'_>, activity: &JObject<'_>) -> Result<RedvestBridge, String> {
    let result = load_and_construct(env, activity);
    if result.is_err() && env.exception_check().unwrap_or(false) {
        // A pending Java exception would abort the next JNI call.
        let _ = env.exception_describe();
        let _ = env.exception_clear();
    }
    result.map_err(|error| format!("cannot create {BRIDGE_CLASS}: {error}"))
}

fn load_and_construct(
    env: &mut JNIEnv<'_>,
    activity: &JObject<'_>,
) -> manganis::jni::errors::Result<RedvestBridge> {
    let name = env.new_string(BRIDGE_CLASS)?;
    // WryActivity.getAppClass runs Class.forName with the app's class loader.
    let class = env
        .call_method(
            activity,
            "getAppClass",
            "(Ljava/lang/String;)Ljava/lang/Class;",
            &[JValue::Object(&name)],
        )?
        .l()?;
    let class = JClass::from(class);
    let instance = env.new_object(
        &class,
        "(Landroid/app/Activity;)V",
        &[JValue::Object(activity)],
    )?;
    let global = env.new_global_ref(instance)?;
    Ok(RedvestBridge::from_global_ref(global))
}

/// Turns a Kotlin `String?` status (null on success) into a result.
fn status(result: Result<Option<String>, String>) -> Result<(), String> {
    match result? {
        None => Ok(()),
        Some(detail) => Err(detail),
    }
}

/// The [`NativeBridge`] backed by the Kotlin class.
#[derive(Clone, Copy)]
pub struct AndroidBridge;

impl NativeBridge for AndroidBridge {
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
        drain_fixes(bridge()?)
    }

    fn network_state(&self) -> Result<String, String> {
        network_state(bridge()?)
    }

    fn start_photo(&self, source: &str) -> Result<(), String> {
        status(start_photo(bridge()?, source))
    }

    fn take_photo_result(&self) -> Result<Option<String>, String> {
        take_photo_result(bridge()?)
    }

    fn monotonic(&self) -> Result<String, String> {
        monotonic_clock(bridge()?)
    }
}

/// Builds the location source; the Kotlin side starts on first use.
pub fn location(_config: &Config) -> Result<BridgeLocation<AndroidBridge>, PlatformError> {
    Ok(BridgeLocation::new(AndroidBridge))
}

/// Reads `SystemClock.elapsedRealtime()` with the boot count as boot id.
pub fn monotonic() -> Option<Monotonic> {
    bridge_monotonic(&AndroidBridge)
}

pub fn photo_picker() -> BridgePhotos<AndroidBridge> {
    BridgePhotos::new(AndroidBridge)
}

/// Installs the Android Keystore store as keyring-core's default, once.
fn install_token_store() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let store = android_native_keyring_store::Store::new()
                .map_err(|error| format!("android keystore unavailable: {error}"))?;
            keyring_core::set_default_store(store);
            tracing::info!("token store: android keystore");
            Ok(())
        })
        .clone()
}

/// The token store; if the Keystore cannot be opened, every call fails
/// with [`PlatformError::NoSecretStore`] and the session stays in memory.
pub fn token_store(server_url: &str) -> KeyringCoreTokens {
    if let Err(detail) = install_token_store() {
        tracing::error!(%detail, "no secure token store");
    }
    KeyringCoreTokens::new(server_url)
}

pub fn connectivity(server_url: &str) -> BridgeConnectivity<AndroidBridge, ServerProbe> {
    BridgeConnectivity::new(AndroidBridge, ServerProbe::new(server_url))
}

/// Returns the app's private files folder (`Context.getFilesDir()`).
pub fn data_dir() -> Option<PathBuf> {
    manganis::android::with_activity(|env, activity| {
        let folder = env
            .call_method(activity, "getFilesDir", "()Ljava/io/File;", &[])
            .and_then(|value| value.l())
            .ok()?;
        let path = env
            .call_method(&folder, "getAbsolutePath", "()Ljava/lang/String;", &[])
            .and_then(|value| value.l())
            .ok()?;
        let path = JString::from(path);
        let path: String = env.get_string(&path).ok()?.into();
        Some(PathBuf::from(path))
    })
}
