//! The event JSON Flux controllers POST to notification-controller
//! (`event.toolkit.fluxcd.io/v1beta1` Event), as received and as forwarded by generic providers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ObjectReference;
use serde::{Deserialize, Serialize};

/// Severity value of error events.
pub const SEVERITY_ERROR: &str = "error";
/// Severity value of informational events.
pub const SEVERITY_INFO: &str = "info";
/// Severity value of trace events (never forwarded).
pub const SEVERITY_TRACE: &str = "trace";

/// Longest message Flux accepts in an event.
pub const MAX_MESSAGE_LEN: usize = 39_000;

/// One event about a Flux object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxEvent {
    pub involved_object: ObjectReference,
    pub severity: String,
    #[serde(default)]
    pub timestamp: String,
    pub message: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub reporting_controller: String,
    #[serde(default)]
    pub reporting_instance: String,
}

/// Why an event body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidEvent {
    #[error("event is not valid JSON: {0}")]
    Json(String),
    #[error("event has no involvedObject.{0}")]
    MissingField(&'static str),
    #[error("event severity '{0}' is not one of trace, info, error")]
    Severity(String),
    #[error("event message is longer than {MAX_MESSAGE_LEN} bytes")]
    MessageTooLong,
}

impl FluxEvent {
    /// Parses and validates an event body.
    pub fn parse(body: &[u8]) -> Result<Self, InvalidEvent> {
        let event: FluxEvent =
            serde_json::from_slice(body).map_err(|error| InvalidEvent::Json(error.to_string()))?;
        let object = &event.involved_object;
        if object.kind.as_deref().unwrap_or_default().is_empty() {
            return Err(InvalidEvent::MissingField("kind"));
        }
        if object.name.as_deref().unwrap_or_default().is_empty() {
            return Err(InvalidEvent::MissingField("name"));
        }
        if ![SEVERITY_TRACE, SEVERITY_INFO, SEVERITY_ERROR].contains(&event.severity.as_str()) {
            return Err(InvalidEvent::Severity(event.severity.clone()));
        }
        if event.message.len() > MAX_MESSAGE_LEN {
            return Err(InvalidEvent::MessageTooLong);
        }
        Ok(event)
    }

    pub fn kind(&self) -> &str {
        self.involved_object.kind.as_deref().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.involved_object.name.as_deref().unwrap_or_default()
    }

    pub fn namespace(&self) -> &str {
        self.involved_object
            .namespace
            .as_deref()
            .unwrap_or_default()
    }

    pub fn is_error(&self) -> bool {
        self.severity == SEVERITY_ERROR
    }

    /// The API group of the involved object (`source.toolkit.fluxcd.io`), empty for core kinds.
    pub fn group(&self) -> &str {
        self.involved_object
            .api_version
            .as_deref()
            .and_then(|api_version| api_version.split_once('/'))
            .map(|(group, _)| group)
            .unwrap_or_default()
    }

    /// `<kind>/<name>.<namespace>`, how chat messages name the object.
    pub fn object_title(&self) -> String {
        format!("{}/{}.{}", self.kind(), self.name(), self.namespace())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_runtime_payload_and_rejects_broken_ones() {
        let body = br#"{"involvedObject":{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","name":"app","namespace":"ns"},"severity":"info","timestamp":"2024-01-01T00:00:00Z","message":"m","reason":"NewArtifact","reportingController":"source-controller","reportingInstance":"x"}"#;
        let event = FluxEvent::parse(body).unwrap();
        assert_eq!(event.group(), "source.toolkit.fluxcd.io");
        assert_eq!(event.object_title(), "GitRepository/app.ns");
        assert!(matches!(
            FluxEvent::parse(b"{not json"),
            Err(InvalidEvent::Json(_))
        ));
        let no_kind = String::from_utf8_lossy(body).replace("\"kind\":\"GitRepository\",", "");
        assert_eq!(
            FluxEvent::parse(no_kind.as_bytes()),
            Err(InvalidEvent::MissingField("kind"))
        );
        let bad = String::from_utf8_lossy(body).replace("\"info\"", "\"loud\"");
        assert_eq!(
            FluxEvent::parse(bad.as_bytes()),
            Err(InvalidEvent::Severity("loud".into()))
        );
    }
}
