//! The patrol screen: the mode (walking, cycling, vehicle) chosen at start,
//! pause, resume and stop; the live point count and distance; and after stop
//! the summary with gaps explained and the drawn track. A patrol still open
//! in the store is picked up again when the screen opens.

use std::time::Duration;

use dioxus::prelude::*;
use redvest_proto::geo::{distance_m, Fix};
use redvest_proto::records::PatrolMode;
use uuid::Uuid;

use crate::backend::{PatrolSummary, PatrolTrack};
use crate::components::TrackMap;
use crate::i18n::{format_duration, Msg};
use crate::state::use_app;

/// How often the screen asks the location source for a new fix.
const SAMPLE: Duration = Duration::from_secs(1);

#[component]
pub fn Patrol() -> Element {
    let app = use_app();
    let mut patrol = use_signal(|| None::<Uuid>);
    let mut paused = use_signal(|| false);
    let mut points = use_signal(|| 0u32);
    let mut distance = use_signal(|| 0.0f64);
    let mut last = use_signal(|| None::<Fix>);
    let mut summary = use_signal(|| None::<PatrolSummary>);
    let mut track = use_signal(|| None::<PatrolTrack>);
    let mut mode = use_signal(PatrolMode::default);
    let mut error = use_signal(|| None::<String>);

    use_future(move || async move {
        match app.backend().active_patrol().await {
            Ok(Some(active)) => {
                tracing::info!(patrol_id = %active.patrol_id, "patrol picked up again");
                mode.set(active.mode);
                paused.set(active.paused);
                patrol.set(Some(active.patrol_id));
            }
            Ok(None) => {}
            Err(read_error) => tracing::warn!(error = %read_error, "active patrol not read"),
        }
    });

    use_future(move || async move {
        loop {
            tokio::time::sleep(SAMPLE).await;
            let Some(patrol_id) = patrol() else { continue };
            if paused() {
                continue;
            }
            let fixes = app.backend().drain_fixes().unwrap_or_else(|drain_error| {
                tracing::warn!(%patrol_id, error = %drain_error, "no fixes");
                Vec::new()
            });
            for fix in fixes {
                let previous = last();
                if previous
                    .as_ref()
                    .is_some_and(|seen| seen.lat == fix.lat && seen.lon == fix.lon)
                {
                    continue;
                }
                if let Err(record_error) = app.backend().record_fix(patrol_id, fix.clone()).await {
                    tracing::warn!(%patrol_id, error = %record_error, "fix not recorded");
                    continue;
                }
                if let Some(previous) = previous {
                    distance += distance_m((previous.lat, previous.lon), (fix.lat, fix.lon));
                }
                points += 1;
                last.set(Some(fix));
            }
        }
    });

    let mut report = move |result: Result<(), crate::backend::BackendError>| match result {
        Ok(()) => error.set(None),
        Err(patrol_error) => error.set(Some(
            app.tf(Msg::ActionFailed, &[("error", patrol_error.to_string())]),
        )),
    };

    let start = move |_| async move {
        match app.backend().start_patrol(mode()).await {
            Ok(id) => {
                track.set(None);
                patrol.set(Some(id));
                paused.set(false);
                points.set(0);
                distance.set(0.0);
                last.set(None);
                summary.set(None);
                report(Ok(()));
            }
            Err(start_error) => report(Err(start_error)),
        }
    };

    let toggle_pause = move |_| async move {
        let Some(id) = patrol() else { return };
        let result = if paused() {
            app.backend().resume_patrol(id).await
        } else {
            app.backend().pause_patrol(id).await
        };
        if result.is_ok() {
            paused.toggle();
        }
        report(result);
    };

    let stop = move |_| async move {
        let Some(id) = patrol() else { return };
        match app.backend().stop_patrol(id).await {
            Ok(figures) => {
                track.set(app.backend().patrol_track(id).await.ok());
                summary.set(Some(figures));
                patrol.set(None);
                report(Ok(()));
            }
            Err(stop_error) => report(Err(stop_error)),
        }
        app.refresh_sync().await;
    };

    rsx! {
        section { class: "patrol",
            if patrol().is_some() {
                p { class: "live",
                    {app.tf(Msg::PatrolLive, &[("points", points().to_string()), ("distance", format!("{:.2}", distance() / 1000.0))])}
                }
                if paused() {
                    p { class: "paused", {app.t(Msg::PatrolPaused)} }
                }
                div { class: "row",
                    button { class: "big", onclick: toggle_pause,
                        if paused() { {app.t(Msg::PatrolResume)} } else { {app.t(Msg::PatrolPause)} }
                    }
                    button { class: "big danger", onclick: stop, {app.t(Msg::PatrolStop)} }
                }
                p { class: "notice", {app.t(Msg::PatrolRunning)} }
            } else {
                ModeChoice { mode }
                button { id: "patrol-start", class: "huge primary", onclick: start, {app.t(Msg::PatrolStart)} }
            }
            if let Some(figures) = summary() {
                PatrolSummaryView { summary: figures }
            }
            if let Some(drawn) = track() {
                TrackMap { track: drawn }
            }
            if let Some(message) = error() {
                p { class: "error", role: "alert", {message} }
            }
        }
    }
}

/// The figures of a stopped patrol, with gaps explained.
#[component]
fn PatrolSummaryView(summary: PatrolSummary) -> Element {
    let app = use_app();
    let stop = summary.stop;
    let gaps = stop.segments.saturating_sub(1);

    rsx! {
        div { class: "summary",
            h3 { {app.t(Msg::PatrolSummary)} }
            p { {app.tf(Msg::SummaryDistance, &[("distance", format!("{:.2}", stop.distance_m / 1000.0))])} }
            p { {app.tf(Msg::SummaryDuration, &[("duration", format_duration(stop.duration_s))])} }
            p { {app.tf(Msg::SummaryPoints, &[("kept", stop.points_kept.to_string()), ("rejected", stop.points_rejected.to_string())])} }
            if stop.incomplete {
                p { class: "warning", {app.tf(Msg::SummaryIncomplete, &[("gaps", gaps.max(1).to_string())])} }
            }
        }
    }
}

/// Returns the catalogue key naming a patrol mode.
pub fn mode_label(mode: PatrolMode) -> Msg {
    match mode {
        PatrolMode::Walking => Msg::ModeWalking,
        PatrolMode::Cycling => Msg::ModeCycling,
        PatrolMode::Vehicle => Msg::ModeVehicle,
    }
}

/// Large chips for the patrol mode, which bounds the plausible speed of fixes.
#[component]
fn ModeChoice(mode: Signal<PatrolMode>) -> Element {
    let app = use_app();
    let modes = [
        PatrolMode::Walking,
        PatrolMode::Cycling,
        PatrolMode::Vehicle,
    ];

    rsx! {
        div { class: "mode-choice",
            p { class: "form-title", {app.t(Msg::PatrolModeTitle)} }
            div { class: "chips",
                for option in modes {
                    button {
                        key: "{option:?}",
                        class: if mode() == option { "chip big active" } else { "chip big" },
                        "aria-pressed": "{mode() == option}",
                        onclick: move |_| mode.set(option),
                        {app.t(mode_label(option))}
                    }
                }
            }
        }
    }
}
