//! The one facade between screens and the rest of the app: the local store
//! of `redvest-core`, the photo pipeline, the platform seam and the server.
//! Screens call only this module; every store call runs on a blocking
//! thread because SQLite and photo decoding block.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine;
use redvest_core::photo::{self, PhotoError, PhotoOptions, ProcessedPhoto};
use redvest_core::store::DraftFields;
use redvest_core::sync::client::is_sha256_hex;
use redvest_core::sync::downloads::photo_path;
use redvest_core::sync::{SyncClient, SyncEngine, SyncError, SyncHandle, TokenSource};
use redvest_core::{Store, StoreError};
use redvest_proto::geo::Fix;
use redvest_proto::records::{PatrolMode, PositionSource};
use redvest_proto::review::Action;
use redvest_proto::wire::{Member, Site};
use redvest_proto::Stamp;
use uuid::Uuid;

pub use redvest_core::store::{
    ActivePatrol, ClockInReceipt, ConflictView, LeadDraft, LocalPhoto, LocalState, PatrolSummary,
    PatrolTrack, QueueItem, SubmissionView, SyncStatus,
};

use crate::config::Config;
use crate::platform::{self, Location, PlatformError, TokenStore};

/// The local database file inside the data folder.
const DB_FILE: &str = "redvest.sqlite3";

/// An error of a backend call; its message is shown to the member as it is.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(
        "cannot create the data folder {path}: {source}; set REDVEST_DATA to a writable folder"
    )]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The file of a stored photo to read: its thumbnail or the photo itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoSize {
    Thumb,
    Full,
}

/// The outcome of a sign-in that the screen reports.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub member: Member,
    /// Set when the token could not go into secure storage and lives in memory only.
    pub secret_store_warning: Option<String>,
}

/// The shift the member is on, with its site's name.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftView {
    pub shift_id: Uuid,
    pub site_name: String,
    pub clock_in_at: chrono::DateTime<chrono::Utc>,
}

/// A lead as the capture screen fills it in.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadForm {
    pub category: redvest_proto::records::LeadCategory,
    pub note: String,
    pub fix: Option<Fix>,
    pub address: Option<String>,
    pub photos: Vec<ProcessedPhoto>,
    pub patrol_id: Option<Uuid>,
}

/// App services shared by every screen.
pub struct Backend {
    store: Arc<Store>,
    config: Mutex<Config>,
    location: Arc<dyn Location>,
    token: Arc<SessionToken>,
    sync: tokio::sync::Mutex<Option<SyncHandle>>,
    photo_dir: PathBuf,
    /// Drafts already sent as leads. An autosave that started before the
    /// lead was sent must not bring its draft back afterwards.
    sent_drafts: Arc<Mutex<HashSet<Uuid>>>,
}

/// The session token held in memory for the sync engine; the copy that
/// survives a restart lives in the platform's secret store.
#[derive(Default)]
struct SessionToken(Mutex<Option<String>>);

impl TokenSource for SessionToken {
    fn token(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }
}

impl Backend {
    /// Opens the local store under the data folder and the location source.
    pub fn open(config: Config) -> Result<Self, BackendError> {
        // The sync engine downloads review photos into the same folder,
        // which it finds next to the database file.
        let photo_dir = config.data_dir.join(redvest_core::store::PHOTOS_FOLDER);
        std::fs::create_dir_all(&photo_dir).map_err(|source| BackendError::DataDir {
            path: photo_dir.clone(),
            source,
        })?;
        let store = Store::open(config.data_dir.join(DB_FILE))?;
        let location = Arc::new(platform::location(&config)?);

        Ok(Self {
            store: Arc::new(store),
            config: Mutex::new(config),
            location,
            token: Arc::new(SessionToken::default()),
            sync: tokio::sync::Mutex::new(None),
            photo_dir,
            sent_drafts: Arc::default(),
        })
    }

    /// Returns the server address in use.
    pub fn server_url(&self) -> String {
        self.config
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .server_url
            .clone()
    }

