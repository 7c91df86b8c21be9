//! The phone half of the platform seam, driven on the host through a
//! scripted [`NativeBridge`] that takes the place of the Kotlin or Swift
//! class on a device: fix batches with mock flags and gaps, a camera that
//! writes a real JPEG, the token in a keyring-core store, and a network
//! flip after which queued records reach a real server. The last tests
//! check the Android dependency tree for the two traps that only show on a
//! phone.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use redvest::platform::mobile::{
    decode_fixes, BridgeConnectivity, BridgeLocation, BridgePhotos, KeyringCoreTokens,
    NativeBridge, PhotoSource, ServerProbe, TokenBackend,
};
use redvest::platform::{Connectivity, Location, PlatformError, TokenStore};
use redvest_core::store::Store;
use redvest_core::sync::{sync_once, SyncClient};
use redvest_proto::geo::Fix;
use redvest_proto::records::PatrolMode;
use serde_json::json;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// What the scripted bridge does, shared with the test that drives it.
#[derive(Default)]
struct Script {
    /// JSON fix batches returned by successive `drain_fixes` calls; empty
    /// once used up, like a phone that has no new fix.
    batches: VecDeque<String>,
    /// Errors returned by successive `start_location` calls before success.
    start_errors: VecDeque<String>,
    starts: usize,
    background: Vec<&'static str>,
    network: String,
    /// The file the camera writes when a photo session starts.
    camera_output: Option<PathBuf>,
    photo_results: VecDeque<Option<String>>,
    photo_sources: Vec<String>,
}

#[derive(Clone, Default)]
struct ScriptedBridge(Arc<Mutex<Script>>);

impl ScriptedBridge {
    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.0.lock().unwrap()
    }
}

