//! Lead capture: large category chips, a note, photos chosen as files with
//! thumbnails, and the position from the current fix or a typed address.

use std::path::PathBuf;

use base64::Engine;
use dioxus::prelude::*;
use redvest_core::photo::ProcessedPhoto;
use redvest_proto::records::LeadCategory;

use crate::backend::LeadForm;
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

/// Reads a thumbnail into a `data:` URL, so the web view needs no file access.
fn thumbnail_url(photo: &ProcessedPhoto) -> String {
    let bytes = std::fs::read(&photo.thumb_path).unwrap_or_default();
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[component]
pub fn LeadCapture() -> Element {
    let app = use_app();
    let mut category = use_signal(|| None::<LeadCategory>);
    let mut note = use_signal(String::new);
    let mut address = use_signal(String::new);
    let mut path = use_signal(String::new);
    let mut photos = use_signal(Vec::<(ProcessedPhoto, String)>::new);
    let mut message = use_signal(|| None::<(bool, String)>);
    let fix = app.backend().current_fix().ok().flatten();

    let add_photo = move |file: PathBuf| {
        spawn(async move {
            match app.backend().add_photo(file).await {
                Ok(photo) => {
                    let url = thumbnail_url(&photo);
                    photos.write().push((photo, url));
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
        if fix.is_none() && typed.is_empty() {
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
            patrol_id: None,
        };
        match app.backend().capture_lead(form).await {
            Ok(_) => {
                category.set(None);
                note.set(String::new());
                address.set(String::new());
                photos.set(Vec::new());
                message.set(Some((true, app.t(Msg::LeadSaved).to_owned())));
            }
            Err(capture_error) => message.set(Some((
                false,
                app.tf(Msg::ActionFailed, &[("error", capture_error.to_string())]),
            ))),
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
                accept: "image/jpeg,image/png,image/webp",
                onchange: move |event| {
                    for file in event.files() {
                        add_photo(file.path());
                    }
                },
            }
            div { class: "row",
                input { class: "path", placeholder: app.t(Msg::PhotoPath), value: "{path}", oninput: move |event| path.set(event.value()) }
                button { class: "big", onclick: move |_| add_photo(PathBuf::from(path.read().trim())), {app.t(Msg::AddPhoto)} }
            }
            div { class: "thumbs",
                for (photo, url) in photos.read().iter() {
                    img { key: "{photo.sha256}", class: "thumb", src: "{url}" }
                }
            }
            if fix.is_some() {
                p { class: "position", {app.t(Msg::PositionFromFix)} }
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
