//! A drawing of a patrol track: one polyline per kept segment, so a gap is
//! shown as a gap and never joined by a straight line, start and end
//! markers, and the rejected fixes on demand. WGS-84 throughout, because it
//! draws on no basemap.

use dioxus::prelude::*;
use redvest_core::store::PatrolTrack;

use crate::components::map_frame::{MapFrame, VIEW_SIZE};
use crate::i18n::Msg;
use crate::state::use_app;

/// Draws a stored track with a toggle for its rejected fixes.
#[component]
pub fn TrackMap(track: PatrolTrack) -> Element {
    let app = use_app();
    let mut show_rejected = use_signal(|| false);

    let mut extent: Vec<(f64, f64, f64)> = track
        .segments
        .iter()
        .flatten()
        .map(|point| (point.lat, point.lon, 0.0))
        .collect();
    if show_rejected() {
        extent.extend(
            track
                .rejected
                .iter()
                .map(|(point, _)| (point.lat, point.lon, 0.0)),
        );
    }
    let Some(frame) = MapFrame::fit(&extent) else {
        return rsx! { p { class: "track-empty", {app.t(Msg::TrackEmpty)} } };
    };

    let lines: Vec<String> = track
        .segments
        .iter()
        .map(|segment| frame.points_attribute(segment.iter().map(|point| point.lat_lon())))
        .collect();
    let start = track
        .segments
        .iter()
        .flatten()
        .next()
        .map(|p| frame.project(p.lat, p.lon));
    let end = track
        .segments
        .iter()
        .flatten()
        .last()
        .map(|p| frame.project(p.lat, p.lon));
    let rejected: Vec<(f64, f64, &'static str)> = track
        .rejected
        .iter()
        .map(|(point, reason)| {
            let (x, y) = frame.project(point.lat, point.lon);
            (x, y, *reason)
        })
        .collect();
    let view_box = format!("0 0 {VIEW_SIZE} {VIEW_SIZE}");
    let toggle_label = if show_rejected() {
        Msg::HideRejected
    } else {
        Msg::ShowRejected
    };

    rsx! {
        figure { class: "track-map",
            svg { class: "map", "viewBox": "{view_box}", role: "img", "aria-label": app.t(Msg::TrackDrawing),
                for (index, points) in lines.iter().enumerate() {
                    polyline { key: "{index}", class: "segment", points: "{points}" }
                }
                if let Some((x, y)) = start {
                    circle { class: "start", cx: "{x:.1}", cy: "{y:.1}", r: "7" }
                }
                if let Some((x, y)) = end {
                    rect { class: "end", x: "{x - 6.0:.1}", y: "{y - 6.0:.1}", width: "12", height: "12" }
                }
                if show_rejected() {
                    for (index, (x, y, reason)) in rejected.iter().enumerate() {
                        circle { key: "r{index}", class: "rejected", "data-reason": "{reason}", cx: "{x:.1}", cy: "{y:.1}", r: "4" }
                    }
                }
            }
            figcaption {
                span { class: "legend-start", {app.t(Msg::TrackStart)} }
                span { class: "legend-end", {app.t(Msg::TrackEnd)} }
            }
            if !track.rejected.is_empty() {
                button { class: "big toggle-rejected", onclick: move |_| show_rejected.toggle(),
                    {app.tf(toggle_label, &[("count", track.rejected.len().to_string())])}
                }
            }
        }
    }
}
