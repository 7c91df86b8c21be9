//! A small drawing of a duty site's fence (circle or polygon) with a
//! clock-in's fix and its accuracy circle, and the distance in words. It is
//! inline SVG, so it needs no network and no basemap.

use dioxus::prelude::*;
use redvest_proto::duty::distance_to_fence_m;
use redvest_proto::geo::Fix;
use redvest_proto::wire::Fence;

use crate::components::map_frame::{MapFrame, VIEW_SIZE};
use crate::i18n::Msg;
use crate::state::use_app;

/// Returns the circles that must fit in the drawing: the fence's extent and
/// the fix with its accuracy radius.
fn extent(fence: &Fence, fix: Option<&Fix>) -> Vec<(f64, f64, f64)> {
    let mut circles = match fence {
        Fence::Circle { lat, lon, radius_m } => vec![(*lat, *lon, *radius_m)],
        Fence::Polygon { ring } => ring.iter().map(|&(lat, lon)| (lat, lon, 0.0)).collect(),
    };
    if let Some(fix) = fix {
        let accuracy = fix
            .accuracy_m
            .filter(|metres| metres.is_finite())
            .unwrap_or(0.0);
        circles.push((fix.lat, fix.lon, accuracy.max(0.0)));
    }
    circles
}

/// Draws a fence and the fix judged against it, with the distance explained.
#[component]
pub fn FenceMap(fence: Fence, fix: Option<Fix>) -> Element {
    let app = use_app();
    let Some(frame) = MapFrame::fit(&extent(&fence, fix.as_ref())) else {
        return rsx! {};
    };
    let view_box = format!("0 0 {VIEW_SIZE} {VIEW_SIZE}");

    let caption = match &fix {
        None => app.t(Msg::FlagNoFix).to_owned(),
        Some(fix) => {
            let distance = (
                "distance",
                format!("{:.0}", distance_to_fence_m(&fence, fix)),
            );
            match fix.accuracy_m {
                Some(metres) => app.tf(
                    Msg::FenceDistanceAccuracy,
                    &[distance, ("accuracy", format!("{metres:.0}"))],
                ),
                None => app.tf(Msg::FenceDistance, &[distance]),
            }
        }
    };

    rsx! {
        figure { class: "fence-map",
            svg {
                class: "map",
                "viewBox": "{view_box}",
                role: "img",
                "aria-label": "{caption}",
                FenceShape { fence: fence.clone(), frame }
                if let Some(fix) = fix.clone() {
                    FixMarker { fix, frame }
                }
            }
            figcaption { {caption.clone()} }
        }
    }
}

#[component]
fn FenceShape(fence: Fence, frame: MapFrame) -> Element {
    match fence {
        Fence::Circle { lat, lon, radius_m } => {
            let (x, y) = frame.project(lat, lon);
            let radius = frame.length(radius_m);
            rsx! {
                circle { class: "fence", "data-shape": "circle", cx: "{x:.1}", cy: "{y:.1}", r: "{radius:.1}" }
            }
        }
        Fence::Polygon { ring } => {
            let points = frame.points_attribute(ring.iter().copied());
            rsx! {
                polygon { class: "fence", "data-shape": "polygon", points: "{points}" }
            }
        }
    }
}

#[component]
fn FixMarker(fix: Fix, frame: MapFrame) -> Element {
    let (x, y) = frame.project(fix.lat, fix.lon);
    let accuracy = fix
        .accuracy_m
        .filter(|metres| metres.is_finite() && *metres > 0.0);

    rsx! {
        if let Some(metres) = accuracy {
            circle { class: "accuracy", cx: "{x:.1}", cy: "{y:.1}", r: "{frame.length(metres):.1}" }
        }
        circle { class: "fix", cx: "{x:.1}", cy: "{y:.1}", r: "5" }
    }
}
