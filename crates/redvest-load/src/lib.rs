//! A load generator for the clock-in peak: every school's duty starts in the
//! same minutes, so hundreds of phones sign in and push clock-ins at once.
//!
//! `district` builds the members and sites to seed, `server` starts the
//! release server binary on loopback, `traffic` plays the devices, and
//! `stats` turns latencies into the figures the report prints. Traffic goes
//! to loopback addresses only.

pub mod district;
pub mod server;
pub mod stats;
pub mod traffic;

/// Errors that stop a load run before it can report figures.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("invalid server url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("server url {0:?} is not a loopback address: use 127.0.0.1, localhost or [::1]")]
    NotLoopback(String),
    #[error("seeding load members failed: {0}")]
    Seed(String),
    #[error("starting the server {binary} failed: {reason}")]
    ServerStart { binary: String, reason: String },
    #[error(
        "{devices} devices need as many members, but only {members} are seeded: raise --members"
    )]
    TooFewMembers { devices: usize, members: usize },
    #[error("no device could sign in ({failed} failed): check that the members are seeded in this server's data directory")]
    NoSession { failed: usize },
    #[error("http client setup failed: {0}")]
    Client(#[from] reqwest::Error),
}
