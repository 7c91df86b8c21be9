//! The phone side of Redvest without any UI: the local SQLite store that
//! every capture is written to first, and the sync engine that moves it to
//! the server and brings the server's changes back.
//!
//! The Dioxus app calls [`store::Store`] on a blocking thread and runs one
//! [`sync::SyncEngine`] on its tokio runtime. Nothing here depends on Dioxus.

pub mod error;
pub mod gpx;
pub mod photo;
pub mod store;
pub mod sync;

pub use error::StoreError;
pub use store::Store;
