//! From an accepted event to notifications: Alert matching, metadata, Provider resolution and
//! asynchronous delivery, with failures reported as events on the Alert.

pub mod matching;
pub mod metadata;
pub mod rate_limit;
pub mod resolve;

use std::{collections::BTreeMap, sync::Arc};

use eddy_api::notification::{Alert, Provider, ProviderType};
use eddy_runtime::events::{Event, EventRecorder};
use kube::{
    Api, Client, ResourceExt,
    api::{ApiResource, DynamicObject, GroupVersionKind},
};

use crate::{
    event::FluxEvent,
    lenient::{self, Scope},
    providers::{self, commit_status, sender},
};
use matching::AlertMatch;

/// Reason of the warning recorded on an Alert whose notification could not be delivered.
pub const DISPATCH_FAILED: &str = "NotificationDispatchFailed";
/// Reason of the warning recorded on an Alert whose metadata overrode the event's.
pub const METADATA_APPEND_FAILED: &str = "MetadataAppendFailed";

/// Routes events to providers.
pub struct Dispatcher {
    client: Client,
    recorder: EventRecorder,
    scope: Scope,
    no_cross_namespace_refs: bool,
}

impl Dispatcher {
    pub fn new(
        client: Client,
        recorder: EventRecorder,
        scope: Scope,
        no_cross_namespace_refs: bool,
    ) -> Self {
        Self {
            client,
            recorder,
            scope,
            no_cross_namespace_refs,
        }
    }

    /// Matches `event` (already rate-limited) against every Alert and starts one delivery per
    /// matching Provider. Returns how many deliveries were started; they finish in the background.
    pub async fn dispatch(self: &Arc<Self>, mut event: FluxEvent) -> usize {
        metadata::clean(&mut event);
        let alerts = match lenient::list::<Alert>(&self.client, &self.scope).await {
            Ok(alerts) => alerts,
            Err(error) => {
                tracing::error!(%error, "cannot list Alerts; event dropped");
                return 0;
            }
        };
        let mut labels: Option<BTreeMap<String, String>> = None;
        let mut started = 0;
        for alert in &alerts {
            let matched = match matching::alert_matches(alert, &event, self.no_cross_namespace_refs)
            {
                AlertMatch::No => false,
                AlertMatch::Yes => true,
                AlertMatch::IfLabels(selectors) => {
                    if labels.is_none() {
                        labels = Some(self.object_labels(&event).await);
                    }
                    let labels = labels.as_ref().map(|l| l as &BTreeMap<_, _>);
                    selectors.iter().any(|selector| {
                        labels.is_some_and(|labels| matching::labels_match(selector, labels))
                    })
                }
            };
            if matched && self.start_delivery(alert, &event).await {
                started += 1;
            }
        }
        started
    }

