//! `Provider` (notification.toolkit.fluxcd.io/v1beta3): where and how the notification controller
//! delivers events — a chat webhook, a Git forge commit status, a message bus, and so on.
//!
//! Providers are static configuration: the controller never writes a status for them, so the
//! kind has no status subresource.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::LocalObjectReference;

/// Provider types that may carry `commitStatusExpr`, i.e. those that post Git commit statuses.
pub const COMMIT_STATUS_PROVIDER_TYPES: &[ProviderType] = &[
    ProviderType::Github,
    ProviderType::Gitlab,
    ProviderType::Gitea,
    ProviderType::BitbucketServer,
    ProviderType::Bitbucket,
    ProviderType::AzureDevOps,
];

/// Desired state of a notification provider.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Provider",
    namespaced,
    derive = "PartialEq",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
    doc = "A destination for events forwarded by the notification controller."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types",
    "rule": "self.type == 'github' || self.type == 'gitlab' || self.type == 'gitea' || self.type == 'bitbucketserver' || self.type == 'bitbucket' || self.type == 'azuredevops' || !has(self.commitStatusExpr)"
}]))]
pub struct ProviderSpec {
    /// Which kind of service receives the events; decides the payload format and which of the
    /// other fields and Secret keys are read.
    #[serde(rename = "type")]
    pub type_: ProviderType,

    /// Ignored since v1beta3 (providers are not reconciled periodically any more); accepted so
    /// that older manifests still validate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub interval: Option<String>,

    /// Destination inside the service, e.g. a Slack channel, a Telegram chat id or a NATS subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub channel: Option<String>,

    /// Sender name shown by services that support one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub username: Option<String>,

    /// Endpoint URL (webhook, API or repository URL). The `address` key of `secretRef`, when
    /// present, takes precedence so that secret URLs need not live in the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub address: Option<String>,

    /// How long a single delivery may take (the controller uses 15s when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::TIMEOUT_PATTERN))]
    pub timeout: Option<String>,

    /// HTTP(S) proxy URL for outgoing requests. Deprecated: prefer `proxySecretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^(http|https)://.*$"))]
    pub proxy: Option<String>,

    /// Secret with the proxy's `address` and optional `username`/`password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,

    /// Secret with credentials and overrides: `address`, `token`, `username`, `password`,
    /// `headers` (a YAML map of extra HTTP headers) and, for GitHub App auth, the app keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,

    /// Service account whose workload identity is used to authenticate to cloud services
    /// (Azure Event Hub, Google Pub/Sub, Azure DevOps, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,

    /// Secret with TLS material (`ca.crt`, and `tls.crt`/`tls.key` for client certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,

    /// When true, events routed to this provider are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// CEL expression computing the commit status identifier (variables `event`, `provider`,
    /// `alert`); only valid for the commit status provider types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_status_expr: Option<String>,
}