impl NativeBridge for ScriptedBridge {
    fn start_location(&self, _interval_ms: i64) -> Result<(), String> {
        let mut script = self.script();
        script.starts += 1;
        match script.start_errors.pop_front() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn begin_background_location(&self) -> Result<(), String> {
        self.script().background.push("begin");
        Ok(())
    }

    fn end_background_location(&self) -> Result<(), String> {
        self.script().background.push("end");
        Ok(())
    }

    fn drain_fixes(&self) -> Result<String, String> {
        Ok(self
            .script()
            .batches
            .pop_front()
            .unwrap_or_else(|| "[]".to_owned()))
    }

    fn network_state(&self) -> Result<String, String> {
        Ok(self.script().network.clone())
    }

    fn start_photo(&self, source: &str) -> Result<(), String> {
        let mut script = self.script();
        script.photo_sources.push(source.to_owned());
        if let Some(path) = &script.camera_output {
            write_jpeg(path);
        }
        Ok(())
    }

    fn take_photo_result(&self) -> Result<Option<String>, String> {
        Ok(self.script().photo_results.pop_front().unwrap_or(None))
    }

    fn monotonic(&self) -> Result<String, String> {
        Ok(json!({"boot_id": "test-boot", "millis": 42}).to_string())
    }
}

/// Builds one fix in the bridge's JSON shape, `seconds` after a fixed start.
fn native_fix(seconds: i64, lat: f64, mock: bool) -> serde_json::Value {
    let at = Utc.with_ymd_and_hms(2026, 9, 1, 19, 0, 0).unwrap() + Duration::seconds(seconds);
    json!({
        "lat": lat,
        "lon": 117.12,
        "accuracy_m": 6.5,
        "time_ms": at.timestamp_millis(),
        "speed_mps": 1.4,
        "bearing_deg": null,
        "provider": "gps",
        "mock": mock,
    })
}

fn batch(fixes: &[serde_json::Value]) -> String {
    serde_json::Value::Array(fixes.to_vec()).to_string()
}

fn write_jpeg(path: &Path) {
    let pixels =
        image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    pixels.save(path).unwrap();
}

fn location_with(batches: &[String]) -> (ScriptedBridge, BridgeLocation<ScriptedBridge>) {
    let bridge = ScriptedBridge::default();
    bridge.script().batches = batches.iter().cloned().collect();
    (bridge.clone(), BridgeLocation::new(bridge))
}

#[test]
fn fix_decoding_keeps_mock_flag_and_time() {
    let fixes = decode_fixes(&batch(&[
        native_fix(0, 36.65, false),
        native_fix(1, 36.651, true),
    ]))
    .unwrap();

    assert_eq!(fixes.len(), 2);
    assert!(!fixes[0].mock);
    assert!(fixes[1].mock);
    assert_eq!(fixes[0].accuracy_m, Some(6.5));
    assert_eq!(fixes[0].provider, "gps");
    assert_eq!(fixes[0].bearing_deg, None);
    assert_eq!((fixes[1].at - fixes[0].at).num_seconds(), 1);
}

#[test]
fn fix_decoding_drops_invalid_samples() {
    let mut bad_latitude = native_fix(0, 36.65, false);
    bad_latitude["lat"] = json!(91.0);
    let mut negative_accuracy = native_fix(1, 36.65, false);
    negative_accuracy["accuracy_m"] = json!(-3.0);
    let cases = [
        ("latitude out of range", bad_latitude),
        ("negative accuracy", negative_accuracy),
    ];

    for (name, bad) in cases {
        let fixes = decode_fixes(&batch(&[bad, native_fix(2, 36.652, false)])).unwrap();
        assert_eq!(fixes.len(), 1, "{name}: only the good fix is kept");
    }
}

#[test]
fn fix_decoding_rejects_malformed_batch() {
    let result = decode_fixes("{\"lat\": 1}");

    assert!(matches!(
        result,
        Err(PlatformError::Native {
            capability: "location",
            ..
        })
    ));
}

#[test]
fn fix_stream_with_gap_keeps_every_fix() {
    let (_bridge, location) = location_with(&[
        batch(&[native_fix(0, 36.650, false), native_fix(1, 36.651, false)]),
        batch(&[]),
        batch(&[native_fix(40, 36.653, true)]),
    ]);

    let first = location.drain_fixes().unwrap();
    let during_gap = location.drain_fixes().unwrap();
    let after_gap = location.drain_fixes().unwrap();

    assert_eq!(first.len(), 2);
    assert!(during_gap.is_empty());
    assert_eq!(after_gap.len(), 1);
    assert!(after_gap[0].mock, "the mock flag survives the seam");
}

#[test]
fn current_fix_during_gap_is_last_fix() {
    let (_bridge, location) = location_with(&[batch(&[native_fix(0, 36.650, false)])]);

    let before = location.current_fix().unwrap().unwrap();
    let during_gap = location.current_fix().unwrap().unwrap();

    assert_eq!(during_gap, before);
}

#[test]
fn current_fix_leaves_fixes_for_drain() {
    let (_bridge, location) = location_with(&[batch(&[
        native_fix(0, 36.650, false),
        native_fix(1, 36.651, false),
    ])]);

    let newest = location.current_fix().unwrap().unwrap();
    let drained = location.drain_fixes().unwrap();

    assert_eq!(newest.lat, 36.651);
    assert_eq!(drained.len(), 2);
}

#[test]
fn late_fix_does_not_replace_newest() {
    let (_bridge, location) = location_with(&[batch(&[
        native_fix(10, 36.651, false),
        native_fix(5, 36.650, false),
    ])]);

    let newest = location.current_fix().unwrap().unwrap();

    assert_eq!(newest.lat, 36.651);
}

#[test]
fn location_start_retries_after_denial() {
    let (bridge, location) = location_with(&[batch(&[native_fix(0, 36.65, false)])]);
    bridge
        .script()
        .start_errors
        .push_back("waiting for location permission".to_owned());

    let denied = location.current_fix();
    let granted = location.current_fix();
    let again = location.current_fix();

    assert!(matches!(
        denied,
        Err(PlatformError::Native {
            capability: "location",
            ..
        })
    ));
    assert!(granted.unwrap().is_some());
    assert!(again.is_ok());
    assert_eq!(
        bridge.script().starts,
        2,
        "no start after the first success"
    );
}

#[test]
fn typed_position_until_newer_sensor_fix() {
    let (bridge, location) = location_with(&[batch(&[native_fix(0, 36.65, false)])]);

    location.set_typed(36.70, 117.10).unwrap();
    let typed = location.current_fix().unwrap().unwrap();
    let recent = json!({
        "lat": 36.66, "lon": 117.12, "accuracy_m": 5.0,
        "time_ms": (Utc::now() + Duration::seconds(5)).timestamp_millis(),
        "speed_mps": null, "bearing_deg": null, "provider": "gps", "mock": false,
    });
    bridge.script().batches.push_back(batch(&[recent]));
    let sensor = location.current_fix().unwrap().unwrap();

    assert_eq!(typed.provider, "typed");
    assert_eq!(sensor.provider, "gps");
}

#[test]
fn typed_position_out_of_range_rejected() {
    let (_bridge, location) = location_with(&[]);

    let result = location.set_typed(120.0, 0.0);

    assert!(matches!(result, Err(PlatformError::InvalidPosition { .. })));
}

#[test]
fn background_location_begins_and_ends() {
    let (bridge, location) = location_with(&[]);

    location.begin_background().unwrap();
    location.end_background().unwrap();

    assert_eq!(bridge.script().background, ["begin", "end"]);
    assert_eq!(
        bridge.script().starts,
        1,
        "background starts foreground updates first"
    );
}

#[tokio::test]
async fn camera_returns_fixture_photo() {
    let dir = TempDir::new().unwrap();
    let output = dir.path().join("capture.jpg");
    let bridge = ScriptedBridge::default();
    {
        let mut script = bridge.script();
        script.camera_output = Some(output.clone());
        let saved = json!({"status": "saved", "path": output}).to_string();
        script.photo_results = VecDeque::from([None, None, Some(saved)]);
    }
    let photos = BridgePhotos::new(bridge.clone());

    let path = photos.take(PhotoSource::Camera).await.unwrap().unwrap();

    assert_eq!(path, output);
    assert_eq!(bridge.script().photo_sources, ["camera"]);
    let decoded = image::open(&path).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (64, 48));
}

