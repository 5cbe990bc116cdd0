//! Incident tools: Prometheus Alertmanager, Opsgenie and PagerDuty.

use reqwest::Method;
use serde_json::{Value, json};

use super::{OutgoingRequest, ProviderError, ProviderSettings, require_address, require_token};
use crate::event::FluxEvent;

const OPSGENIE_ALERTS_URL: &str = "https://api.opsgenie.com/v2/alerts";
const PAGERDUTY_BASE_URL: &str = "https://events.pagerduty.com";
/// Opsgenie rejects alert messages longer than this.
const OPSGENIE_MESSAGE_LIMIT: usize = 130;

/// Alertmanager API v2: one firing alert whose labels identify the object and whose
/// annotations carry the message. The address is the full alerts URL (`…/api/v2/alerts`).
pub fn alertmanager(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let address = require_address(settings)?;
    let mut labels = serde_json::Map::new();
    // Metadata first, so the identifying labels below cannot be overwritten by it.
    for (key, value) in &event.metadata {
        if key != "summary" && is_label_name(key) {
            labels.insert(key.clone(), json!(value));
        }
    }
    labels.insert(
        "alertname".into(),
        json!(format!("Flux{}{}", event.kind(), event.reason)),
    );
    labels.insert("severity".into(), json!(event.severity));
    labels.insert("reason".into(), json!(event.reason));
    labels.insert("kind".into(), json!(event.kind()));
    labels.insert("name".into(), json!(event.name()));
    labels.insert("namespace".into(), json!(event.namespace()));
    let mut annotations = json!({"message": event.message});
    if let Some(summary) = event.metadata.get("summary") {
        annotations["summary"] = json!(summary);
    }
    let mut alert = json!({"labels": labels, "annotations": annotations, "status": "firing"});
    if !event.timestamp.is_empty() {
        alert["startsAt"] = json!(event.timestamp);
    }
    let mut request = OutgoingRequest::json(Method::POST, address, &json!([alert]));
    if let Ok(token) = require_token(settings) {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    Ok(request)
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Opsgenie Alert API: `GenieKey` auth, the object as the (short) message, the event message as
/// description, metadata as details.
pub fn opsgenie(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let token = require_token(settings)?;
    let url = match settings.address.trim() {
        "" => OPSGENIE_ALERTS_URL,
        address => address,
    };
    let mut message = format!("{}: {}", event.object_title(), event.reason);
    if message.len() > OPSGENIE_MESSAGE_LIMIT {
        let mut end = OPSGENIE_MESSAGE_LIMIT;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    let mut details: serde_json::Map<String, Value> = event
        .metadata
        .iter()
        .map(|(key, value)| (key.clone(), json!(value)))
        .collect();
    details.insert("severity".into(), json!(event.severity));
    let payload = json!({
        "message": message,
        "description": event.message,
        "alias": format!("{}/{}/{}", event.kind(), event.namespace(), event.name()),
        "details": details,
        "tags": ["flux", event.kind()],
        "priority": if event.is_error() { "P2" } else { "P5" },
    });
    Ok(OutgoingRequest::json(Method::POST, url, &payload)
        .header("Authorization", format!("GenieKey {token}")))
}

/// PagerDuty Events API v2: errors trigger an incident keyed by the object, other events resolve
/// it. The routing (integration) key is the provider's `channel`.
pub fn pagerduty(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    if settings.channel.is_empty() {
        return Err(ProviderError::MissingChannel);
    }
    let base = match settings.address.trim() {
        "" => PAGERDUTY_BASE_URL,
        address => address.trim_end_matches('/'),
    };
    let dedup_key = format!("{}/{}/{}", event.kind(), event.namespace(), event.name());
    let payload = if event.is_error() {
        json!({
            "routing_key": settings.channel,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": format!("{}: {}", event.object_title(), event.message),
                "source": event.reporting_controller,
                "severity": "error",
                "timestamp": event.timestamp,
                "component": event.name(),
                "group": event.kind(),
                "class": event.reason,
                "custom_details": event.metadata,
            }
        })
    } else {
        json!({"routing_key": settings.channel, "event_action": "resolve", "dedup_key": dedup_key})
    };
    Ok(OutgoingRequest::json(
        Method::POST,
        format!("{base}/v2/enqueue"),
        &payload,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn alertmanager_alert_identifies_the_object() {
        let request =
            alertmanager(&settings("http://am:9093/api/v2/alerts"), &event("error")).unwrap();
        let json = body(&request);
        let labels = &json[0]["labels"];
        assert_eq!(
            labels["alertname"],
            "FluxKustomizationReconciliationSucceeded"
        );
        assert_eq!(labels["name"], "apps");
        assert_eq!(labels["severity"], "error");
        assert_eq!(
            labels["revision"],
            "main@sha1:0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(json[0]["startsAt"], "2025-01-02T03:04:05Z");
        assert!(
            json[0]["annotations"]["message"]
                .as_str()
                .unwrap()
                .contains("Applied")
        );
        assert!(!is_label_name("kustomize.toolkit.fluxcd.io/revision"));
    }

    #[test]
    fn opsgenie_and_pagerduty_payloads() {
        let mut settings = settings("");
        assert_eq!(
            opsgenie(&settings, &event("info")).unwrap_err(),
            ProviderError::MissingToken
        );
        settings.token = Some("key".into());
        let request = opsgenie(&settings, &event("error")).unwrap();
        assert_eq!(request.url, OPSGENIE_ALERTS_URL);
        assert!(
            request
                .headers
                .contains(&("Authorization".into(), "GenieKey key".into()))
        );
        assert_eq!(body(&request)["details"]["severity"], "error");

        settings.channel = "routing".into();
        let trigger = body(&pagerduty(&settings, &event("error")).unwrap());
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], "Kustomization/team/apps");
        assert_eq!(trigger["payload"]["severity"], "error");
        let resolve = body(&pagerduty(&settings, &event("info")).unwrap());
        assert_eq!(resolve["event_action"], "resolve");
    }
}
