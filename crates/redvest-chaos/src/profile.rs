//! Fault profiles and the seeded plan that turns a profile into one fault
//! per request. The plan is pure: the same seed and profile give the same
//! sequence of faults, so a failing run replays from its seed.

use std::str::FromStr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// How often each fault happens, as a probability per request.
///
/// The probabilities are checked in field order and the first hit wins, so
/// their sum should stay below 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// Close the connection without forwarding the request.
    pub drop_request: f64,
    /// Forward the request, then close the connection without a response.
    pub drop_response: f64,
    /// Forward the request twice and return the second response.
    pub duplicate: f64,
    /// Hold the request until the next one has been forwarded.
    pub reorder: f64,
    /// Forward the request, then send an older request to the upstream again.
    pub replay: f64,
    /// Return 500 without forwarding.
    pub server_error: f64,
    /// Return 503 without forwarding, with `Retry-After` half of the time.
    pub unavailable: f64,
    /// Send only half of the request body upstream, then close both sides.
    pub cut_request: f64,
    /// Forward the request, then return only half of the response body.
    pub cut_response: f64,
    /// Wait before forwarding, for up to `max_delay`.
    pub delay: f64,
    pub max_delay: Duration,
}

impl Profile {
    /// A profile that injects nothing.
    pub fn clean() -> Self {
        Self {
            drop_request: 0.0,
            drop_response: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            replay: 0.0,
            server_error: 0.0,
            unavailable: 0.0,
            cut_request: 0.0,
            cut_response: 0.0,
            delay: 0.0,
            max_delay: Duration::ZERO,
        }
    }

    /// A bad mobile link: about one request in four meets a fault.
    pub fn flaky() -> Self {
        Self {
            drop_request: 0.04,
            drop_response: 0.04,
            duplicate: 0.03,
            reorder: 0.02,
            replay: 0.02,
            server_error: 0.03,
            unavailable: 0.03,
            cut_request: 0.02,
            cut_response: 0.02,
            delay: 0.05,
            max_delay: Duration::from_millis(150),
        }
    }

    /// Every fault often: about two requests in three meet a fault.
    pub fn hostile() -> Self {
        Self {
            drop_request: 0.08,
            drop_response: 0.10,
            duplicate: 0.08,
            reorder: 0.05,
            replay: 0.06,
            server_error: 0.06,
            unavailable: 0.06,
            cut_request: 0.05,
            cut_response: 0.06,
            delay: 0.06,
            max_delay: Duration::from_millis(200),
        }
    }

    /// Returns the named built-in profile.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "clean" => Some(Self::clean()),
            "flaky" => Some(Self::flaky()),
            "hostile" => Some(Self::hostile()),
            _ => None,
        }
    }

    /// Sets one probability by its short name, as used on the command line.
    fn set(&mut self, key: &str, value: f64) -> Result<(), ProfileError> {
        let slot = match key {
            "drop_request" => &mut self.drop_request,
            "drop_response" => &mut self.drop_response,
            "duplicate" => &mut self.duplicate,
            "reorder" => &mut self.reorder,
            "replay" => &mut self.replay,
            "server_error" => &mut self.server_error,
            "unavailable" => &mut self.unavailable,
            "cut_request" => &mut self.cut_request,
            "cut_response" => &mut self.cut_response,
            "delay" => &mut self.delay,
            "max_delay_ms" => {
                self.max_delay = Duration::from_millis(value as u64);
                return Ok(());
            }
            _ => return Err(ProfileError::UnknownKey(key.to_owned())),
        };
        *slot = value;
        Ok(())
    }
}

/// Error in a fault profile given on the command line.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProfileError {
    #[error("unknown fault `{0}`: use a profile name (clean, flaky, hostile) or drop_request, drop_response, duplicate, reorder, replay, server_error, unavailable, cut_request, cut_response, delay, max_delay_ms")]
    UnknownKey(String),
    #[error("invalid value in `{0}`: write KEY=NUMBER, a probability from 0 to 1")]
    InvalidValue(String),
}

impl FromStr for Profile {
    type Err = ProfileError;

    /// Parses `flaky`, or `clean,drop_response=0.2`, or `drop_request=0.1,delay=0.3`:
    /// an optional base profile name followed by overrides.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut profile = Profile::clean();
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            if let Some(named) = Profile::named(part) {
                profile = named;
                continue;
            }
            let Some((key, value)) = part.split_once('=') else {
                return Err(ProfileError::UnknownKey(part.to_owned()));
            };
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|_| ProfileError::InvalidValue(part.to_owned()))?;
            if !(0.0..=1.0).contains(&value) && key != "max_delay_ms" {
                return Err(ProfileError::InvalidValue(part.to_owned()));
            }
            profile.set(key.trim(), value)?;
        }
        Ok(profile)
    }
}

