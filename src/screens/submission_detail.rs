//! The detail of one of the member's own submissions: its state history as
//! this phone knows it, a lead's photos (unsent ones faded, tap one for
//! full size), and a patrol's drawn track.

use dioxus::prelude::*;
use redvest_proto::RecordBody;

use crate::backend::SubmissionView;
use crate::components::{PhotoSlot, PhotoStrip, TrackMap};
use crate::i18n::Msg;
use crate::screens::submissions::state_text;
use crate::state::use_app;

#[component]
pub fn SubmissionDetail(item: SubmissionView) -> Element {
    let app = use_app();
    let captured = item
        .record
        .captured_at
        .local()
        .format("%m-%d %H:%M")
        .to_string();

    rsx! {
        div { class: "detail",
            ol { class: "history",
                li { {app.tf(Msg::HistoryCaptured, &[("time", captured)])} }
                li { {app.tf(Msg::HistoryNow, &[("state", state_text((app.lang)(), &item))])} }
            }
            match &item.record.body {
                RecordBody::Lead(lead) => rsx! {
                    if !lead.note.is_empty() {
                        p { class: "note", {lead.note.clone()} }
                    }
                    if let Some(address) = lead.address.clone() {
                        p { class: "address", {app.tf(Msg::LeadAddress, &[("address", address)])} }
                    }
                    LeadPhotos { lead_id: item.record.id }
                },
                RecordBody::PatrolStop(stop) => rsx! { PatrolTrackView { patrol_id: stop.patrol_id } },
                _ => rsx! {},
            }
        }
    }
}

/// The lead's photos as stored on this phone; a photo not yet sent is faded.
#[component]
fn LeadPhotos(lead_id: uuid::Uuid) -> Element {
    let app = use_app();
    let photos = use_resource(move || async move {
        let _ = (app.sync)();
        app.backend().lead_photos(lead_id).await.unwrap_or_default()
    });
    let slots: Vec<PhotoSlot> = photos
        .read()
        .iter()
        .flatten()
        .map(|photo| PhotoSlot {
            sha256: photo.sha256.clone(),
            absent: Msg::PhotoNotHere,
            dimmed: !photo.sent,
        })
        .collect();

    rsx! { PhotoStrip { photos: slots } }
}

/// A patrol's track from the local store, drawn on demand.
#[component]
fn PatrolTrackView(patrol_id: uuid::Uuid) -> Element {
    let app = use_app();
    let track = use_resource(move || async move { app.backend().patrol_track(patrol_id).await });

    let loaded = track
        .read()
        .as_ref()
        .map(|result| result.as_ref().ok().cloned());
    match loaded {
        None => rsx! {},
        Some(Some(track)) => rsx! { TrackMap { track } },
        Some(None) => rsx! { p { class: "warning", {app.t(Msg::TrackNotHere)} } },
    }
}
