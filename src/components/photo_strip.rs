//! A lead's photos as a row of thumbnails, each read off the render path,
//! with a placeholder text for a photo not on this phone and a full-size
//! view that opens when a thumbnail is tapped. The review card and the
//! submission detail share it; the files come from the backend's photo folder.

use dioxus::prelude::*;

use crate::backend::PhotoSize;
use crate::i18n::Msg;
use crate::state::use_app;

/// One photo of the strip.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoSlot {
    pub sha256: String,
    /// The text shown in place of the photo while it is not on this phone.
    pub absent: Msg,
    /// Drawn faded, for a captured photo the server does not hold yet.
    pub dimmed: bool,
}

/// The photos of one lead, numbered from 1 in the order the lead names them.
#[component]
pub fn PhotoStrip(photos: Vec<PhotoSlot>) -> Element {
    let app = use_app();
    let mut full = use_signal(|| None::<(usize, String)>);

    let open_full = move |(number, sha256): (usize, String)| {
        spawn(async move {
            let url = app.backend().photo_url(sha256, PhotoSize::Full).await;
            full.set(url.map(|url| (number, url)));
        });
    };

    rsx! {
        div { class: "thumbs",
            for (index, slot) in photos.into_iter().enumerate() {
                PhotoThumb { key: "{slot.sha256}", number: index + 1, slot, on_open: open_full }
            }
        }
        if let Some((number, url)) = full() {
            figure { class: "photo-full-box",
                img {
                    class: "photo-full",
                    src: "{url}",
                    alt: app.tf(Msg::PhotoAlt, &[("index", number.to_string())]),
                }
                button {
                    class: "big close-photo",
                    onclick: move |_| full.set(None),
                    {app.t(Msg::PhotoCloseFull)}
                }
            }
        }
    }
}

/// One thumbnail, or the slot's placeholder until the photo is on this phone.
#[component]
fn PhotoThumb(number: usize, slot: PhotoSlot, on_open: EventHandler<(usize, String)>) -> Element {
    let app = use_app();
    let mut url = use_signal(|| None::<String>);
    let sha256 = slot.sha256.clone();
    // Every sync badge reload looks again for a photo still absent, and a
    // photo found once is kept, because downloaded files never change.
    let _lookup = use_resource(move || {
        let sha256 = sha256.clone();
        async move {
            let _ = (app.sync)();
            if url.peek().is_some() {
                return;
            }
            if let Some(found) = app.backend().photo_url(sha256, PhotoSize::Thumb).await {
                url.set(Some(found));
            }
        }
    });
    let index = ("index", number.to_string());

    let Some(src) = url() else {
        return rsx! {
            div { class: "thumb absent", role: "img", {app.t(slot.absent)} }
        };
    };
    rsx! {
        button {
            id: "photo-{slot.sha256}",
            class: "thumb-button",
            "aria-label": app.tf(Msg::PhotoShowFull, std::slice::from_ref(&index)),
            onclick: move |_| on_open.call((number, slot.sha256.clone())),
            img {
                class: if slot.dimmed { "thumb unsent" } else { "thumb" },
                src: "{src}",
                alt: app.tf(Msg::PhotoAlt, &[index]),
            }
        }
    }
}