/// One fault the proxy applies to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    DropRequest,
    DropResponse,
    Duplicate,
    Reorder,
    Replay,
    ServerError,
    Unavailable { retry_after_s: Option<u32> },
    CutRequest,
    CutResponse,
    Delay(Duration),
}

/// The seeded source of faults: one draw per request in arrival order.
#[derive(Debug)]
pub struct FaultPlan {
    rng: StdRng,
    profile: Profile,
}

impl FaultPlan {
    pub fn new(seed: u64, profile: Profile) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            profile,
        }
    }

    /// Draws the fault for the next request.
    pub fn next_fault(&mut self) -> Fault {
        let roll: f64 = self.rng.gen();
        let extra: u32 = self.rng.gen();
        let p = &self.profile;
        let table = [
            (p.drop_request, Fault::DropRequest),
            (p.drop_response, Fault::DropResponse),
            (p.duplicate, Fault::Duplicate),
            (p.reorder, Fault::Reorder),
            (p.replay, Fault::Replay),
            (p.server_error, Fault::ServerError),
            (
                p.unavailable,
                Fault::Unavailable {
                    retry_after_s: retry_after(extra),
                },
            ),
            (p.cut_request, Fault::CutRequest),
            (p.cut_response, Fault::CutResponse),
            (p.delay, Fault::Delay(delay(extra, p.max_delay))),
        ];

        let mut edge = 0.0;
        for (probability, fault) in table {
            edge += probability;
            if roll < edge {
                return fault;
            }
        }
        Fault::None
    }

    /// Draws a number below `bound` from the plan's stream (for replay picks).
    pub fn pick(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        self.rng.gen_range(0..bound)
    }
}

/// Half of the 503 responses carry `Retry-After` of 1 or 2 seconds.
fn retry_after(extra: u32) -> Option<u32> {
    extra.is_multiple_of(2).then_some(1 + (extra / 2) % 2)
}

fn delay(extra: u32, max: Duration) -> Duration {
    let max_ms = max.as_millis().max(1) as u64;
    Duration::from_millis(u64::from(extra) % max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let mut a = FaultPlan::new(7, Profile::hostile());
        let mut b = FaultPlan::new(7, Profile::hostile());

        let first: Vec<Fault> = (0..500).map(|_| a.next_fault()).collect();
        let second: Vec<Fault> = (0..500).map(|_| b.next_fault()).collect();

        assert_eq!(first, second);
    }

    #[test]
    fn clean_profile_injects_nothing() {
        let mut plan = FaultPlan::new(1, Profile::clean());

        assert!((0..1000).all(|_| plan.next_fault() == Fault::None));
    }

    #[test]
    fn hostile_profile_draws_every_fault() {
        let mut plan = FaultPlan::new(3, Profile::hostile());
        let faults: Vec<Fault> = (0..5000).map(|_| plan.next_fault()).collect();
        let seen = |wanted: fn(&Fault) -> bool| faults.iter().any(wanted);

        assert!(seen(|f| *f == Fault::DropRequest));
        assert!(seen(|f| *f == Fault::DropResponse));
        assert!(seen(|f| *f == Fault::Duplicate));
        assert!(seen(|f| *f == Fault::Reorder));
        assert!(seen(|f| *f == Fault::Replay));
        assert!(seen(|f| *f == Fault::ServerError));
        assert!(seen(|f| matches!(
            f,
            Fault::Unavailable {
                retry_after_s: Some(_)
            }
        )));
        assert!(seen(|f| matches!(
            f,
            Fault::Unavailable {
                retry_after_s: None
            }
        )));
        assert!(seen(|f| *f == Fault::CutRequest));
        assert!(seen(|f| *f == Fault::CutResponse));
        assert!(seen(|f| matches!(f, Fault::Delay(_))));
        assert!(seen(|f| *f == Fault::None));
    }

    #[test]
    fn profile_parsing() {
        let cases: [(&str, Result<f64, ProfileError>); 5] = [
            ("flaky", Ok(Profile::flaky().drop_request)),
            ("clean,drop_request=0.5", Ok(0.5)),
            ("hostile,drop_request=0", Ok(0.0)),
            (
                "drop_request=2",
                Err(ProfileError::InvalidValue("drop_request=2".into())),
            ),
            ("wobble=0.1", Err(ProfileError::UnknownKey("wobble".into()))),
        ];

        for (text, expected) in cases {
            let parsed = text.parse::<Profile>().map(|p| p.drop_request);
            assert_eq!(parsed, expected, "parsing {text}");
        }
    }
}
