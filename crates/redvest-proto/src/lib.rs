//! Wire types and pure domain rules shared by the Redvest app and server.
//!
//! Nothing here does I/O: the phone and the server call the same functions
//! (clock-in judging, review transitions, track encoding) so that the instant
//! verdict a member sees and the server's final word come from one place.

pub mod duty;
pub mod gcj02;
pub mod geo;
pub mod records;
pub mod review;
pub mod time;
pub mod track;
pub mod wire;

pub use records::{Record, RecordBody};
pub use time::Stamp;
