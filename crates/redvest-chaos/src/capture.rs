//! Seeded random captures through the real store calls: clock-ins and
//! clock-outs at the demo sites, leads with JPEG photos generated here, and
//! short patrols with a few fixes.

use std::path::Path;

use chrono::{Duration as TimeDelta, Utc};
use image::{ImageEncoder, RgbImage};
use rand::rngs::StdRng;
use rand::Rng;
use redvest_core::photo::{process_bytes, PhotoOptions};
use redvest_core::store::{LeadDraft, LeadPhoto};
use redvest_core::Store;
use redvest_proto::geo::Fix;
use redvest_proto::records::{LeadCategory, PatrolMode, PositionSource};
use redvest_proto::wire::Fence;
use uuid::Uuid;

use crate::harness::HarnessError;

/// Centre of the demo district (Zichuan), where generated fixes fall.
const DISTRICT: (f64, f64) = (36.6400, 117.9700);

/// Captures one random thing and returns the ids of the records it
/// committed that the call names (a patrol's track chunks are not named).
pub fn capture_one(
    store: &Store,
    photo_dir: &Path,
    rng: &mut StdRng,
) -> Result<Vec<Uuid>, HarnessError> {
    if store.open_shift()?.is_some() && rng.gen_bool(0.6) {
        return Ok(vec![store.clock_out(false, Some(fix_near(DISTRICT, rng)))?]);
    }
    match rng.gen_range(0..10) {
        0..=3 => clock_in(store, photo_dir, rng),
        4..=7 => Ok(vec![capture_lead(store, photo_dir, rng)?]),
        _ => patrol(store, rng),
    }
}

fn clock_in(store: &Store, photo_dir: &Path, rng: &mut StdRng) -> Result<Vec<Uuid>, HarnessError> {
    let sites = store.sites()?;
    if sites.is_empty() || store.open_shift()?.is_some() {
        return Ok(vec![capture_lead(store, photo_dir, rng)?]);
    }

    let site = &sites[rng.gen_range(0..sites.len())];
    let centre = match &site.fence {
        Fence::Circle { lat, lon, .. } => (*lat, *lon),
        Fence::Polygon { ring } => ring.first().copied().unwrap_or(DISTRICT),
    };
    let receipt = store.clock_in(site.id, Some(fix_near(centre, rng)), None, None)?;
    Ok(vec![receipt.shift_id])
}

/// Captures a lead at a random place with up to two generated photos.
pub fn capture_lead(
    store: &Store,
    photo_dir: &Path,
    rng: &mut StdRng,
) -> Result<Uuid, HarnessError> {
    let mut photos = Vec::new();
    for _ in 0..rng.gen_range(0..=2) {
        let processed = process_bytes(&noise_jpeg(rng), photo_dir, &PhotoOptions::default())?;
        let path = processed.path.clone();
        photos.push(LeadPhoto {
            photo: processed.into_ref(),
            path,
        });
    }

    let category = LeadCategory::ALL[rng.gen_range(0..LeadCategory::ALL.len())];
    let draft = LeadDraft {
        category,
        note: format!("generated lead {}", rng.gen::<u32>()),
        position: Some(fix_near(DISTRICT, rng)),
        position_source: PositionSource::Fix,
        address: None,
        photos,
        patrol_id: None,
    };
    Ok(store.capture_lead(draft)?)
}

fn patrol(store: &Store, rng: &mut StdRng) -> Result<Vec<Uuid>, HarnessError> {
    let patrol_id = store.start_patrol(PatrolMode::Walking, None)?;
    let start = Utc::now();
    let mut position = DISTRICT;
    for step in 0..rng.gen_range(2..6) {
        position.0 += 0.0001;
        let at = start + TimeDelta::seconds(10 * step);
        store.record_fix(
            patrol_id,
            &Fix::new(position.0, position.1, Some(8.0), at, "gps"),
        )?;
    }
    let summary = store.stop_patrol(patrol_id)?;
    Ok(vec![summary.stop_record_id])
}

fn fix_near(centre: (f64, f64), rng: &mut StdRng) -> Fix {
    let lat = centre.0 + rng.gen_range(-0.0002..0.0002);
    let lon = centre.1 + rng.gen_range(-0.0002..0.0002);
    Fix::new(lat, lon, Some(rng.gen_range(5.0..30.0)), Utc::now(), "gps")
}

/// Encodes a small noisy picture as JPEG, so every photo has its own hash.
pub fn noise_jpeg(rng: &mut StdRng) -> Vec<u8> {
    let (width, height) = (96, 64);
    let image = RgbImage::from_fn(width, height, |_, _| {
        image::Rgb([rng.gen(), rng.gen(), rng.gen()])
    });
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 85)
        .write_image(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("encoding an in-memory JPEG does not fail");
    bytes
}