/// Services the notification controller can deliver to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ProviderType {
    /// Slack incoming webhook, or the chat API with a token.
    #[serde(rename = "slack")]
    Slack,
    /// Discord webhook.
    #[serde(rename = "discord")]
    Discord,
    /// Microsoft Teams (Workflows webhook or legacy connector).
    #[serde(rename = "msteams")]
    Msteams,
    /// Rocket.Chat webhook.
    #[serde(rename = "rocket")]
    Rocket,
    /// Plain JSON POST of the event.
    #[serde(rename = "generic")]
    Generic,
    /// Plain JSON POST signed with an HMAC header.
    #[serde(rename = "generic-hmac")]
    GenericHmac,
    /// GitHub commit status.
    #[serde(rename = "github")]
    Github,
    /// GitLab commit status.
    #[serde(rename = "gitlab")]
    Gitlab,
    /// Gitea commit status.
    #[serde(rename = "gitea")]
    Gitea,
    /// Comment on a Gitea pull request.
    #[serde(rename = "giteapullrequestcomment")]
    GiteaPullRequestComment,
    /// Bitbucket Server / Data Center commit status.
    #[serde(rename = "bitbucketserver")]
    BitbucketServer,
    /// Bitbucket Cloud commit status.
    #[serde(rename = "bitbucket")]
    Bitbucket,
    /// Azure DevOps commit status.
    #[serde(rename = "azuredevops")]
    AzureDevOps,
    /// Google Chat webhook.
    #[serde(rename = "googlechat")]
    GoogleChat,
    /// Google Cloud Pub/Sub topic.
    #[serde(rename = "googlepubsub")]
    GooglePubSub,
    /// Webex room.
    #[serde(rename = "webex")]
    Webex,
    /// Sentry DSN.
    #[serde(rename = "sentry")]
    Sentry,
    /// Azure Event Hub.
    #[serde(rename = "azureeventhub")]
    AzureEventHub,
    /// Telegram chat.
    #[serde(rename = "telegram")]
    Telegram,
    /// Lark webhook.
    #[serde(rename = "lark")]
    Lark,
    /// Matrix room.
    #[serde(rename = "matrix")]
    Matrix,
    /// Opsgenie alert API.
    #[serde(rename = "opsgenie")]
    Opsgenie,
    /// Prometheus Alertmanager.
    #[serde(rename = "alertmanager")]
    Alertmanager,
    /// Grafana annotations API.
    #[serde(rename = "grafana")]
    Grafana,
    /// GitHub `repository_dispatch` event.
    #[serde(rename = "githubdispatch")]
    GithubDispatch,
    /// Comment on a GitHub pull request.
    #[serde(rename = "githubpullrequestcomment")]
    GithubPullRequestComment,
    /// Comment on a GitLab merge request.
    #[serde(rename = "gitlabmergerequestcomment")]
    GitlabMergeRequestComment,
    /// PagerDuty Events API v2.
    #[serde(rename = "pagerduty")]
    PagerDuty,
    /// Datadog events API.
    #[serde(rename = "datadog")]
    Datadog,
    /// NATS subject.
    #[serde(rename = "nats")]
    Nats,
    /// Zulip stream.
    #[serde(rename = "zulip")]
    Zulip,
    /// OpenTelemetry (OTLP) traces.
    #[serde(rename = "otel")]
    Otel,
    /// Zoom chat webhook.
    #[serde(rename = "zoom")]
    Zoom,
    /// incident.io alert source.
    #[serde(rename = "incident.io")]
    IncidentIo,
}

impl ProviderType {
    /// Whether this provider type posts Git commit statuses (and so may use `commitStatusExpr`).
    pub fn is_commit_status(self) -> bool {
        COMMIT_STATUS_PROVIDER_TYPES.contains(&self)
    }
}

/// The CustomResourceDefinition Eddy installs for Provider at its current version.
pub fn crd() -> CustomResourceDefinition {
    let options = crate::schema::FinalizeOptions {
        status_default: false,
        ..Default::default()
    };
    crate::schema::finalize(<Provider as kube::CustomResourceExt>::crd(), options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_provider_deserializes() {
        let provider: Provider = serde_yaml_ng::from_str(
            "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  name: slack\nspec:\n  type: slack\n  channel: general\n",
        )
        .unwrap();
        assert_eq!(provider.spec.type_, ProviderType::Slack);
        assert_eq!(provider.spec.channel.as_deref(), Some("general"));
        assert!(provider.spec.secret_ref.is_none());
    }

    #[test]
    fn dotted_and_dashed_type_names_round_trip() {
        for (text, expected) in [
            ("\"incident.io\"", ProviderType::IncidentIo),
            ("\"generic-hmac\"", ProviderType::GenericHmac),
            ("\"azuredevops\"", ProviderType::AzureDevOps),
        ] {
            let parsed: ProviderType = serde_json::from_str(text).unwrap();
            assert_eq!(parsed, expected);
            assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
        }
    }

    #[test]
    fn commit_status_types_are_the_six_forges() {
        assert!(ProviderType::AzureDevOps.is_commit_status());
        assert!(!ProviderType::GithubDispatch.is_commit_status());
        assert!(!ProviderType::Slack.is_commit_status());
    }

    #[test]
    fn provider_crd_has_no_status_and_keeps_commit_status_rule() {
        let crd = serde_json::to_value(crd()).unwrap();
        let version = &crd["spec"]["versions"][0];
        let schema = &version["schema"]["openAPIV3Schema"];
        assert!(schema["properties"].get("status").is_none());
        let rules = schema["properties"]["spec"]["x-kubernetes-validations"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), 1);
        assert!(
            rules[0]["rule"]
                .as_str()
                .unwrap()
                .contains("!has(self.commitStatusExpr)")
        );
        assert_eq!(
            schema["properties"]["spec"]["properties"]["timeout"]["pattern"],
            r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"
        );
    }
}
