//! placeholder
pub mod photo;
