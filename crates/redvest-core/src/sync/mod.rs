//! Sync between the phone's store and the server: the only part of the app
//! that touches the network.
//!
//! [`client`] speaks the HTTP API one route at a time, [`run`] performs one
//! ordered sync pass over the store, [`downloads`] brings the photos of
//! queued leads to a reviewer's phone, and [`engine`] repeats passes in the
//! background with a periodic timer, backoff and nudges.

pub mod client;
pub mod downloads;
pub mod engine;
pub mod error;
pub mod run;

pub use client::SyncClient;
pub use engine::{SyncEngine, SyncHandle, TokenSource};
pub use error::SyncError;
pub use run::{sync_once, SyncReport};
