//! Lead capture: large category chips, a note, up to nine photos chosen as
//! files with thumbnails read off the render path, and the position from the
//! current fix, else a photo's EXIF GPS, else a typed address (flagged "no
//! GPS"). A lead captured while a patrol runs is linked to that patrol.

use std::path::PathBuf;

use dioxus::prelude::*;
use redvest_core::photo::ProcessedPhoto;
use redvest_proto::records::{LeadCategory, PositionSource};
use uuid::Uuid;

use crate::backend::{draft_photo, LeadForm};
use crate::error_text::error_text;
use crate::i18n::Msg;
use crate::state::use_app;

/// Returns the catalogue key naming a category.
pub fn category_label(category: LeadCategory) -> Msg {
    match category {
        LeadCategory::FireHazard => Msg::CatFireHazard,
        LeadCategory::Traffic => Msg::CatTraffic,
        LeadCategory::PublicOrder => Msg::CatPublicOrder,
        LeadCategory::Suspicious => Msg::CatSuspicious,
        LeadCategory::Dispute => Msg::CatDispute,
        LeadCategory::NeedsHelp => Msg::CatNeedsHelp,
        LeadCategory::Other => Msg::CatOther,
    }
}

/// The most photos one lead carries.
pub const MAX_PHOTOS: usize = 9;

