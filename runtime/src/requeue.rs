//! When to reconcile again: jittered intervals after success, exponential backoff after errors.

use std::{collections::HashMap, sync::Mutex, time::Duration};

/// `interval` spread by up to ±`percent`%, so objects created together do not reconcile in
/// lock-step forever.
pub fn jittered(interval: Duration, percent: u8) -> Duration {
    if percent == 0 || interval.is_zero() {
        return interval;
    }
    let spread = f64::from(percent.min(100)) / 100.0;
    let factor = 1.0 + spread * (2.0 * pseudo_random_unit() - 1.0);
    interval.mul_f64(factor.max(0.0))
}

/// A number in [0, 1) that differs between calls; jitter needs spread, not cryptographic quality.
fn pseudo_random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Per-object exponential backoff (`--min-retry-delay` doubling up to `--max-retry-delay`), reset
/// when the object reconciles successfully.
#[derive(Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failure of `key` and returns how long to wait before the next attempt.
    pub fn next_delay(&self, key: &str) -> Duration {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = failures.entry(key.to_owned()).or_insert(0);
        let delay = self
            .min
            .saturating_mul(2u32.saturating_pow(*count))
            .min(self.max);
        *count = count.saturating_add(1);
        delay
    }

    /// Forgets the failures of `key`.
    pub fn reset(&self, key: &str) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_the_percentage() {
        let interval = Duration::from_secs(100);
        for _ in 0..200 {
            let value = jittered(interval, 5);
            assert!(
                value >= Duration::from_secs(95) && value <= Duration::from_secs(105),
                "{value:?}"
            );
        }
        assert_eq!(jittered(interval, 0), interval);
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let backoff = Backoff::new(Duration::from_millis(750), Duration::from_secs(5));
        assert_eq!(backoff.next_delay("a"), Duration::from_millis(750));
        assert_eq!(backoff.next_delay("a"), Duration::from_millis(1500));
        assert_eq!(backoff.next_delay("a"), Duration::from_millis(3000));
        assert_eq!(backoff.next_delay("a"), Duration::from_secs(5));
        assert_eq!(backoff.next_delay("b"), Duration::from_millis(750));
        backoff.reset("a");
        assert_eq!(backoff.next_delay("a"), Duration::from_millis(750));
    }
}
