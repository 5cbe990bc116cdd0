//! Go's `time.Time` as Helm's JSON carries it: RFC 3339 with nanoseconds trimmed, in the writer's
//! UTC offset, and Go's zero time (`0001-01-01T00:00:00Z`) for "never".

use std::fmt;

use jiff::Timestamp;
use jiff::fmt::temporal::Pieces;
use jiff::tz::Offset;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant plus the UTC offset it was written with, so a record written by a `helm` in
/// another time zone re-encodes to the same text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    pub timestamp: Timestamp,
    pub offset: Offset,
}

/// `0001-01-01T00:00:00Z`, Go's zero `time.Time`.
const ZERO_SECONDS: i64 = -62_135_596_800;

impl Time {
    /// Go's zero time: what Helm writes for a time that has not happened (`info.deleted` of a
    /// live release, a hook that never ran).
    pub fn zero() -> Time {
        Time {
            timestamp: Timestamp::from_second(ZERO_SECONDS).unwrap_or(Timestamp::MIN),
            offset: Offset::UTC,
        }
    }

    /// Now, in UTC.
    pub fn now() -> Time {
        Time::from(Timestamp::now())
    }

    pub fn is_zero(&self) -> bool {
        self.timestamp.as_second() == ZERO_SECONDS && self.timestamp.subsec_nanosecond() == 0
    }

    /// Parses Go's `time.Time` JSON text (RFC 3339, any offset).
    pub fn parse(text: &str) -> Result<Time, String> {
        let timestamp: Timestamp = text
            .parse()
            .map_err(|e| format!("invalid time {text:?}: {e}"))?;
        let offset = Pieces::parse(text)
            .ok()
            .and_then(|pieces| pieces.to_numeric_offset())
            .unwrap_or(Offset::UTC);
        Ok(Time { timestamp, offset })
    }
}

impl Default for Time {
    fn default() -> Self {
        Time::zero()
    }
}

impl From<Timestamp> for Time {
    fn from(timestamp: Timestamp) -> Self {
        Time {
            timestamp,
            offset: Offset::UTC,
        }
    }
}

impl fmt::Display for Time {
    // Go prints `Z` for every zero offset and `±hh:mm` otherwise, fractional seconds trimmed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.offset == Offset::UTC {
            write!(f, "{}", self.timestamp)
        } else {
            write!(f, "{}", self.timestamp.display_with_offset(self.offset))
        }
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Helm reads `null` and `""` as the zero time.
        let text: Option<String> = Option::deserialize(deserializer)?;
        match text.filter(|t| !t.is_empty()) {
            None => Ok(Time::zero()),
            Some(text) => Time::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_time_is_gos() {
        assert_eq!(Time::zero().to_string(), "0001-01-01T00:00:00Z");
        assert!(Time::parse("0001-01-01T00:00:00Z").unwrap().is_zero());
    }

    #[test]
    fn keeps_fraction_and_offset_as_written() {
        for text in [
            "2026-12-06T03:05:29.123456789Z",
            "2026-12-06T03:05:29.1234Z",
            "2026-12-06T03:05:29Z",
            "2026-12-06T04:05:29.5+01:00",
            "2026-12-05T22:05:29.000000001-05:00",
        ] {
            assert_eq!(Time::parse(text).unwrap().to_string(), text);
        }
    }
}
