//! Limits on failed sign-ins, per phone number and per client address, over
//! a sliding window, so that passwords cannot be guessed at speed.
//!
//! An attempt is reserved before its password is checked and counts as
//! failed until it succeeds, so concurrent guesses cannot overrun a limit.
//! Five failures lock the phone number for 15 minutes from every address,
//! the right password included: the limit protects the account, and the
//! member can still sign in once the window has passed.
//!
//! The counts live in memory, so a restart clears them and two server
//! processes would keep separate counts. That is acceptable for the one-process
//! server; a shared store would be needed behind a load balancer.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins allowed per phone number within [`WINDOW`].
pub const PHONE_LIMIT: usize = 5;
/// Failed sign-ins allowed per client address within [`WINDOW`].
pub const ADDRESS_LIMIT: usize = 30;
/// The sliding window the limits count over.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept before empty ones are dropped, so memory stays bounded.
const PRUNE_ABOVE: usize = 10_000;

/// Failed sign-in times per phone number and per client address.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    by_phone: HashMap<String, VecDeque<Instant>>,
    by_address: HashMap<IpAddr, VecDeque<Instant>>,
}

impl SignInLimiter {
    /// Returns how long to wait before the next attempt, or `None` when
    /// neither the phone number nor the address has used up its limit.
    pub fn retry_after(&self, phone: &str, address: IpAddr, now: Instant) -> Option<Duration> {
        self.lock().wait(phone, address, now)
    }

    /// Reserves one attempt: counts it as failed against the phone number
    /// and the address at once, or returns how long to wait when either
    /// has used up its limit. Pass the reservation to
    /// [`Self::record_success`] or [`Self::cancel`] if the attempt did not fail.
    pub fn reserve(
        &self,
        phone: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<Reservation, Duration> {
        let mut failures = self.lock();
        if let Some(wait) = failures.wait(phone, address, now) {
            return Err(wait);
        }
        failures.push(phone, address, now);
        Ok(Reservation {
            phone: phone.to_owned(),
            address,
            at: now,
        })
    }

    /// Takes back a reserved attempt that neither failed nor succeeded,
    /// such as one cut short by a storage error.
    pub fn cancel(&self, reservation: Reservation) {
        let mut failures = self.lock();
        if let Some(times) = failures.by_phone.get_mut(&reservation.phone) {
            remove_one(times, reservation.at);
        }
        if let Some(times) = failures.by_address.get_mut(&reservation.address) {
            remove_one(times, reservation.at);
        }
    }

    /// Forgets the failures of a phone number once its owner signed in, and
    /// takes back the reserved attempt from the address, whose earlier
    /// failures still count.
    pub fn record_success(&self, reservation: Reservation) {
        let mut failures = self.lock();
        failures.by_phone.remove(&reservation.phone);
        if let Some(times) = failures.by_address.get_mut(&reservation.address) {
            remove_one(times, reservation.at);
        }
    }

    /// Counts a failed sign-in against the phone number and the address.
    pub fn record_failure(&self, phone: &str, address: IpAddr, now: Instant) {
        self.lock().push(phone, address, now);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Failures> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One sign-in attempt counted as failed until it is known to succeed.
#[derive(Debug)]
pub struct Reservation {
    phone: String,
    address: IpAddr,
    at: Instant,
}

impl Failures {
    fn wait(&mut self, phone: &str, address: IpAddr, now: Instant) -> Option<Duration> {
        let by_phone = self
            .by_phone
            .get_mut(phone)
            .and_then(|times| wait(times, PHONE_LIMIT, now));
        let by_address = self
            .by_address
            .get_mut(&address)
            .and_then(|times| wait(times, ADDRESS_LIMIT, now));
        by_phone.max(by_address)
    }

    fn push(&mut self, phone: &str, address: IpAddr, now: Instant) {
        self.by_phone
            .entry(phone.to_owned())
            .or_default()
            .push_back(now);
        self.by_address.entry(address).or_default().push_back(now);
        if self.by_phone.len() + self.by_address.len() > PRUNE_ABOVE {
            self.prune(now);
        }
    }

    fn prune(&mut self, now: Instant) {
        self.by_phone.retain(|_, times| {
            drop_expired(times, now);
            !times.is_empty()
        });
        self.by_address.retain(|_, times| {
            drop_expired(times, now);
            !times.is_empty()
        });
    }
}

fn remove_one(times: &mut VecDeque<Instant>, at: Instant) {
    if let Some(position) = times.iter().rposition(|time| *time == at) {
        times.remove(position);
    }
}

fn drop_expired(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|first| now.saturating_duration_since(*first) >= WINDOW)
    {
        times.pop_front();
    }
}

/// Returns the wait until the oldest counted failure leaves the window,
/// when `limit` failures are inside it.
fn wait(times: &mut VecDeque<Instant>, limit: usize, now: Instant) -> Option<Duration> {
    drop_expired(times, now);
    if times.len() < limit {
        return None;
    }
    let oldest = times[times.len() - limit];
    Some(WINDOW.saturating_sub(now.saturating_duration_since(oldest)))
}

/// Masks a phone number for logs, keeping the first three and last four
/// digits (`138****0001`); a shorter text is masked whole.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "****".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const HERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn minutes(count: u64) -> Duration {
        Duration::from_secs(count * 60)
    }

