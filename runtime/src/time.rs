//! Wall-clock helpers in the Kubernetes API's time type.

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

/// The current time, truncated to whole seconds as the API server stores condition times.
pub fn now() -> Time {
    Time(Timestamp::from_second(now_timestamp().as_second()).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// The current instant with microsecond precision (what Lease `MicroTime` fields hold).
pub fn now_timestamp() -> Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_micros() as i64)
        .unwrap_or_default();
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// RFC 3339 text of a time, as Flux writes it into annotations and events.
pub fn rfc3339(time: &Time) -> String {
    time.0.to_string()
}

/// `spec.interval` when it does not parse or is zero. The CRD patterns make that impossible
/// through the API; the fallback exists so no reconciler needs its own.
pub const FALLBACK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// `spec.interval` of any kind.
pub fn interval(text: &str) -> std::time::Duration {
    crate::cli::parse_duration(text)
        .ok()
        .filter(|interval| !interval.is_zero())
        .unwrap_or(FALLBACK_INTERVAL)
}

/// An optional duration field (`spec.timeout`, a Receiver's `spec.interval`, …), or the kind's
/// `default` when unset, unparsable or zero.
pub fn duration_or(text: Option<&str>, default: std::time::Duration) -> std::time::Duration {
    text.and_then(|text| crate::cli::parse_duration(text).ok())
        .filter(|duration| !duration.is_zero())
        .unwrap_or(default)
}

/// `spec.retryInterval`; Flux retries at the interval when it is unset.
pub fn retry_interval(text: Option<&str>, interval: std::time::Duration) -> std::time::Duration {
    duration_or(text, interval)
}

/// `spec.timeout`, or the kind's `default` when unset or unparsable.
pub fn timeout(text: Option<&str>, default: std::time::Duration) -> std::time::Duration {
    duration_or(text, default)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn intervals_fall_back_one_way_for_every_kind() {
        assert_eq!(interval("10m"), Duration::from_secs(600));
        assert_eq!(interval("1h30m"), Duration::from_secs(5400));
        assert_eq!(interval("soon"), FALLBACK_INTERVAL);
        assert_eq!(interval("0s"), FALLBACK_INTERVAL);
        let every = Duration::from_secs(600);
        assert_eq!(retry_interval(None, every), every);
        assert_eq!(retry_interval(Some("2m"), every), Duration::from_secs(120));
        assert_eq!(retry_interval(Some("nope"), every), every);
        assert_eq!(
            timeout(None, Duration::from_secs(60)),
            Duration::from_secs(60)
        );
        assert_eq!(
            timeout(Some("90s"), Duration::from_secs(60)),
            Duration::from_secs(90)
        );
    }
}