#[component]
pub fn LeadCapture() -> Element {
    let app = use_app();
    let mut category = use_signal(|| None::<LeadCategory>);
    let mut note = use_signal(String::new);
    let mut address = use_signal(String::new);
    let mut path = use_signal(String::new);
    let mut photos = use_signal(Vec::<(ProcessedPhoto, String)>::new);
    let mut message = use_signal(|| None::<(bool, String)>);
    let mut draft_id = use_signal(Uuid::now_v7);
    let mut restored = use_signal(|| false);
    let fix = app.backend().current_fix().ok().flatten();

    // Brings back what was typed before the app closed, then saves every change.
    use_future(move || async move {
        if let Ok(Some((id, fields))) = app.backend().latest_lead_draft().await {
            draft_id.set(id);
            category.set(fields.category);
            note.set(fields.note);
            address.set(fields.address.unwrap_or_default());
            let exif = (fields.position_source == Some(PositionSource::PhotoExif))
                .then_some(fields.position)
                .flatten();
            let mut restored_photos = Vec::new();
            for (index, held) in fields.photos.iter().enumerate() {
                let mut photo = draft_photo(held);
                if index == 0 {
                    photo.exif_position = exif.as_ref().map(|fix| (fix.lat, fix.lon));
                }
                let url = app.backend().thumbnail_url(photo.thumb_path.clone()).await;
                restored_photos.push((photo, url.unwrap_or_default()));
            }
            photos.set(restored_photos);
        }
        restored.set(true);
    });
    use_effect(move || {
        let (Some(chosen), typed_note, typed_address) = (category(), note(), address()) else {
            return;
        };
        let chosen_photos: Vec<ProcessedPhoto> = photos
            .read()
            .iter()
            .map(|(photo, _)| photo.clone())
            .collect();
        if !restored() {
            return;
        }
        let form = LeadForm {
            category: chosen,
            note: typed_note,
            fix: None,
            address: Some(typed_address).filter(|text| !text.is_empty()),
            photos: chosen_photos,
            patrol_id: None,
        };
        let id = draft_id();
        spawn(async move {
            if let Err(error) = app.backend().save_lead_draft(id, form).await {
                tracing::warn!(draft_id = %id, %error, "lead draft not saved");
            }
        });
    });
    let patrol = use_resource(move || async move {
        let _ = (app.sync)();
        app.backend().active_patrol().await.ok().flatten()
    });
    let exif_position = photos
        .read()
        .iter()
        .any(|(photo, _)| photo.exif_position.is_some());
    let full = photos.read().len() >= MAX_PHOTOS;

    let add_photo = move |file: PathBuf| {
        spawn(async move {
            if photos.read().len() >= MAX_PHOTOS {
                let max = ("max", MAX_PHOTOS.to_string());
                message.set(Some((false, app.tf(Msg::PhotoLimit, &[max]))));
                return;
            }
            match app.backend().add_photo(file).await {
                Ok(photo) => {
                    let url = app.backend().thumbnail_url(photo.thumb_path.clone()).await;
                    let already = photos
                        .read()
                        .iter()
                        .any(|(held, _)| held.sha256 == photo.sha256);
                    if !already && photos.read().len() < MAX_PHOTOS {
                        photos.write().push((photo, url.unwrap_or_default()));
                    }
                    message.set(None);
                }
                Err(photo_error) => {
                    message.set(Some((
                        false,
                        app.tf(Msg::PhotoFailed, &[("error", photo_error.to_string())]),
                    )));
                }
            }
        });
    };

    let submit = move |_| async move {
        let Some(chosen) = category() else {
            message.set(Some((false, app.t(Msg::LeadNeedsCategory).to_owned())));
            return;
        };
        let fix = app.backend().current_fix().ok().flatten();
        let typed = address.read().trim().to_owned();
        let has_exif = photos
            .read()
            .iter()
            .any(|(photo, _)| photo.exif_position.is_some());
        if fix.is_none() && !has_exif && typed.is_empty() {
            message.set(Some((false, app.t(Msg::LeadNeedsPosition).to_owned())));
            return;
        }

        let form = LeadForm {
            category: chosen,
            note: note.read().trim().to_owned(),
            fix,
            address: (!typed.is_empty()).then_some(typed),
            photos: photos
                .read()
                .iter()
                .map(|(photo, _)| photo.clone())
                .collect(),
            patrol_id: app
                .backend()
                .active_patrol()
                .await
                .ok()
                .flatten()
                .map(|active| active.patrol_id),
        };
        match app.backend().capture_lead(draft_id(), form).await {
            Ok(_) => {
                draft_id.set(Uuid::now_v7());
                category.set(None);
                note.set(String::new());
                address.set(String::new());
                photos.set(Vec::new());
                message.set(Some((true, app.t(Msg::LeadSaved).to_owned())));
            }
            Err(capture_error) => {
                message.set(Some((false, error_text((app.lang)(), &capture_error))))
            }
        }
        app.refresh_sync().await;
    };

    rsx! {
        section { class: "lead",
            h3 { {app.t(Msg::LeadCategory)} }
            div { class: "chips",
                for option in LeadCategory::ALL {
                    button {
                        key: "{option:?}",
                        id: "category-{option:?}",
                        class: if category() == Some(option) { "chip big active" } else { "chip big" },
                        onclick: move |_| category.set(Some(option)),
                        {app.t(category_label(option))}
                    }
                }
            }
            label { {app.t(Msg::LeadNote)}
                textarea { value: "{note}", oninput: move |event| note.set(event.value()) }
            }
            h3 { {app.t(Msg::LeadPhoto)} }
            input {
                r#type: "file",
                multiple: true,
                disabled: full,
                accept: "image/jpeg,image/png,image/webp",
                onchange: move |event| {
                    for file in event.files() {
                        add_photo(file.path());
                    }
                },
            }
            div { class: "row",
                input { class: "path", placeholder: app.t(Msg::PhotoPath), value: "{path}", oninput: move |event| path.set(event.value()) }
                button { class: "big", disabled: full, onclick: move |_| add_photo(PathBuf::from(path.read().trim())), {app.t(Msg::AddPhoto)} }
            }
            p { class: "photo-count",
                {app.tf(Msg::PhotoCount, &[("count", photos.read().len().to_string()), ("max", MAX_PHOTOS.to_string())])}
            }
            div { class: "thumbs",
                for (index, (photo, url)) in photos.read().iter().enumerate() {
                    div { key: "{photo.sha256}", class: "thumb-box",
                        img { class: "thumb", src: "{url}" }
                        button {
                            class: "remove-photo",
                            "aria-label": app.t(Msg::RemovePhoto),
                            onclick: move |_| { photos.write().remove(index); },
                            "×"
                        }
                    }
                }
            }
            if patrol.read().flatten().is_some() {
                p { class: "notice", {app.t(Msg::LeadLinkedToPatrol)} }
            }
            if fix.is_some() {
                p { class: "position", {app.t(Msg::PositionFromFix)} }
            } else if exif_position {
                p { class: "position", {app.t(Msg::PositionFromExif)} }
            } else {
                p { class: "warning", {app.t(Msg::NoGpsFlag)} }
                label { {app.t(Msg::TypedAddress)}
                    input { value: "{address}", oninput: move |event| address.set(event.value()) }
                }
            }
            if let Some((ok, text)) = message() {
                p { class: if ok { "ok" } else { "error" }, role: "status", {text} }
            }
            button { class: "huge primary", onclick: submit, {app.t(Msg::SubmitLead)} }
        }
    }
}
