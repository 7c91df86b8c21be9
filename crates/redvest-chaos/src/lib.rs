//! Tools that prove Redvest sync neither loses nor duplicates records: a
//! seeded fault proxy to put between phones and the server, real devices
//! and servers wired together on 127.0.0.1, seeded captures, and the checks
//! that compare what devices committed with what the server holds.

pub mod capture;
pub mod check;
pub mod harness;
pub mod kill;
pub mod profile;
pub mod proxy;

pub use check::Report;
pub use harness::{Device, HarnessError, LocalServer};
pub use profile::{Fault, FaultPlan, Profile};
pub use proxy::{FaultCounts, Proxy, ProxyConfig};
