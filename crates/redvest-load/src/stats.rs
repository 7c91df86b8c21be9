//! Latency figures of one phase of a load run: counts, rate and the
//! nearest-rank percentiles of the request latencies.

use std::collections::BTreeMap;
use std::time::Duration;

/// Requests of one phase (sign-in or push) and how they went.
#[derive(Debug, Clone, Default)]
pub struct PhaseStats {
    /// Latencies of the requests that got a response, sorted after `finish`.
    pub latencies: Vec<Duration>,
    /// Failed requests by cause (an HTTP status or a transport error kind).
    pub errors: BTreeMap<String, usize>,
    /// Wall time from the first request sent to the last response.
    pub elapsed: Duration,
}

impl PhaseStats {
    /// Merges another device's figures into these.
    pub fn merge(&mut self, other: PhaseStats) {
        self.latencies.extend(other.latencies);
        for (cause, count) in other.errors {
            *self.errors.entry(cause).or_default() += count;
        }
    }

    pub fn record_error(&mut self, cause: impl Into<String>) {
        *self.errors.entry(cause.into()).or_default() += 1;
    }

    /// Sorts the latencies so percentiles can be read.
    pub fn finish(&mut self, elapsed: Duration) {
        self.latencies.sort_unstable();
        self.elapsed = elapsed;
    }

    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    /// Returns the nearest-rank percentile (0–100) of the sorted latencies.
    pub fn percentile(&self, percent: f64) -> Option<Duration> {
        percentile(&self.latencies, percent)
    }

    pub fn max(&self) -> Option<Duration> {
        self.latencies.last().copied()
    }
}

/// Returns the nearest-rank percentile of sorted values: the smallest value
/// with at least `percent` % of all values at or below it.
pub fn percentile(sorted: &[Duration], percent: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Formats a latency in milliseconds with one decimal, or `-` when absent.
pub fn millis(latency: Option<Duration>) -> String {
    latency.map_or_else(
        || "-".to_owned(),
        |value| format!("{:.1}", value.as_secs_f64() * 1e3),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values
            .iter()
            .map(|&value| Duration::from_millis(value))
            .collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let hundred: Vec<u64> = (1..=100).collect();
        let table: [(&str, Vec<Duration>, f64, Option<u64>); 6] = [
            ("empty", Vec::new(), 50.0, None),
            ("single", ms(&[7]), 99.0, Some(7)),
            ("median of four", ms(&[1, 2, 3, 4]), 50.0, Some(2)),
            ("p99 of hundred", ms(&hundred), 99.0, Some(99)),
            ("p100 of hundred", ms(&hundred), 100.0, Some(100)),
            ("p0 of hundred", ms(&hundred), 0.0, Some(1)),
        ];
        for (name, values, percent, expected) in table {
            let expected = expected.map(Duration::from_millis);

            assert_eq!(percentile(&values, percent), expected, "{name}");
        }
    }

    #[test]
    fn merge_adds_errors() {
        let mut first = PhaseStats::default();
        first.record_error("http 500");
        let mut second = PhaseStats::default();
        second.record_error("http 500");
        second.record_error("timed out");

        first.merge(second);

        assert_eq!(first.errors.get("http 500"), Some(&2));
        assert_eq!(first.errors.get("timed out"), Some(&1));
        assert_eq!(first.error_count(), 3);
    }
}
