//! Builds the phone database fixture of the upgrade tests with the store
//! code of this checkout, against the demo server library on 127.0.0.1.
//!
//! `cargo run -p redvest-core --example make_store_v1 -- OUT_DIR` writes
//! `OUT_DIR/store-v1.db` and the processed photos it names into
//! `OUT_DIR/store-v1-photos/`. The database is signed in as the demo leader
//! of squad 1 and holds sent records, queued captures, a half-uploaded
//! photo and a queued decision. Run at a commit whose store writes schema
//! version 1 to get a version 1 database; later commits write their latest
//! version.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{ensure, Context};
use chrono::{Duration as TimeDelta, Utc};
use image::{ImageEncoder, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redvest_core::photo::{process_bytes, PhotoOptions};
use redvest_core::store::{LeadDraft, LeadPhoto};
use redvest_core::sync::{sync_once, SyncClient};
use redvest_core::Store;
use redvest_proto::geo::Fix;
use redvest_proto::records::{LeadCategory, PatrolMode, PositionSource};
use redvest_proto::review::Action;
use redvest_proto::wire::{Fence, PushRequest, Site};
use redvest_server::seed::{seed_demo, DEMO_PASSWORD};
use tokio::net::TcpListener;

const LEADER_PHONE: &str = "13800000001";
const VOLUNTEER_PHONE: &str = "13800000002";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let out_dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .context("missing OUT_DIR: pass the folder to write store-v1.db into")?,
    );
    let photo_dir = out_dir.join("store-v1-photos");
    let db_path = out_dir.join("store-v1.db");
    std::fs::create_dir_all(&photo_dir)?;
    for stale in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{stale}", db_path.display()));
    }

    let server_dir = tempfile::tempdir()?;
    let url = start_server(server_dir.path()).await?;
    let work_dir = tempfile::tempdir()?;
    push_flagged_volunteer_clock_in(&url, work_dir.path()).await?;

    let mut rng = StdRng::seed_from_u64(1);
    let store = Store::open(&db_path)?;
    let client = SyncClient::new(&url)?;
    let session = client
        .sign_in(LEADER_PHONE, DEMO_PASSWORD, store.device_id()?)
        .await?;
    store.set_session(&session.member, &url)?;
    sync_once(&store, &client, &session.token).await?;

    let site = store.sites()?.into_iter().next().context("no demo site")?;
    let sent_photo = capture_sent_part(&store, &site, &photo_dir, &mut rng)?;
    push_without_uploads(&store, &client, &session.token).await?;
    upload_half(&store, &client, &session.token, &sent_photo).await?;
    queue_decision(&store)?;
    capture_queued_part(&store, &site, &photo_dir, &mut rng)?;
    drop(store);

    compact(&db_path)?;
    println!("wrote {}", db_path.display());
    Ok(())
}

async fn start_server(data_dir: &Path) -> anyhow::Result<String> {
    let server_store = redvest_server::SqliteStore::open(data_dir)?;
    seed_demo(&server_store)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(redvest_server::serve::serve(
        listener,
        Arc::new(server_store),
        std::future::pending(),
    ));
    Ok(url)
}

/// Puts a clock-in far outside its fence on the server, so the leader has
/// a submission to decide on.
async fn push_flagged_volunteer_clock_in(url: &str, work_dir: &Path) -> anyhow::Result<()> {
    let store = Store::open(work_dir.join("volunteer.db"))?;
    let client = SyncClient::new(url)?;
    let session = client
        .sign_in(VOLUNTEER_PHONE, DEMO_PASSWORD, store.device_id()?)
        .await?;
    store.set_session(&session.member, url)?;
    sync_once(&store, &client, &session.token).await?;
    let site = store.sites()?.into_iter().next().context("no demo site")?;
    let (lat, lon) = centre(&site);
    store.clock_in(site.id, Some(fix(lat + 0.05, lon, 0)), None, None)?;
    sync_once(&store, &client, &session.token).await?;
    Ok(())
}

/// Captures what the server will acknowledge: a closed shift and a lead
/// with one photo. Returns that photo.
fn capture_sent_part(
    store: &Store,
    site: &Site,
    photo_dir: &Path,
    rng: &mut StdRng,
) -> anyhow::Result<LeadPhoto> {
    let (lat, lon) = centre(site);
    store.clock_in(site.id, Some(fix(lat, lon, 0)), None, None)?;
    store.clock_out(false, Some(fix(lat, lon, 0)))?;
    let photo = processed_photo(photo_dir, rng)?;
    store.capture_lead(lead(photo.clone(), lat, lon, "消防通道被电动车堵住"))?;
    Ok(photo)
}