    #[test]
    fn phone_limit_and_expiry() {
        let limiter = SignInLimiter::default();
        let start = Instant::now();
        for minute in 0..PHONE_LIMIT as u64 {
            assert_eq!(
                limiter.retry_after("13800000001", HERE, start + minutes(minute)),
                None
            );
            limiter.record_failure("13800000001", HERE, start + minutes(minute));
        }

        let blocked = limiter.retry_after("13800000001", HERE, start + minutes(5));
        let other_phone = limiter.retry_after("13800000002", HERE, start + minutes(5));
        let after_window = limiter.retry_after("13800000001", HERE, start + minutes(15));

        assert_eq!(blocked, Some(minutes(10)));
        assert_eq!(other_phone, None);
        assert_eq!(after_window, None);
    }

    #[test]
    fn address_limit_spans_phones() {
        let limiter = SignInLimiter::default();
        let now = Instant::now();
        for index in 0..ADDRESS_LIMIT {
            limiter.record_failure(&format!("1380000{index:04}"), HERE, now);
        }
        let elsewhere = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

        assert_eq!(limiter.retry_after("13900000000", HERE, now), Some(WINDOW));
        assert_eq!(limiter.retry_after("13900000000", elsewhere, now), None);
    }

    #[test]
    fn success_clears_phone_only() {
        let limiter = SignInLimiter::default();
        let now = Instant::now();
        for _ in 0..PHONE_LIMIT - 1 {
            limiter.record_failure("13800000001", HERE, now);
        }
        let attempt = limiter.reserve("13800000001", HERE, now).unwrap();

        limiter.record_success(attempt);

        assert_eq!(limiter.retry_after("13800000001", HERE, now), None);
        assert_eq!(limiter.lock().by_address[&HERE].len(), PHONE_LIMIT - 1);
    }

    #[test]
    fn reservations_count_until_settled() {
        let limiter = SignInLimiter::default();
        let now = Instant::now();
        let attempts: Vec<_> = (0..PHONE_LIMIT)
            .map(|_| limiter.reserve("13800000001", HERE, now).unwrap())
            .collect();

        let sixth = limiter.reserve("13800000001", HERE, now);
        for attempt in attempts {
            limiter.cancel(attempt);
        }
        let after_cancel = limiter.reserve("13800000001", HERE, now);

        assert_eq!(sixth.unwrap_err(), WINDOW);
        assert!(after_cancel.is_ok());
    }

    #[test]
    fn phone_masking() {
        let cases = [
            ("13800000001", "138****0001"),
            ("+8613800000001", "+86****0001"),
            ("1234567", "****"),
            ("", "****"),
        ];
        for (phone, masked) in cases {
            assert_eq!(mask_phone(phone), masked, "{phone:?}");
        }
    }
}
