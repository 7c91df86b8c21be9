//! The Redvest server: the sync API phones push records to and pull changes
//! from, over an embedded SQLite store.
//!
//! `api` turns HTTP into calls on the `store::Storage` trait; `store` holds
//! the only SQL. `validate`, `judge` and `audit` are pure rules that the
//! store applies inside its transactions; `site_rules` checks sites before
//! they are stored, and `duty_hours` sums shifts the store has read.
//! `rate_limit` slows password guessing at sign-in, and `sweep` closes
//! shifts left open while `serve` runs. The `redvest-server` binary is a
//! thin CLI over `serve`, `seed` and the store.

pub mod api;
pub mod audit;
pub mod auth;
pub mod duty_hours;
pub mod error;
pub mod judge;
pub mod rate_limit;
pub mod seed;
pub mod serve;
pub mod site_rules;
pub mod store;
pub mod sweep;
pub mod validate;

pub use api::{router, router_with, RouterLimits};
pub use store::{SqliteStore, Storage, StoreError};
