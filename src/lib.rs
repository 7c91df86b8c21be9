//! The Redvest app (红马甲): a Dioxus 0.7 front end over the local store of
//! `redvest-core`. Screens live in [`screens`], reusable parts in
//! [`components`], every text in [`i18n`], device access behind [`platform`],
//! all data access behind [`backend`], and server error codes turned into
//! catalogue words in [`error_text`].

pub mod app;
pub mod backend;
pub mod components;
pub mod config;
pub mod error_text;
pub mod i18n;
pub mod platform;
pub mod screens;
pub mod state;

pub use app::App;
