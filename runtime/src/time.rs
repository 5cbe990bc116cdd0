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