/// Pushes every queued record and applies the acknowledgements, without
/// the photo upload step that a full sync run would go on to.
async fn push_without_uploads(
    store: &Store,
    client: &SyncClient,
    token: &str,
) -> anyhow::Result<()> {
    while let Some(batch) = store.next_push_batch(200)? {
        let request = PushRequest {
            device_id: store.device_id()?,
            batch_seq: batch.batch_seq,
            records: batch.records,
            sent_at: None,
        };
        let response = client.push(token, &request).await?;
        store.apply_push_response(batch.batch_seq, &response)?;
    }
    Ok(())
}

/// Uploads the first half of a photo and stores that progress, as a run cut
/// off mid-upload leaves it.
async fn upload_half(
    store: &Store,
    client: &SyncClient,
    token: &str,
    photo: &LeadPhoto,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(&photo.path)?;
    let half = bytes.len() / 2;
    let sha256 = &photo.photo.sha256;
    let status = client
        .upload_photo_chunk(token, sha256, 0, bytes.len() as u64, bytes[..half].to_vec())
        .await?;
    ensure!(
        status.bytes_received == half as u64,
        "server holds {} bytes, not {half}",
        status.bytes_received
    );
    store.set_photo_progress(sha256, half as u64)?;
    Ok(())
}

fn queue_decision(store: &Store) -> anyhow::Result<()> {
    let item = store
        .review_queue()?
        .into_iter()
        .next()
        .context("the leader's review queue is empty")?;
    let reason = "定位在岗位范围外，请重新打卡".to_owned();
    store.decide(item.record.id, Action::Reject { reason })?;
    Ok(())
}

/// Captures what stays queued: an open shift, a stopped patrol with track
/// chunks, a patrol still recording, and a lead with a photo.
fn capture_queued_part(
    store: &Store,
    site: &Site,
    photo_dir: &Path,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let (lat, lon) = centre(site);
    store.clock_in(site.id, Some(fix(lat, lon, 0)), None, None)?;

    let stopped = store.start_patrol(PatrolMode::Walking, None)?;
    for step in 0..8 {
        let point = fix(
            lat + 0.0001 * f64::from(step),
            lon,
            1 + 10 * i64::from(step),
        );
        store.record_fix(stopped, &point)?;
    }
    store.stop_patrol(stopped)?;

    let recording = store.start_patrol(PatrolMode::Cycling, None)?;
    for step in 0..3 {
        let point = fix(
            lat,
            lon + 0.0002 * f64::from(step),
            1 + 10 * i64::from(step),
        );
        store.record_fix(recording, &point)?;
    }

    let photo = processed_photo(photo_dir, rng)?;
    store.capture_lead(lead(photo, lat, lon, "路口红绿灯不亮"))?;
    Ok(())
}

fn lead(photo: LeadPhoto, lat: f64, lon: f64, note: &str) -> LeadDraft {
    LeadDraft {
        category: LeadCategory::FireHazard,
        note: note.to_owned(),
        position: Some(fix(lat, lon, 0)),
        position_source: PositionSource::Fix,
        address: Some("实验小学东门".to_owned()),
        photos: vec![photo],
        patrol_id: None,
    }
}

fn processed_photo(photo_dir: &Path, rng: &mut StdRng) -> anyhow::Result<LeadPhoto> {
    let (width, height) = (160, 120);
    let image = RgbImage::from_fn(width, height, |_, _| {
        image::Rgb([rng.gen(), rng.gen(), rng.gen()])
    });
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 85).write_image(
        image.as_raw(),
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )?;
    let processed = process_bytes(&bytes, photo_dir, &PhotoOptions::default())?;
    let path = processed.path.clone();
    // The fixture needs only the photo; its thumbnail would double the size.
    let _ = std::fs::remove_file(photo_dir.join(format!("{}.thumb.jpg", processed.sha256)));
    Ok(LeadPhoto {
        photo: processed.into_ref(),
        path,
    })
}

fn centre(site: &Site) -> (f64, f64) {
    match &site.fence {
        Fence::Circle { lat, lon, .. } => (*lat, *lon),
        Fence::Polygon { ring } => ring[0],
    }
}

/// Returns a fix taken `offset_s` seconds from now, so the fixes of a
/// patrol come after its start and in time order.
fn fix(lat: f64, lon: f64, offset_s: i64) -> Fix {
    let at = Utc::now() + TimeDelta::seconds(offset_s);
    Fix::new(lat, lon, Some(8.0), at, "gps")
}

/// Folds the write-ahead log into the file, drops free pages and leaves one
/// self-contained file behind.
fn compact(db_path: &Path) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(db_path)?;
    conn.pragma_update(None, "journal_mode", "DELETE")?;
    conn.execute_batch("VACUUM")?;
    Ok(())
}
