//! Real parts wired together for reliability runs: an in-process server
//! over a seeded SQLite data directory on 127.0.0.1, and devices that each
//! own a phone database and sync with `redvest_core::sync::sync_once`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use redvest_core::sync::{sync_once, SyncClient, SyncError, SyncReport};
use redvest_core::Store;
use redvest_server::seed::{seed_demo, DEMO_PASSWORD};
use redvest_server::serve::serve;
use redvest_server::SqliteStore;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Phone numbers of the demo volunteers (squads 1 and 2).
pub const VOLUNTEERS: [&str; 6] = [
    "13800000002",
    "13800000003",
    "13800000004",
    "13800000006",
    "13800000007",
    "13800000008",
];
/// Phone number of the demo leader of squad 1.
pub const LEADER_1: &str = "13800000001";
/// Phone number of a demo brigade member.
pub const BRIGADE: &str = "13800000009";

/// Failure of a reliability harness step.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("server store failed: {0}")]
    Server(#[from] redvest_server::StoreError),
    #[error("local store failed: {0}")]
    Local(#[from] redvest_core::StoreError),
    #[error("sync failed: {0}")]
    Sync(#[from] SyncError),
    #[error("photo pipeline failed: {0}")]
    Photo(#[from] redvest_core::photo::PhotoError),
    #[error("sqlite check failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("file access failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("queue of {db} not drained after {waited:?}: {pending} entries left ({entries:?}), last error {last_error:?}")]
    NotDrained {
        db: String,
        waited: Duration,
        pending: u32,
        entries: Vec<String>,
        last_error: Option<String>,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Copies a once-seeded demo database into `data_dir`; argon2 makes seeding
/// slow, so each process seeds one template.
pub fn seed_data_dir(data_dir: &Path) -> Result<(), HarnessError> {
    static TEMPLATE: OnceLock<Result<tempfile::TempDir, String>> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| seed_template().map_err(|error| error.to_string()));
    let template = template
        .as_ref()
        .map_err(|error| HarnessError::Invalid(format!("seeding the template failed: {error}")))?;

    std::fs::create_dir_all(data_dir)?;
    std::fs::copy(
        template.path().join("redvest.db"),
        data_dir.join("redvest.db"),
    )?;
    Ok(())
}

fn seed_template() -> Result<tempfile::TempDir, HarnessError> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path())?;
    seed_demo(&store)?;
    drop(store);
    Ok(dir)
}

/// The server library serving one data directory on 127.0.0.1 in this process.
pub struct LocalServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl LocalServer {
    /// Serves `data_dir` (seed it first) on a free port of 127.0.0.1.
    pub async fn start(data_dir: &Path) -> Result<Self, HarnessError> {
        Self::start_on(data_dir, "127.0.0.1:0".parse().expect("valid address")).await
    }

    /// Serves `data_dir` on `addr`, for a restart on the port clients know.
    pub async fn start_on(data_dir: &Path, addr: SocketAddr) -> Result<Self, HarnessError> {
        let store = Arc::new(SqliteStore::open(data_dir)?);
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, store, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            data_dir: data_dir.to_owned(),
            stop: Some(stop),
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests and waits for those in flight.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One phone: its own database, photo folder and session token.
pub struct Device {
    pub store: Store,
    pub client: SyncClient,
    pub db_path: PathBuf,
    pub photo_dir: PathBuf,
    token: String,
}

impl Device {
    /// Creates a phone database at `db_path`, signs `phone` in against
    /// `server_url` and stores the session.
    pub async fn sign_in(
        db_path: &Path,
        server_url: &str,
        phone: &str,
    ) -> Result<Self, HarnessError> {
        let store = Store::open(db_path)?;
        let client = SyncClient::new(server_url)?;
        let session = client
            .sign_in(phone, DEMO_PASSWORD, store.device_id()?)
            .await?;
        store.set_session(&session.member, server_url)?;
        Self::with_parts(store, client, db_path, session.token)
    }

    /// Reopens an existing phone database with a token from an earlier sign-in.
    pub fn reopen(db_path: &Path, server_url: &str, token: &str) -> Result<Self, HarnessError> {
        let store = Store::open(db_path)?;
        let client = SyncClient::new(server_url)?;
        Self::with_parts(store, client, db_path, token.to_owned())
    }

    fn with_parts(
        store: Store,
        client: SyncClient,
        db_path: &Path,
        token: String,
    ) -> Result<Self, HarnessError> {
        let photo_dir = photo_dir_for(db_path);
        std::fs::create_dir_all(&photo_dir)?;
        Ok(Self {
            store,
            client,
            db_path: db_path.to_owned(),
            photo_dir,
            token,
        })
    }

    /// Returns the session token, to hand to a restarted process.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Runs one sync pass.
    pub async fn sync(&self) -> Result<SyncReport, SyncError> {
        sync_once(&self.store, &self.client, &self.token).await
    }

    /// Syncs until a pass succeeds with an empty outbox, and returns how
    /// long that took. Failed passes are retried after a short pause (the
    /// server's `Retry-After` when it sent one, capped at 2 s).
    pub async fn drain(&self, limit: Duration) -> Result<Duration, HarnessError> {
        let started = Instant::now();
        loop {
            let outcome = self.sync().await;
            let pending = self.store.sync_status()?.pending;
            if outcome.is_ok() && pending == 0 {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                let last_error = outcome.err().map(|error| error.to_string());
                let db = self.db_path.display().to_string();
                let entries = outbox_entries(&self.db_path)?;
                return Err(HarnessError::NotDrained {
                    db,
                    waited: limit,
                    pending,
                    entries,
                    last_error,
                });
            }
            let pause = match &outcome {
                Err(error) => error
                    .retry_after()
                    .unwrap_or(Duration::from_millis(50))
                    .min(Duration::from_secs(2)),
                Ok(_) => Duration::ZERO,
            };
            tokio::time::sleep(pause).await;
        }
    }
}

/// Describes each outbox entry left in a phone database, for error messages.
fn outbox_entries(db: &Path) -> Result<Vec<String>, HarnessError> {
    let conn = crate::check::open_read_only(db)?;
    let mut statement =
        conn.prepare("SELECT kind, target_id, attempts, next_attempt_at, last_error FROM outbox")?;
    let rows = statement.query_map([], |row| {
        let (kind, target, attempts): (String, String, i64) =
            (row.get(0)?, row.get(1)?, row.get(2)?);
        let (next, error): (Option<String>, Option<String>) = (row.get(3)?, row.get(4)?);
        Ok(format!(
            "{kind} {target}: {attempts} attempts, next at {next:?}, last error {error:?}"
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Returns the photo folder that belongs to a phone database.
pub fn photo_dir_for(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".photos");
    db_path.with_file_name(name)
}
