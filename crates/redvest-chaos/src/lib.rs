//! Tools that prove Redvest sync neither loses nor duplicates records: a
//! seeded fault proxy to put between phones and the server, and the
//! checks that compare what devices committed with what the server holds.

pub mod profile;
pub mod proxy;

pub use profile::{Fault, FaultPlan, Profile};
pub use proxy::{FaultCounts, Proxy, ProxyConfig};
