//! Providers: turning one event into the HTTP request a service expects.
//!
//! Rendering is pure ([`render`]): settings resolved from the Provider and its Secrets plus the
//! event in, a method/URL/headers/body out. Sending (timeouts, retries, TLS, proxies) lives in
//! [`sender`], so every payload format is unit-tested without a network.

pub mod alerting;
pub mod chat;
pub mod commit_status;
pub mod generic;
pub mod sender;
pub mod services;

use std::collections::BTreeMap;

use eddy_api::notification::ProviderType;
use reqwest::Method;

use crate::event::FluxEvent;

/// Everything a provider needs, resolved from the Provider spec and its Secret.
#[derive(Clone, Default)]
pub struct ProviderSettings {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    /// Endpoint; the Secret's `address` wins over `spec.address`.
    pub address: String,
    pub channel: String,
    pub username: String,
    pub token: Option<String>,
    pub password: Option<String>,
    /// Extra headers from the Secret's `headers` key.
    pub headers: BTreeMap<String, String>,
    /// Commit status identifier (only used by commit status providers).
    pub commit_status_id: String,
}

impl std::fmt::Debug for ProviderSettings {
    // Hand-written so a stray `{:?}` can never print a token, password or secret address.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// One request to send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OutgoingRequest {
    /// A JSON request with the given headers.
    pub fn json(method: Method, url: impl Into<String>, body: &serde_json::Value) -> Self {
        Self {
            method,
            url: url.into(),
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// Why a notification cannot be rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProviderError {
    #[error("provider type '{0}' is not supported by Eddy")]
    Unsupported(String),
    #[error("the provider has no address (set spec.address or the 'address' key of its Secret)")]
    MissingAddress,
    #[error("the provider needs a token (the 'token' key of its Secret)")]
    MissingToken,
    #[error("the provider needs a channel (spec.channel)")]
    MissingChannel,
    #[error("invalid provider address: {0}")]
    InvalidAddress(String),
    #[error("cannot find a commit SHA in revision '{0}'")]
    NoCommit(String),
}

/// The request `settings` of `type_` sends for `event` (whose metadata is already merged), or
/// `None` when this provider has nothing to say about the event.
pub fn render(
    type_: ProviderType,
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<Option<OutgoingRequest>, ProviderError> {
    use ProviderType as T;
    let request = match type_ {
        T::Generic => generic::generic(settings, event)?,
        T::GenericHmac => generic::generic_hmac(settings, event)?,
        T::Slack => chat::slack(settings, event)?,
        T::Discord => chat::discord(settings, event)?,
        T::Rocket => chat::rocket(settings, event)?,
        T::Msteams => chat::msteams(settings, event)?,
        T::GoogleChat => chat::google_chat(settings, event)?,
        T::Telegram => chat::telegram(settings, event)?,
        T::Matrix => chat::matrix(settings, event)?,
        T::Alertmanager => alerting::alertmanager(settings, event)?,
        T::Opsgenie => alerting::opsgenie(settings, event)?,
        T::PagerDuty => alerting::pagerduty(settings, event)?,
        T::Github => return commit_status::github(settings, event),
        T::Gitlab => return commit_status::gitlab(settings, event),
        T::Gitea => return commit_status::gitea(settings, event),
        T::Bitbucket => return commit_status::bitbucket(settings, event),
        T::BitbucketServer => return commit_status::bitbucket_server(settings, event),
        T::AzureDevOps => return commit_status::azure_devops(settings, event),
        T::GithubDispatch => services::github_dispatch(settings, event)?,
        T::Webex => services::webex(settings, event)?,
        T::Grafana => services::grafana(settings, event)?,
        T::Datadog => services::datadog(settings, event)?,
        T::Lark => services::lark(settings, event)?,
        T::Zoom => services::zoom(settings, event)?,
        T::IncidentIo => services::incident_io(settings, event)?,
        other => {
            let name = serde_json::to_value(other)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("{other:?}"));
            return Err(ProviderError::Unsupported(name));
        }
    };
    Ok(Some(request))
}

/// The address, or the error saying it is missing.
pub(crate) fn require_address(settings: &ProviderSettings) -> Result<&str, ProviderError> {
    match settings.address.trim() {
        "" => Err(ProviderError::MissingAddress),
        address => Ok(address),
    }
}

pub(crate) fn require_token(settings: &ProviderSettings) -> Result<&str, ProviderError> {
    settings
        .token
        .as_deref()
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(ProviderError::MissingToken)
}

/// Metadata as `key: value` lines, sorted by key (metadata is a sorted map).
pub(crate) fn metadata_lines(event: &FluxEvent) -> String {
    event
        .metadata
        .iter()
        .map(|(key, value)| format!("{key}: {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The plain-text rendering chat services without rich formatting get.
pub(crate) fn plain_text(event: &FluxEvent) -> String {
    let mut text = format!(
        "{} {}\n{}",
        severity_marker(event),
        event.object_title(),
        event.message
    );
    let metadata = metadata_lines(event);
    if !metadata.is_empty() {
        text.push_str("\n\n");
        text.push_str(&metadata);
    }
    text
}

fn severity_marker(event: &FluxEvent) -> &'static str {
    if event.is_error() {
        "[error]"
    } else {
        "[info]"
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn settings(address: &str) -> ProviderSettings {
        ProviderSettings {
            name: "provider".into(),
            namespace: "team".into(),
            uid: "0c9a4b7e-1111-2222-3333-444455556666".into(),
            address: address.into(),
            ..ProviderSettings::default()
        }
    }

    pub fn event(severity: &str) -> FluxEvent {
        let mut event = FluxEvent::parse(
            serde_json::json!({
                "involvedObject": {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "apps", "namespace": "team", "uid": "u"},
                "severity": severity,
                "timestamp": "2025-01-02T03:04:05Z",
                "message": "Applied revision main@sha1:0123456789abcdef0123456789abcdef01234567",
                "reason": "ReconciliationSucceeded",
                "reportingController": "kustomize-controller",
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        event.metadata.insert(
            "revision".into(),
            "main@sha1:0123456789abcdef0123456789abcdef01234567".into(),
        );
        event
    }

    pub fn body(request: &OutgoingRequest) -> serde_json::Value {
        serde_json::from_slice(&request.body).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn unsupported_types_say_so_by_their_flux_name() {
        let error =
            render(ProviderType::Sentry, &settings("http://x"), &event("info")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "provider type 'sentry' is not supported by Eddy"
        );
    }

    #[test]
    fn debug_output_hides_credentials() {
        let mut settings = settings("https://hooks.example/secret-path");
        settings.token = Some("s3cr3t".into());
        let text = format!("{settings:?}");
        assert!(
            !text.contains("s3cr3t") && !text.contains("secret-path"),
            "{text}"
        );
    }
}
