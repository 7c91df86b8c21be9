//! Replays a field day against a running server with real files. A
//! volunteer clocks on, walks a GPX track and reports a hazard with a photo,
//! all offline. Then the phone syncs, the squad leader approves, and the
//! volunteer's phone shows the decision. Prints what was stored and sent and
//! how long each step took.
//!
//! ```text
//! cargo run --release --example field_trial -- SERVER_URL TRACK.gpx PHOTO.jpg
//! ```
//!
//! The server needs the demo district (`redvest-server serve --seed-demo`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use redvest_core::gpx;
use redvest_core::photo::{self, PhotoOptions};
use redvest_core::store::{LeadDraft, LeadPhoto, Store};
use redvest_core::sync::{sync_once, SyncClient};
use redvest_proto::records::{LeadCategory, PatrolMode, PositionSource};
use redvest_proto::review::Action;

const PASSWORD: &str = "redvest-demo";
const LEADER_PHONE: &str = "13800000001";
const VOLUNTEER_PHONE: &str = "13800000002";

struct Phone {
    store: Store,
    client: SyncClient,
    token: String,
}

impl Phone {
    async fn sign_in(dir: &Path, url: &str, phone: &str) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let store = Store::open(dir.join("redvest.db"))?;
        let client = SyncClient::new(url)?;
        let session = client.sign_in(phone, PASSWORD, store.device_id()?).await?;
        store.set_session(&session.member, url)?;
        Ok(Self {
            store,
            client,
            token: session.token,
        })
    }

    async fn sync(&self) -> Result<redvest_core::sync::SyncReport> {
        Ok(sync_once(&self.store, &self.client, &self.token).await?)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, track, photo_file] = args.as_slice() else {
        bail!("usage: field_trial SERVER_URL TRACK.gpx PHOTO.jpg");
    };
    let work = tempfile::tempdir()?;
    let volunteer = Phone::sign_in(&work.path().join("volunteer"), url, VOLUNTEER_PHONE).await?;
    let leader = Phone::sign_in(&work.path().join("leader"), url, LEADER_PHONE).await?;
    volunteer.sync().await?;
    leader.sync().await?;

    // Captured offline: nothing below talks to the server until the sync.
    let xml = std::fs::read_to_string(track).with_context(|| format!("cannot read {track}"))?;
    let mut fixes: Vec<_> = gpx::import_fixes(&xml)?.into_iter().flatten().collect();
    let Some(first) = fixes.first().cloned() else {
        bail!("{track} has no track points")
    };
    let shift_by = chrono::Utc::now() - first.at + chrono::Duration::seconds(1);
    fixes.iter_mut().for_each(|fix| fix.at += shift_by);

    let (site, distance) = volunteer
        .store
        .nearest_site(first.lat, first.lon)?
        .context("no sites pulled")?;
    let shift = volunteer
        .store
        .clock_in(site.id, Some(fixes[0].clone()), None, None)?;
    println!(
        "clock-in at {} ({distance:.0} m away): flags {:?}",
        site.name, shift.verdict.flags
    );

    let patrol_id = volunteer.store.start_patrol(PatrolMode::Walking, None)?;
    let started = Instant::now();
    for fix in &fixes {
        volunteer.store.record_fix(patrol_id, fix)?;
    }
    let record_ms = started.elapsed().as_millis();
    let summary = volunteer.store.stop_patrol(patrol_id)?.stop;
    println!(
        "patrol: {} fixes stored in {record_ms} ms, {} kept, {} rejected, {} segment(s), {:.1} m, moving {} s of {} s, {} chunk(s)",
        fixes.len(),
        summary.points_kept,
        summary.points_rejected,
        summary.segments,
        summary.distance_m,
        summary.moving_s,
        summary.duration_s,
        summary.chunks
    );

    let photos_dir = work.path().join("volunteer/photos");
    std::fs::create_dir_all(&photos_dir)?;
    let input_bytes = std::fs::metadata(photo_file)?.len();
    let started = Instant::now();
    let processed = photo::process_file(
        &PathBuf::from(photo_file),
        &photos_dir,
        &PhotoOptions::default(),
    )?;
    println!(
        "photo: {input_bytes} bytes in, {} bytes stored ({}x{}), EXIF position {:?}, {} ms",
        processed.bytes,
        processed.width,
        processed.height,
        processed.exif_position,
        started.elapsed().as_millis()
    );
    let path = processed.path.clone();
    let lead_id = volunteer.store.capture_lead(LeadDraft {
        category: LeadCategory::FireHazard,
        note: "消防通道被堵 / blocked fire exit".to_owned(),
        position: fixes.last().cloned(),
        position_source: PositionSource::Fix,
        address: None,
        photos: vec![LeadPhoto {
            photo: processed.into_ref(),
            path,
        }],
        patrol_id: Some(patrol_id),
    })?;
    println!(
        "queued: {} outbox entries",
        volunteer.store.sync_status()?.pending
    );

    let started = Instant::now();
    let report = volunteer.sync().await?;
    println!(
        "volunteer sync: {report:?} in {} ms",
        started.elapsed().as_millis()
    );

    leader.sync().await?;
    let queue = leader.store.review_queue()?;
    let item = queue
        .iter()
        .find(|item| item.record.id == lead_id)
        .context("lead missing from the leader's queue")?;
    println!(
        "leader sees the lead: photos {}/{}",
        item.photos_received, item.photos_total
    );
    leader.store.decide(lead_id, Action::Approve)?;
    leader.sync().await?;

    volunteer.sync().await?;
    let mine = volunteer.store.my_submissions()?;
    let lead = mine
        .iter()
        .find(|view| view.record.id == lead_id)
        .context("lead missing")?;
    println!(
        "volunteer sees: {:?}",
        lead.review.as_ref().map(|review| review.state)
    );
    Ok(())
}