    /// The involved object's labels (empty when it cannot be read).
    async fn object_labels(&self, event: &FluxEvent) -> BTreeMap<String, String> {
        let Some((group, version)) = event
            .involved_object
            .api_version
            .as_deref()
            .and_then(|api_version| api_version.split_once('/'))
        else {
            return BTreeMap::new();
        };
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, event.kind()));
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), event.namespace(), &resource);
        match api.get_metadata_opt(event.name()).await {
            Ok(Some(object)) => object.labels().clone(),
            Ok(None) => BTreeMap::new(),
            Err(error) => {
                tracing::warn!(%error, kind = event.kind(), name = event.name(), "cannot read the labels of an event's object");
                BTreeMap::new()
            }
        }
    }

    /// Prepares and spawns the delivery for one matching Alert; false when nothing is sent.
    async fn start_delivery(self: &Arc<Self>, alert: &Alert, event: &FluxEvent) -> bool {
        let namespace = alert.namespace().unwrap_or_default();
        let provider_name = &alert.spec.provider_ref.name;
        let provider = match lenient::get::<Provider>(&self.client, &namespace, provider_name).await
        {
            Ok(Some(Ok(provider))) => provider,
            Ok(Some(Err(error))) => {
                self.warn(
                    alert,
                    DISPATCH_FAILED,
                    format!("provider '{namespace}/{provider_name}' cannot be read: {error}"),
                )
                .await;
                return false;
            }
            Ok(None) => {
                self.warn(
                    alert,
                    DISPATCH_FAILED,
                    format!("provider '{namespace}/{provider_name}' not found"),
                )
                .await;
                return false;
            }
            Err(error) => {
                tracing::error!(%error, provider = %provider_name, "cannot read Provider");
                return false;
            }
        };
        if provider.spec.suspend.unwrap_or(false) {
            return false;
        }
        let type_ = provider.spec.type_;
        if !provider_wants(type_, event) {
            return false;
        }
        let merged = metadata::merge(
            event,
            &metadata::AlertMetadata {
                event_metadata: alert.spec.event_metadata.as_ref(),
                summary: alert.spec.summary.as_deref(),
            },
        );
        if !merged.conflicts.is_empty() {
            self.warn(
                alert,
                METADATA_APPEND_FAILED,
                format!(
                    "metadata keys overridden by a higher-precedence source: {}",
                    merged.conflicts.join(", ")
                ),
            )
            .await;
        }
        let mut outgoing = event.clone();
        outgoing.metadata = merged.metadata;

        let (mut settings, transport) = match resolve::resolve(&self.client, &provider).await {
            Ok(resolved) => resolved,
            Err(error) => {
                self.warn(
                    alert,
                    DISPATCH_FAILED,
                    format!("provider '{provider_name}': {error}"),
                )
                .await;
                return false;
            }
        };
        let secrets = resolve::secrets_of(&settings, &transport);
        if type_.is_commit_status() {
            match commit_status_id(&provider, alert, &outgoing) {
                Ok(id) => settings.commit_status_id = id,
                Err(error) => {
                    self.warn(
                        alert,
                        DISPATCH_FAILED,
                        format!("provider '{provider_name}': {error}"),
                    )
                    .await;
                    return false;
                }
            }
        }
        let request = match providers::render(type_, &settings, &outgoing) {
            Ok(Some(request)) => request,
            Ok(None) => return false,
            Err(error) => {
                let text = sender::mask(&error.to_string(), &secret_refs(&secrets));
                self.warn(
                    alert,
                    DISPATCH_FAILED,
                    format!("provider '{provider_name}': {text}"),
                )
                .await;
                return false;
            }
        };
        let dispatcher = Arc::clone(self);
        let alert = alert.clone();
        let provider_name = provider_name.clone();
        tokio::spawn(async move {
            let result = match sender::build_client(&transport) {
                Ok(client) => sender::send(&client, &request, &secret_refs(&secrets)).await,
                Err(error) => Err(error),
            };
            if let Err(error) = result {
                let text = sender::mask(&error.to_string(), &secret_refs(&secrets));
                tracing::error!(alert = %alert.name_any(), namespace = %alert.namespace().unwrap_or_default(), provider = %provider_name, error = %text, "failed to send notification");
                dispatcher
                    .warn(
                        &alert,
                        DISPATCH_FAILED,
                        format!(
                            "failed to send notification to provider '{provider_name}': {text}"
                        ),
                    )
                    .await;
            }
        });
        true
    }

    async fn warn(&self, alert: &Alert, reason: &str, message: String) {
        tracing::warn!(alert = %alert.name_any(), namespace = %alert.namespace().unwrap_or_default(), reason, %message, "alert warning");
        self.recorder
            .publish(alert, Event::error(reason, message))
            .await;
    }
}

fn secret_refs(secrets: &[String]) -> Vec<&str> {
    secrets.iter().map(String::as_str).collect()
}

