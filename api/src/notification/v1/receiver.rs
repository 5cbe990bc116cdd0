//! `Receiver` (notification.toolkit.fluxcd.io/v1): an HTTP endpoint (`/hook/<digest>`) that, on a
//! verified call from a Git forge, registry or CI system, asks the listed Flux objects to
//! reconcile now instead of waiting for their interval.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::LocalObjectReference;
use crate::notification::event_source::ReceiverResourceReference;

/// Desired state of a webhook receiver.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1",
    kind = "Receiver",
    namespaced,
    status = "ReceiverStatus",
    derive = "PartialEq",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Status", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].message"}"#,
    doc = "A webhook endpoint that triggers reconciliation of Flux objects."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "generic-oidc receivers must define at least one oidcProvider",
        "rule": "self.type != 'generic-oidc' || (has(self.oidcProviders) && size(self.oidcProviders) > 0)"
    },
    {
        "message": "oidcProviders can only be set when type is generic-oidc",
        "rule": "self.type == 'generic-oidc' || !has(self.oidcProviders) || size(self.oidcProviders) == 0"
    },
    {
        "message": "secretRef cannot be set when type is generic-oidc",
        "rule": "self.type != 'generic-oidc' || !has(self.secretRef)"
    },
    {
        "message": "secretRef is required when type is not generic-oidc",
        "rule": "self.type == 'generic-oidc' || has(self.secretRef)"
    }
]))]
pub struct ReceiverSpec {
    /// Who calls the webhook; decides how the request is authenticated and parsed.
    #[serde(rename = "type")]
    pub type_: ReceiverType,

    /// How often the controller re-checks the token Secret and refreshes the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN), extend("default" = "10m"))]
    pub interval: Option<String>,

    /// Event types accepted (compared case-insensitively with the sender's event header, e.g.
    /// GitHub's `X-GitHub-Event`); every event is accepted when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,

    /// Objects annotated with a reconcile request when a call is accepted.
    pub resources: Vec<ReceiverResourceReference>,

    /// CEL expression evaluated per matched object (variables `res`, `req` and, for
    /// generic-oidc, `claims`); objects for which it is false are skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_filter: Option<String>,

    /// Secret whose `token` key both derives the webhook path and verifies callers; required for
    /// every type except generic-oidc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,

    /// Trusted OIDC issuers for the generic-oidc type (at least one; keyed by issuer URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["issuerURL"]))]
    pub oidc_providers: Option<Vec<OidcProvider>>,

    /// When true, calls are answered with 503 and nothing is reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Webhook senders a Receiver understands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ReceiverType {
    /// Any caller that knows the path.
    #[serde(rename = "generic")]
    Generic,
    /// Any caller that signs the body with the token (HMAC header).
    #[serde(rename = "generic-hmac")]
    GenericHmac,
    /// Any caller presenting an OIDC token from a trusted issuer.
    #[serde(rename = "generic-oidc")]
    GenericOidc,
    /// GitHub (and Gitea) webhooks.
    #[serde(rename = "github")]
    Github,
    /// GitLab webhooks.
    #[serde(rename = "gitlab")]
    Gitlab,
    /// Bitbucket Server webhooks.
    #[serde(rename = "bitbucket")]
    Bitbucket,
    /// Harbor registry webhooks.
    #[serde(rename = "harbor")]
    Harbor,
    /// Docker Hub webhooks.
    #[serde(rename = "dockerhub")]
    Dockerhub,
    /// Quay webhooks.
    #[serde(rename = "quay")]
    Quay,
    /// Google Container/Artifact Registry via Pub/Sub push.
    #[serde(rename = "gcr")]
    Gcr,
    /// Sonatype Nexus webhooks.
    #[serde(rename = "nexus")]
    Nexus,
    /// Azure Container Registry webhooks.
    #[serde(rename = "acr")]
    Acr,
    /// CDEvents.
    #[serde(rename = "cdevents")]
    Cdevents,
}

/// An OIDC issuer trusted by a generic-oidc Receiver.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcProvider {
    /// Issuer URL; its discovery document and keys verify the caller's token.
    #[serde(rename = "issuerURL")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub issuer_url: String,

    /// Expected `aud` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,

    /// Named CEL expressions over the claims, usable from the validations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<OidcVariable>>,

    /// CEL checks the token's claims must pass; at least one is required.
    #[schemars(length(min = 1))]
    pub validations: Vec<OidcValidation>,
}