#[tokio::test]
async fn photo_session_outcomes() {
    let missing = json!({"status": "saved", "path": "/nonexistent/redvest/photo.jpg"});
    let cases = [
        ("cancelled", json!({"status": "cancelled"}), "cancelled"),
        (
            "failed",
            json!({"status": "failed", "detail": "no camera app"}),
            "native",
        ),
        ("saved but missing", missing, "photo"),
    ];

    for (name, outcome, expected) in cases {
        let bridge = ScriptedBridge::default();
        bridge.script().photo_results = VecDeque::from([Some(outcome.to_string())]);
        let result = BridgePhotos::new(bridge).take(PhotoSource::Library).await;

        let kind = match result {
            Ok(None) => "cancelled",
            Ok(Some(_)) => "saved",
            Err(PlatformError::Native { .. }) => "native",
            Err(PlatformError::Photo { .. }) => "photo",
            Err(_) => "other",
        };
        assert_eq!(kind, expected, "{name}");
    }
}

#[test]
fn token_store_round_trip() {
    let store = keyring_core::sample::Store::new().unwrap();
    keyring_core::set_default_store(store);
    let tokens = KeyringCoreTokens::new("http://127.0.0.1:8080");
    let other_server = KeyringCoreTokens::new("http://127.0.0.1:9090");

    let before = tokens.load().unwrap();
    tokens.save("session-token-1").unwrap();
    let saved = tokens.load().unwrap();
    let elsewhere = other_server.load().unwrap();
    tokens.clear().unwrap();
    let cleared = tokens.load().unwrap();
    let cleared_twice = tokens.clear();

    assert_eq!(before, None);
    assert_eq!(saved.as_deref(), Some("session-token-1"));
    assert_eq!(elsewhere, None, "one entry per server");
    assert_eq!(cleared, None);
    assert!(cleared_twice.is_ok());
}

#[test]
fn token_backend_persistent_on_phones() {
    let cases = [
        ("android", TokenBackend::AndroidKeystore),
        ("ios", TokenBackend::AppleKeychain),
        ("linux", TokenBackend::SecretService),
    ];

    for (target_os, expected) in cases {
        let backend = TokenBackend::for_target_os(target_os);
        assert_eq!(backend, expected, "{target_os}");
        assert!(
            backend.is_persistent(),
            "{target_os} keeps the token across restarts"
        );
    }
    assert!(!TokenBackend::for_target_os("windows").is_persistent());
}

