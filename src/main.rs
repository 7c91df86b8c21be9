//! The desktop entry point: reads the configuration, opens the backend and
//! launches the window titled "红马甲 Redvest".

use std::sync::Arc;

use anyhow::Context;
use redvest::backend::Backend;
use redvest::config::Config;
use redvest::state::BackendHandle;

/// The window title, in both languages so either reader finds it.
const WINDOW_TITLE: &str = "红马甲 Redvest";

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    if !has_display() {
        eprintln!("redvest: no display found (DISPLAY and WAYLAND_DISPLAY are unset); start it from a desktop session or under xvfb-run");
        std::process::exit(2);
    }

    let config = Config::from_env();
    tracing::info!(server = %config.server_url, data = %config.data_dir.display(), "starting");
    let backend = Backend::open(config.clone())
        .with_context(|| format!("cannot open the app data in {}", config.data_dir.display()))?;
    launch(BackendHandle(Arc::new(backend)));
    tracing::info!("stopped");
    Ok(())
}

fn has_display() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

#[cfg(feature = "desktop")]
fn launch(handle: BackendHandle) {
    use dioxus::desktop::{Config as DesktopConfig, LogicalSize, WindowBuilder};

    let window = WindowBuilder::new()
        .with_title(WINDOW_TITLE)
        .with_inner_size(LogicalSize::new(480.0, 860.0));
    dioxus::LaunchBuilder::desktop()
        .with_cfg(DesktopConfig::new().with_window(window).with_menu(None))
        .with_context(handle)
        .launch(redvest::App);
}

#[cfg(not(feature = "desktop"))]
fn launch(handle: BackendHandle) {
    let _ = WINDOW_TITLE;
    dioxus::LaunchBuilder::new()
        .with_context(handle)
        .launch(redvest::App);
}