/// Flux's routing rules by provider kind: commit status providers only hear about commits
/// (events with a commit, a `commit_status: update`, or errors); chat providers do not get the
/// `commit_status: update` events that exist only for commit statuses.
pub fn provider_wants(type_: ProviderType, event: &FluxEvent) -> bool {
    let group = event.group();
    let commit_status_update = event
        .metadata
        .get(&format!("{group}/commit_status"))
        .is_some_and(|value| value == "update");
    if type_.is_commit_status() {
        let has_commit = event
            .metadata
            .contains_key("event.toolkit.fluxcd.io/commit");
        return has_commit || commit_status_update || event.is_error();
    }
    if commit_status_update {
        return matches!(type_, ProviderType::Generic | ProviderType::GenericHmac);
    }
    let change_request_type = matches!(
        type_,
        ProviderType::GithubPullRequestComment
            | ProviderType::GiteaPullRequestComment
            | ProviderType::GitlabMergeRequestComment
    );
    !change_request_type
        || event
            .metadata
            .contains_key("event.toolkit.fluxcd.io/change_request")
}

/// The commit status id: `spec.commitStatusExpr` evaluated, or Flux's default.
fn commit_status_id(
    provider: &Provider,
    alert: &Alert,
    event: &FluxEvent,
) -> Result<String, crate::cel::CelError> {
    let uid = provider.metadata.uid.clone().unwrap_or_default();
    match provider
        .spec
        .commit_status_expr
        .as_deref()
        .filter(|e| !e.trim().is_empty())
    {
        None => Ok(commit_status::default_status_id(event, &uid)),
        Some(expression) => {
            let variables = serde_json::json!({
                "event": event,
                "provider": provider,
                "alert": alert,
            });
            crate::cel::evaluate_string(expression, &variables)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_status_id_defaults_or_follows_the_expression() {
        let mut provider: Provider = serde_json::from_value(serde_json::json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "gh", "namespace": "n", "uid": "ABCDEF12-3456-7890"},
            "spec": {"type": "github"}
        }))
        .unwrap();
        let alert: Alert = serde_json::from_value(serde_json::json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "on-call", "namespace": "n"},
            "spec": {"providerRef": {"name": "gh"}, "eventSources": [{"kind": "Kustomization", "name": "*"}]}
        }))
        .unwrap();
        let mut event = event("info", &[]);
        event.metadata.insert("env".into(), "prod".into());
        assert_eq!(
            commit_status_id(&provider, &alert, &event).unwrap(),
            "kustomization/a/abcdef12"
        );
        provider.spec.commit_status_expr = Some(
            "event.involvedObject.name + '/' + event.metadata.env + '/' + alert.metadata.name + '/' + provider.metadata.uid.split('-')[0].lowerAscii()".into(),
        );
        assert_eq!(
            commit_status_id(&provider, &alert, &event).unwrap(),
            "a/prod/on-call/abcdef12"
        );
        provider.spec.commit_status_expr = Some("event.reason.reverse()".into());
        assert!(commit_status_id(&provider, &alert, &event).is_err());
    }

    fn event(severity: &str, metadata: &[(&str, &str)]) -> FluxEvent {
        let mut event = FluxEvent::parse(
            serde_json::json!({
                "involvedObject": {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "a", "namespace": "n"},
                "severity": severity, "message": "m", "reason": "r"
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        for (key, value) in metadata {
            event.metadata.insert((*key).into(), (*value).into());
        }
        event
    }

    #[test]
    fn commit_status_providers_hear_only_about_commits_and_errors() {
        let update = [("kustomize.toolkit.fluxcd.io/commit_status", "update")];
        assert!(provider_wants(
            ProviderType::Github,
            &event("info", &update)
        ));
        assert!(provider_wants(ProviderType::Github, &event("error", &[])));
        assert!(!provider_wants(ProviderType::Github, &event("info", &[])));
        assert!(provider_wants(
            ProviderType::Gitlab,
            &event("info", &[("event.toolkit.fluxcd.io/commit", "abc")])
        ));
        assert!(!provider_wants(
            ProviderType::Slack,
            &event("info", &update)
        ));
        assert!(provider_wants(
            ProviderType::Generic,
            &event("info", &update)
        ));
        assert!(provider_wants(ProviderType::Slack, &event("info", &[])));
        assert!(!provider_wants(
            ProviderType::GithubPullRequestComment,
            &event("info", &[])
        ));
    }
}
