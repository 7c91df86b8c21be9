//! The Redvest server: the sync API phones push records to and pull changes
//! from, over an embedded SQLite store.
//!
//! `api` turns HTTP into calls on the `store::Storage` trait; `store` holds
//! the only SQL. `validate`, `judge` and `audit` are pure rules that the
//! store applies inside its transactions. The `redvest-server` binary is a
//! thin CLI over `serve`, `seed` and the store.

pub mod api;
pub mod audit;
pub mod auth;
pub mod error;
pub mod judge;
pub mod seed;
pub mod serve;
pub mod store;
pub mod validate;

pub use api::router;
pub use store::{SqliteStore, Storage, StoreError};
