//! `Alert` (notification.toolkit.fluxcd.io/v1beta3): a routing rule that forwards events emitted
//! by selected Flux objects to a Provider.
//!
//! Like Provider, Alert is static configuration with no status subresource.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::LocalObjectReference;
use crate::notification::event_source::EventSourceReference;

/// Desired state of an alert.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Alert",
    namespaced,
    derive = "PartialEq",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
    doc = "Routes events from selected Flux objects to a notification Provider."
)]
#[serde(rename_all = "camelCase")]
pub struct AlertSpec {
    /// The Provider (same namespace) that delivers the matching events.
    pub provider_ref: LocalObjectReference,

    /// Lowest severity forwarded: `info` sends everything, `error` only errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "info"))]
    pub event_severity: Option<EventSeverity>,

    /// Objects whose events this alert forwards.
    pub event_sources: Vec<EventSourceReference>,

    /// Regular expressions; when set, only events whose message matches one are forwarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_list: Option<Vec<String>>,

    /// Regular expressions; events whose message matches one are dropped (wins over inclusion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_list: Option<Vec<String>>,

    /// Extra key/value pairs added to the metadata of every forwarded event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_metadata: Option<BTreeMap<String, String>>,

    /// Short text attached to forwarded events. Deprecated: use `eventMetadata.summary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub summary: Option<String>,

    /// When true, no events are forwarded for this alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

impl AlertSpec {
    /// The effective severity filter (`info` when unset).
    pub fn severity(&self) -> EventSeverity {
        self.event_severity.unwrap_or(EventSeverity::Info)
    }
}

/// Minimum severity of events an alert forwards.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventSeverity {
    /// Forward informational and error events.
    #[default]
    Info,
    /// Forward error events only.
    Error,
}

/// The CustomResourceDefinition Eddy installs for Alert at its current version.
pub fn crd() -> CustomResourceDefinition {
    let options = crate::schema::FinalizeOptions {
        status_default: false,
        ..Default::default()
    };
    crate::schema::finalize(<Alert as kube::CustomResourceExt>::crd(), options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::event_source::FluxObjectKind;

    #[test]
    fn minimal_alert_deserializes_with_info_severity() {
        let alert: Alert = serde_yaml_ng::from_str(
            r#"
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: on-call
spec:
  providerRef:
    name: slack
  eventSources:
    - kind: Kustomization
      name: '*'
      matchLabels:
        team: web
"#,
        )
        .unwrap();
        assert_eq!(alert.spec.provider_ref.name, "slack");
        assert_eq!(alert.spec.severity(), EventSeverity::Info);
        let source = &alert.spec.event_sources[0];
        assert_eq!(source.kind, FluxObjectKind::Kustomization);
        assert_eq!(source.name, "*");
        assert_eq!(source.match_labels.as_ref().unwrap()["team"], "web");
    }

    #[test]
    fn alert_crd_requires_sources_and_provider_and_has_no_status() {
        let crd = serde_json::to_value(crd()).unwrap();
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        assert!(schema["properties"].get("status").is_none());
        let mut required: Vec<&str> = schema["properties"]["spec"]["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        required.sort_unstable();
        assert_eq!(required, ["eventSources", "providerRef"]);
        assert_eq!(
            schema["properties"]["spec"]["properties"]["eventSeverity"]["default"],
            "info"
        );
    }
}