/// A named CEL expression computed from OIDC claims.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct OidcVariable {
    /// Name under which the value is available to validations.
    pub name: String,
    /// CEL expression producing the value.
    pub expression: String,
}

/// A CEL check on OIDC claims with the message returned when it fails.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct OidcValidation {
    /// CEL expression that must evaluate to true.
    pub expression: String,
    /// Explanation given to the caller when the expression is false.
    pub message: String,
}

/// Observed state of a Receiver.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverStatus {
    /// Generation of the spec the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready / Reconciling / Stalled conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Option<Vec<Condition>>,

    /// Path (`/hook/<sha256>`) at which the receiver listens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,

    /// Webhook URL path as reported by v1beta2; kept only so that statuses written at that
    /// version survive storage. Eddy writes `webhookPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,

    /// Last `reconcile.fluxcd.io/requestedAt` annotation value that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl ReceiverSpec {
    /// The event type allow-list as a case-insensitive filter: true when `event` may trigger.
    pub fn accepts_event(&self, event: &str) -> bool {
        match &self.events {
            None => true,
            Some(events) if events.is_empty() => true,
            Some(events) => events
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(event)),
        }
    }
}

/// The CustomResourceDefinition Eddy installs for Receiver at its current version.
pub fn crd() -> CustomResourceDefinition {
    let options = crate::schema::FinalizeOptions {
        status_default: true,
        ..Default::default()
    };
    crate::schema::finalize(<Receiver as kube::CustomResourceExt>::crd(), options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::event_source::FluxObjectKind;

    const GITHUB_RECEIVER: &str = r#"
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: github
  namespace: flux-system
spec:
  type: github
  events: ["ping", "push"]
  secretRef:
    name: webhook-token
  resources:
    - kind: GitRepository
      name: podinfo
    - apiVersion: source.toolkit.fluxcd.io/v1
      kind: OCIRepository
      name: '*'
      matchLabels:
        app: podinfo
      filter: res.metadata.name.startsWith('pod')
"#;

    #[test]
    fn github_receiver_deserializes() {
        let receiver: Receiver = serde_yaml_ng::from_str(GITHUB_RECEIVER).unwrap();
        assert_eq!(receiver.spec.type_, ReceiverType::Github);
        assert_eq!(
            receiver.spec.secret_ref.as_ref().unwrap().name,
            "webhook-token"
        );
        assert_eq!(receiver.spec.resources.len(), 2);
        assert_eq!(
            receiver.spec.resources[1].kind,
            FluxObjectKind::OciRepository
        );
        assert!(receiver.spec.resources[1].filter.is_some());
        assert!(receiver.spec.accepts_event("Push"));
        assert!(!receiver.spec.accepts_event("release"));
    }

    #[test]
    fn oidc_receiver_keeps_issuer_url_casing() {
        let receiver: Receiver = serde_yaml_ng::from_str(
            r#"
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: ci
spec:
  type: generic-oidc
  resources: [{kind: Kustomization, name: apps}]
  oidcProviders:
    - issuerURL: https://token.actions.example.com
      validations:
        - expression: claims.repository == 'org/repo'
          message: wrong repository
"#,
        )
        .unwrap();
        let provider = &receiver.spec.oidc_providers.as_ref().unwrap()[0];
        assert_eq!(provider.issuer_url, "https://token.actions.example.com");
        let back = serde_json::to_value(&receiver).unwrap();
        assert!(back["spec"]["oidcProviders"][0].get("issuerURL").is_some());
    }

    #[test]
    fn receiver_schema_keeps_list_map_keys_and_four_rules() {
        let crd = serde_json::to_value(crd()).unwrap();
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(
            spec["x-kubernetes-validations"].as_array().unwrap().len(),
            4
        );
        let oidc = &spec["properties"]["oidcProviders"];
        assert_eq!(oidc["x-kubernetes-list-type"], "map");
        assert_eq!(oidc["x-kubernetes-list-map-keys"][0], "issuerURL");
        assert_eq!(oidc["items"]["properties"]["validations"]["minItems"], 1);
        assert_eq!(spec["properties"]["interval"]["default"], "10m");
    }
}