    fn set_token(&self, token: Option<String>) {
        *self
            .token
            .0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = token;
    }

    fn db_path(&self) -> PathBuf {
        self.config
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .data_dir
            .join(DB_FILE)
    }

    /// Starts the background sync loop for the signed-in member, replacing a running one.
    async fn start_sync(&self) {
        let handle = SyncEngine::spawn(self.db_path(), self.server_url(), self.token.clone());
        handle.nudge();
        if let Some(previous) = self.sync.lock().await.replace(handle) {
            previous.shutdown().await;
        }
    }

    async fn blocking<T, F>(&self, work: F) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        Ok(tokio::task::spawn_blocking(move || work(&store)).await??)
    }

    /// Restores the member signed in earlier when their token is still in secure storage.
    pub async fn restore_session(&self) -> Option<Member> {
        let (member, server_url) = self.blocking(|store| store.session()).await.ok()??;
        let tokens = platform::token_store(&server_url);
        let token = match tokio::task::spawn_blocking(move || tokens.load()).await {
            Ok(Ok(Some(token))) => token,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot read the saved sign-in");
                return None;
            }
            _ => return None,
        };

        self.set_token(Some(token));
        self.config
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .server_url = server_url;
        self.start_sync().await;
        Some(member)
    }

    /// Signs in at `server_url`, stores the member and keeps the token in secure storage.
    pub async fn sign_in(
        &self,
        server_url: &str,
        phone: &str,
        password: &str,
    ) -> Result<SignedIn, BackendError> {
        let server_url = server_url.trim().trim_end_matches('/').to_owned();
        let device_id = self.blocking(|store| store.device_id()).await?;
        let response = SyncClient::new(&server_url)?
            .sign_in(phone.trim(), password, device_id)
            .await?;

        let member = response.member.clone();
        let url = server_url.clone();
        self.blocking(move |store| store.set_session(&member, &url))
            .await?;
        self.set_token(Some(response.token.clone()));
        self.config
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .server_url = server_url.clone();
        tracing::info!(member_id = %response.member.id, "signed in");

        let tokens = platform::token_store(&server_url);
        let token = response.token;
        let saved = tokio::task::spawn_blocking(move || tokens.save(&token)).await?;
        let secret_store_warning = saved.err().map(|error| {
            tracing::warn!(%error, "sign-in kept in memory only");
            error.to_string()
        });
        self.start_sync().await;
        Ok(SignedIn {
            member: response.member,
            secret_store_warning,
        })
    }

    /// Forgets the member and their token on this device; captured records stay.
    pub async fn sign_out(&self) -> Result<(), BackendError> {
        if let Some(handle) = self.sync.lock().await.take() {
            handle.shutdown().await;
        }
        let tokens = platform::token_store(&self.server_url());
        self.set_token(None);
        if let Err(error) = tokio::task::spawn_blocking(move || tokens.clear()).await? {
            tracing::warn!(%error, "cannot remove the saved sign-in");
        }
        self.blocking(|store| store.clear_session()).await
    }

    /// Returns the current fix from the platform's location source.
    pub fn current_fix(&self) -> Result<Option<Fix>, BackendError> {
        Ok(self.location.current_fix()?)
    }

    /// Removes and returns the fixes received since the last call, oldest first.
    pub fn drain_fixes(&self) -> Result<Vec<Fix>, BackendError> {
        Ok(self.location.drain_fixes()?)
    }

    /// Uses a typed position instead of the location sensor.
    pub fn set_typed_position(&self, lat: f64, lon: f64) -> Result<(), BackendError> {
        Ok(self.location.set_typed(lat, lon)?)
    }

    /// Returns the nearest known site and the distance to its fence in metres.
    pub async fn nearest_site(&self, fix: &Fix) -> Result<Option<(Site, f64)>, BackendError> {
        let (lat, lon) = (fix.lat, fix.lon);
        self.blocking(move |store| store.nearest_site(lat, lon))
            .await
    }

    /// Returns the open shift, if any.
    pub async fn open_shift(&self) -> Result<Option<ShiftView>, BackendError> {
        self.blocking(|store| {
            let Some(shift) = store.open_shift()? else {
                return Ok(None);
            };
            let site_name = store
                .sites()?
                .into_iter()
                .find(|site| site.id == shift.site_id)
                .map(|site| site.name)
                .unwrap_or_default();
            Ok(Some(ShiftView {
                shift_id: shift.shift_id,
                site_name,
                clock_in_at: shift.clock_in_at,
            }))
        })
        .await
    }

    /// Clocks on at a site with the fix the screen showed.
    pub async fn clock_in(
        &self,
        site_id: Uuid,
        fix: Option<Fix>,
        requested_at: Stamp,
    ) -> Result<ClockInReceipt, BackendError> {
        let monotonic = platform::monotonic();
        let receipt = self
            .blocking(move |store| store.clock_in(site_id, fix, Some(requested_at), monotonic))
            .await?;
        self.sync_now().await;
        Ok(receipt)
    }

    /// Clocks off the open shift.
    pub async fn clock_out(&self, fix: Option<Fix>) -> Result<Uuid, BackendError> {
        let monotonic = platform::monotonic();
        let id = self
            .blocking(move |store| store.clock_out_monotonic(fix, monotonic))
            .await?;
        self.sync_now().await;
        Ok(id)
    }

    /// Closes the open shift once its duty window plus grace is over, marked
    /// as auto-closed, and returns whether it did.
    pub async fn close_overdue_shift(&self) -> Result<bool, BackendError> {
        let closed = self
            .blocking(|store| store.close_overdue_shift(chrono::Utc::now()))
            .await?;
        if let Some(record_id) = closed {
            tracing::info!(%record_id, "shift closed automatically after its window");
            self.sync_now().await;
        }
        Ok(closed.is_some())
    }

    /// Starts a patrol in the chosen mode, which bounds the plausible speed of its fixes.
    pub async fn start_patrol(&self, mode: PatrolMode) -> Result<Uuid, BackendError> {
        // Fixes from before the start belong to no patrol: drop the backlog.
        if let Err(error) = self.location.drain_fixes() {
            tracing::warn!(%error, "could not clear fixes taken before the patrol");
        }
        let id = self
            .blocking(move |store| store.start_patrol(mode, None))
            .await?;
        if let Err(error) = self.location.begin_background() {
            tracing::warn!(patrol_id = %id, %error, "background location not started");
        }
        Ok(id)
    }

    pub async fn record_fix(&self, patrol_id: Uuid, fix: Fix) -> Result<(), BackendError> {
        self.blocking(move |store| store.record_fix(patrol_id, &fix))
            .await
    }

    pub async fn pause_patrol(&self, patrol_id: Uuid) -> Result<(), BackendError> {
        self.blocking(move |store| store.pause_patrol(patrol_id))
            .await
    }

    pub async fn resume_patrol(&self, patrol_id: Uuid) -> Result<(), BackendError> {
        self.blocking(move |store| store.resume_patrol(patrol_id))
            .await
    }

    pub async fn stop_patrol(&self, patrol_id: Uuid) -> Result<PatrolSummary, BackendError> {
        let summary = self
            .blocking(move |store| store.stop_patrol(patrol_id))
            .await?;
        if let Err(error) = self.location.end_background() {
            tracing::warn!(%patrol_id, %error, "background location not stopped");
        }
        self.sync_now().await;
        Ok(summary)
    }

    /// Runs a chosen photo through the pipeline into the app's photo folder.
    pub async fn add_photo(&self, path: PathBuf) -> Result<ProcessedPhoto, BackendError> {
        let path = platform::photo_picker_accept(path)?;
        let dir = self.photo_dir.clone();
        let processed = tokio::task::spawn_blocking(move || {
            photo::process_file(&path, &dir, &PhotoOptions::default())
        })
        .await??;
        tracing::info!(sha256 = %processed.sha256, "photo processed");
        Ok(processed)
    }

    /// Reads a thumbnail into a `data:` URL on a blocking thread, so the web
    /// view needs no file access and no render waits for the disk.
    pub async fn thumbnail_url(&self, path: PathBuf) -> Option<String> {
        let read = tokio::task::spawn_blocking(move || std::fs::read(&path)).await;
        match read {
            Ok(Ok(bytes)) => Some(format!(
                "data:image/jpeg;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )),
            Ok(Err(error)) => {
                tracing::warn!(%error, "thumbnail not readable");
                None
            }
            Err(error) => {
                tracing::warn!(%error, "thumbnail task failed");
                None
            }
        }
    }

    /// Reads a photo of the photo folder, captured here or downloaded for
    /// review, into a `data:` URL on a blocking thread. A thumbnail prefers
    /// `<sha256>.thumb.jpg` and falls back to the photo, which the page then
    /// scales down. Returns `None` while the photo is not on this phone.
    pub async fn photo_url(&self, sha256: String, size: PhotoSize) -> Option<String> {
        if !is_sha256_hex(&sha256) {
            tracing::warn!(%sha256, "photo name is not a SHA-256, not read");
            return None;
        }
        let photo = photo_path(&self.photo_dir, &sha256);
        let thumb = self.photo_dir.join(format!("{sha256}.thumb.jpg"));
        let path = tokio::task::spawn_blocking(move || match size {
            PhotoSize::Thumb if thumb.exists() => Some(thumb),
            _ => photo.exists().then_some(photo),
        })
        .await
        .ok()??;
        self.thumbnail_url(path).await
    }

    /// Stores a lead with its photos. The position is the current fix, else
    /// the first photo's EXIF position, else none (the typed address).
    /// Captures the lead described by the form. The form is first saved as
    /// draft `draft_id`, then the lead is written and the draft deleted in
    /// one transaction, so a crash in between can never store the lead twice.
    pub async fn capture_lead(&self, draft_id: Uuid, form: LeadForm) -> Result<Uuid, BackendError> {
        let fields = draft_fields(form);
        let sent_drafts = Arc::clone(&self.sent_drafts);
        let id = self
            .blocking(move |store| {
                // Waits for an autosave of this draft that is writing right now.
                lock(&sent_drafts).insert(draft_id);
                store.save_draft(draft_id, &fields)?;
                store.capture_lead_from_draft(draft_id)
            })
            .await?;
        self.sync_now().await;
        Ok(id)
    }

    /// Saves the lead form as typed so far, so that closing the app or a
    /// crash loses nothing.
    pub async fn save_lead_draft(
        &self,
        draft_id: Uuid,
        form: LeadForm,
    ) -> Result<(), BackendError> {
        let mut fields = draft_fields(form);
        // A live fix is taken again when the lead is sent; a photo's EXIF position is kept.
        if fields.position_source != Some(PositionSource::PhotoExif) {
            fields.position = None;
            fields.position_source = None;
        }
        let sent_drafts = Arc::clone(&self.sent_drafts);
        self.blocking(move |store| {
            let sent = lock(&sent_drafts);
            if sent.contains(&draft_id) {
                return Ok(());
            }
            store.save_draft(draft_id, &fields)
        })
        .await
    }

    /// Returns the newest saved lead draft with its photos, if there is one.
    pub async fn latest_lead_draft(&self) -> Result<Option<(Uuid, DraftFields)>, BackendError> {
        let drafts = self.blocking(|store| store.drafts()).await?;
        Ok(drafts
            .into_iter()
            .next()
            .map(|saved| (saved.id, saved.fields)))
    }

    pub async fn my_submissions(&self) -> Result<Vec<SubmissionView>, BackendError> {
        self.blocking(|store| store.my_submissions()).await
    }

    pub async fn review_queue(&self) -> Result<Vec<QueueItem>, BackendError> {
        self.blocking(|store| store.review_queue()).await
    }

    pub async fn review_conflicts(&self) -> Result<Vec<ConflictView>, BackendError> {
        self.blocking(|store| store.review_conflicts()).await
    }

    pub async fn assignable_members(&self) -> Result<Vec<Member>, BackendError> {
        self.blocking(|store| store.assignable_members()).await
    }

    pub async fn sites(&self) -> Result<Vec<Site>, BackendError> {
        self.blocking(|store| store.sites()).await
    }

    pub async fn active_patrol(&self) -> Result<Option<ActivePatrol>, BackendError> {
        self.blocking(|store| store.active_patrol()).await
    }

    pub async fn patrol_track(&self, patrol_id: Uuid) -> Result<PatrolTrack, BackendError> {
        self.blocking(move |store| store.patrol_track(patrol_id))
            .await
    }

    pub async fn lead_photos(&self, lead_id: Uuid) -> Result<Vec<LocalPhoto>, BackendError> {
        self.blocking(move |store| store.lead_photos(lead_id)).await
    }

    /// Queues a reviewer's decision; the server settles it when it syncs.
    pub async fn decide(&self, subject_id: Uuid, action: Action) -> Result<Uuid, BackendError> {
        let id = self
            .blocking(move |store| store.decide(subject_id, action))
            .await?;
        self.sync_now().await;
        Ok(id)
    }

    pub async fn sync_status(&self) -> Result<SyncStatus, BackendError> {
        self.blocking(|store| store.sync_status()).await
    }

    /// Wakes the sync loop now; the badge shows the outcome when the run ends.
    pub async fn sync_now(&self) {
        match self.sync.lock().await.as_ref() {
            Some(handle) => handle.nudge(),
            None => tracing::debug!("sync requested while signed out"),
        }
    }
}

/// Picks a lead's position in order of preference: the current fix, then
/// the first photo that carries an EXIF GPS position, then none, in which
/// case the lead goes by its typed address and is flagged "no GPS".
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Turns the capture form into the fields of a stored draft.
fn draft_fields(form: LeadForm) -> DraftFields {
    let (position, position_source) = choose_position(form.fix, &form.photos);
    let photos = form
        .photos
        .into_iter()
        .map(|processed| redvest_core::store::LeadPhoto {
            path: processed.path.clone(),
            photo: processed.into_ref(),
        })
        .collect();
    DraftFields {
        category: Some(form.category),
        note: form.note,
        photos,
        position,
        position_source: Some(position_source),
        address: form.address,
        patrol_id: form.patrol_id,
    }
}

/// Rebuilds the pipeline's description of a photo a draft names, for the
/// capture form; what only the original file could tell (EXIF) is gone.
pub fn draft_photo(photo: &redvest_core::store::LeadPhoto) -> ProcessedPhoto {
    let thumb_path = photo
        .path
        .with_file_name(format!("{}.thumb.jpg", photo.photo.sha256));
    ProcessedPhoto {
        sha256: photo.photo.sha256.clone(),
        path: photo.path.clone(),
        thumb_path,
        width: photo.photo.width,
        height: photo.photo.height,
        bytes: photo.photo.bytes,
        exif_position: None,
        taken_at: None,
    }
}

pub fn choose_position(
    fix: Option<Fix>,
    photos: &[ProcessedPhoto],
) -> (Option<Fix>, PositionSource) {
    if let Some(fix) = fix {
        return (Some(fix), PositionSource::Fix);
    }
    let exif = photos.iter().find_map(|photo| {
        let (lat, lon) = photo.exif_position?;
        let taken_at = photo.taken_at.as_ref().and_then(|time| time.to_stamp());
        let at = taken_at.map_or_else(chrono::Utc::now, |stamp| stamp.utc);
        Some(Fix::new(lat, lon, None, at, "exif"))
    });
    match exif {
        Some(fix) => (Some(fix), PositionSource::PhotoExif),
        None => (None, PositionSource::Address),
    }
}