/// A probe that counts its calls and returns a fixed result.
struct CountingProbe {
    calls: Arc<AtomicUsize>,
    answer: bool,
}

impl Connectivity for CountingProbe {
    async fn check(&self) -> bool {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.answer
    }
}

#[tokio::test]
async fn no_network_answers_without_probe() {
    let cases = [
        ("none", false, 0),
        ("connected", true, 1),
        ("validated", true, 1),
        ("garbled", true, 1),
    ];

    for (state, expected, probes) in cases {
        let bridge = ScriptedBridge::default();
        bridge.script().network = state.to_owned();
        let calls = Arc::new(AtomicUsize::new(0));
        let probe = CountingProbe {
            calls: calls.clone(),
            answer: true,
        };

        let reachable = BridgeConnectivity::new(bridge, probe).check().await;

        assert_eq!(reachable, expected, "{state}");
        assert_eq!(calls.load(Ordering::SeqCst), probes, "{state}: probe calls");
    }
}

/// A seeded Redvest server on 127.0.0.1 port 0; it stops when dropped.
struct TestServer {
    _dir: TempDir,
    url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    async fn start() -> Self {
        let dir = TempDir::new().unwrap();
        let store = Arc::new(redvest_server::SqliteStore::open(dir.path()).unwrap());
        redvest_server::seed::seed_demo(store.as_ref()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(redvest_server::serve::serve(listener, store, async {
            let _ = stopped.await;
        }));
        Self {
            _dir: dir,
            url,
            stop: Some(stop),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_flip_starts_sync() {
    let server = TestServer::start().await;
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path().join("phone.db")).unwrap();
    let client = SyncClient::new(&server.url).unwrap();
    let session = client
        .sign_in(
            "13800000002",
            redvest_server::seed::DEMO_PASSWORD,
            store.device_id().unwrap(),
        )
        .await
        .unwrap();
    store.set_session(&session.member, &server.url).unwrap();
    let bridge = ScriptedBridge::default();
    bridge.script().network = "none".to_owned();
    let connectivity = BridgeConnectivity::new(bridge.clone(), ServerProbe::new(&server.url));

    // Captured in a dead zone: the record waits in the outbox.
    let patrol = store.start_patrol(PatrolMode::Walking, None).unwrap();
    store
        .record_fix(
            patrol,
            &Fix::new(36.65, 117.12, Some(5.0), Utc::now(), "gps"),
        )
        .unwrap();
    store.stop_patrol(patrol).unwrap();
    let offline = connectivity.check().await;
    let pending_offline = store.sync_status().unwrap().pending;

    // The signal returns: the same watch the app runs turns the flip into a sync.
    bridge.script().network = "validated".to_owned();
    let online = connectivity.check().await;
    if online && !offline {
        sync_once(&store, &client, &session.token).await.unwrap();
    }
    let pending_online = store.sync_status().unwrap().pending;

    assert!(!offline);
    assert!(pending_offline > 0, "the patrol is queued while offline");
    assert!(online, "the real server answers the health probe");
    assert_eq!(pending_online, 0, "the flip sent everything");
}

/// Lists the normal dependencies of the app's Android build, offline.
fn android_tree() -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "--offline",
            "-p",
            "redvest",
            "--no-default-features",
            "--features",
            "mobile",
            "--target",
            "aarch64-linux-android",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .output()
        .expect("failed to run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn has_crate(tree: &str, name: &str) -> bool {
    tree.lines()
        .any(|line| line.starts_with(&format!("{name} v")))
}

#[test]
fn android_tree_has_persistent_token_store() {
    let tree = android_tree();

    assert!(
        has_crate(&tree, "android-native-keyring-store"),
        "the token must live in the Android Keystore"
    );
    assert!(
        !has_crate(&tree, "keyring"),
        "keyring 3 keeps secrets in memory on Android"
    );
}

#[test]
fn android_tree_has_no_platform_verifier() {
    let tree = android_tree();

    assert!(
        !has_crate(&tree, "rustls-platform-verifier"),
        "it panics on Android unless initialised from Java"
    );
}
