//! Keeps a flapping object from flooding chat rooms: an identical event (same object, message,
//! revisions and token) is accepted at most once per `--rate-limit-interval`.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};

use crate::event::FluxEvent;

/// The rate-limit key of an event; computed before metadata cleanup, since the token that makes
/// otherwise identical events distinct is dropped by it.
pub fn key(event: &FluxEvent) -> String {
    let group = event.group();
    let scoped = |suffix: &str| {
        event
            .metadata
            .get(&format!("{group}/{suffix}"))
            .map(String::as_str)
            .unwrap_or_default()
    };
    let text = format!(
        "event/{}/{}/{}/{}{}{}{}",
        event.name(),
        event.namespace(),
        event.kind(),
        event.message,
        scoped("originRevision"),
        scoped("revision"),
        scoped("token"),
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Remembers when each key was last let through.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    last_seen: Mutex<HashMap<String, Instant>>,
}

/// Past this many remembered keys, expired ones are swept on insert.
const SWEEP_THRESHOLD: usize = 10_000;

impl RateLimiter {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_seen: Mutex::new(HashMap::new()),
        }
    }

    /// True when an event with `key` may pass at `now` (and records it); false when an identical
    /// one passed less than the interval ago. A zero interval disables limiting.
    pub fn allow(&self, key: &str, now: Instant) -> bool {
        if self.interval.is_zero() {
            return true;
        }
        let mut last_seen = self
            .last_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(previous) = last_seen.get(key)
            && now.saturating_duration_since(*previous) < self.interval
        {
            return false;
        }
        if last_seen.len() >= SWEEP_THRESHOLD {
            let interval = self.interval;
            last_seen.retain(|_, seen| now.saturating_duration_since(*seen) < interval);
        }
        last_seen.insert(key.to_owned(), now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(message: &str, revision: &str) -> FluxEvent {
        let mut event = FluxEvent::parse(
            br#"{"involvedObject":{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","name":"app","namespace":"ns"},"severity":"error","message":"x","reason":"r"}"#,
        )
        .unwrap();
        event.message = message.to_owned();
        event.metadata.insert(
            "source.toolkit.fluxcd.io/revision".to_owned(),
            revision.to_owned(),
        );
        event
    }

    #[test]
    fn keys_differ_by_message_and_revision_only() {
        assert_eq!(key(&event("a", "r1")), key(&event("a", "r1")));
        assert_ne!(key(&event("a", "r1")), key(&event("b", "r1")));
        assert_ne!(key(&event("a", "r1")), key(&event("a", "r2")));
        let mut with_token = event("a", "r1");
        with_token
            .metadata
            .insert("source.toolkit.fluxcd.io/token".into(), "t".into());
        assert_ne!(key(&event("a", "r1")), key(&with_token));
    }

    #[test]
    fn identical_events_pass_once_per_interval() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        let start = Instant::now();
        assert!(limiter.allow("k", start));
        assert!(!limiter.allow("k", start + Duration::from_secs(30)));
        assert!(limiter.allow("other", start + Duration::from_secs(30)));
        assert!(limiter.allow("k", start + Duration::from_secs(61)));
    }

    #[test]
    fn zero_interval_disables_limiting() {
        let limiter = RateLimiter::new(Duration::ZERO);
        let now = Instant::now();
        assert!(limiter.allow("k", now));
        assert!(limiter.allow("k", now));
    }
}
