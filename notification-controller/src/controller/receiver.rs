//! The Receiver reconciler: validates the spec, reads the token, and publishes the webhook path
//! in `status.webhookPath` with `Ready=True` ("Receiver initialized for path: …").

use std::{sync::Arc, time::Duration};

use eddy_api::notification::{Receiver, ReceiverStatus, ReceiverType, reasons};
use eddy_runtime::{
    conclude::{Ending, Outlet, conclude},
    conditions,
    events::{Event, EventRecorder},
    outcome::{self, Failure, Timing},
    requeue::Backoff,
    time, watch,
};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt, runtime::controller::Action};

use crate::{
    cel,
    receivers::{annotate, webhook_path},
};

/// Field manager of the status this controller writes.
pub const FIELD_MANAGER: &str = "notification-controller";
/// Re-check interval when `spec.interval` is unset.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);

/// What the reconciler needs besides the object.
pub struct Context {
    pub client: Client,
    pub recorder: EventRecorder,
    /// Per-object exponential backoff (`--min-retry-delay` to `--max-retry-delay`).
    pub failure_backoff: Backoff,
}

/// Why the token could not be read. Never carries the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("spec.secretRef is not set")]
    NoSecretRef,
    #[error("secret '{namespace}/{name}' not found")]
    SecretNotFound { namespace: String, name: String },
    #[error("secret '{namespace}/{name}' has no 'token' key")]
    NoTokenKey { namespace: String, name: String },
    #[error("cannot read secret '{namespace}/{name}': {source}")]
    Api {
        namespace: String,
        name: String,
        source: kube::Error,
    },
}

/// Errors of one reconcile that the status cannot carry (writing it failed).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("cannot write status: {0}")]
    Status(#[source] kube::Error),
}

/// The Receiver's token (`token` key of its `secretRef` Secret, trimmed).
pub async fn read_token(client: &Client, receiver: &Receiver) -> Result<String, TokenError> {
    let namespace = receiver.namespace().unwrap_or_default();
    let name = receiver
        .spec
        .secret_ref
        .as_ref()
        .map(|r| r.name.clone())
        .ok_or(TokenError::NoSecretRef)?;
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let secret = match api.get_opt(&name).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(TokenError::SecretNotFound { namespace, name }),
        Err(source) => {
            return Err(TokenError::Api {
                namespace,
                name,
                source,
            });
        }
    };
    let from_data = secret
        .data
        .as_ref()
        .and_then(|data| data.get("token"))
        .and_then(|bytes| String::from_utf8(bytes.0.clone()).ok());
    let from_string_data = secret
        .string_data
        .as_ref()
        .and_then(|data| data.get("token").cloned());
    from_data
        .or(from_string_data)
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty())
        .ok_or(TokenError::NoTokenKey { namespace, name })
}

/// Spec problems that no retry can fix: reported as `Stalled` with `ValidationFailed`.
pub fn validate(receiver: &Receiver) -> Result<(), String> {
    let spec = &receiver.spec;
    match spec.type_ {
        ReceiverType::Gcr | ReceiverType::GenericOidc => {
            let name = serde_json::to_value(spec.type_)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            return Err(format!("receiver type '{name}' is not supported by Eddy"));
        }
        _ => {}
    }
    for resource in &spec.resources {
        if resource.name == "*"
            && resource
                .match_labels
                .as_ref()
                .is_none_or(|labels| labels.is_empty())
        {
            return Err(format!(
                "resource {} with name '*' requires matchLabels",
                resource.kind
            ));
        }
        if resource.api_version.as_deref().is_none_or(str::is_empty)
            && annotate::default_api_version(resource.kind).is_none()
        {
            return Err(format!(
                "resource {} '{}' requires an apiVersion",
                resource.kind, resource.name
            ));
        }
        if let Some(filter) = &resource.filter {
            cel::check(filter).map_err(|error| {
                format!(
                    "resource {} '{}' filter: {error}",
                    resource.kind, resource.name
                )
            })?;
        }
    }
    if let Some(filter) = &spec.resource_filter {
        cel::check(filter).map_err(|error| format!("resourceFilter: {error}"))?;
    }
    Ok(())
}

/// One reconcile of a Receiver: validate → read the token → report the webhook path.
pub async fn reconcile(
    receiver: Arc<Receiver>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let namespace = receiver.namespace().unwrap_or_default();
    let generation = receiver.metadata.generation;
    let previous = receiver.status.clone().unwrap_or_default();
    let mut status = ReceiverStatus {
        conditions: previous.conditions.clone(),
        webhook_path: previous.webhook_path.clone(),
        last_handled_reconcile_at: watch::requested_at(receiver.as_ref())
            .or(previous.last_handled_reconcile_at.clone()),
        observed_generation: previous.observed_generation,
        url: None,
    };
    let mut conditions = status.conditions.take().unwrap_or_default();

    let ending = match webhook_path_of(&receiver, &ctx).await {
        Ok(path) => {
            let message = format!("Receiver initialized for path: {path}");
            let changed = status.webhook_path.as_deref() != Some(path.as_str())
                || !conditions::is_true(&conditions, conditions::READY);
            outcome::report_success(
                &mut conditions,
                &[],
                conditions::SUCCEEDED,
                &message,
                generation,
            );
            status.webhook_path = Some(path);
            status.observed_generation = generation;
            Ending::succeeded(changed.then(|| Event::info(conditions::SUCCEEDED, message)))
        }
        Err(failure) => Ending::failed(
            &mut conditions,
            &failure,
            generation,
            &mut status.observed_generation,
        ),
    };
    status.conditions = Some(conditions);
    let interval = time::duration_or(receiver.spec.interval.as_deref(), DEFAULT_INTERVAL);
    let api: Api<Receiver> = Api::namespaced(ctx.client.clone(), &namespace);
    let outlet = Outlet {
        field_manager: FIELD_MANAGER,
        recorder: &ctx.recorder,
        backoff: &ctx.failure_backoff,
    };
    let previous = receiver.status.as_ref();
    conclude(
        receiver.as_ref(),
        &api,
        &outlet,
        (previous, &status),
        ending,
        &Timing::fixed(interval),
    )
    .await
    .map_err(ReconcileError::Status)
}

/// The webhook path, once the spec is valid (a spec error stalls: retrying cannot fix it) and
/// the token can be read (retried with backoff: the Secret may appear).
async fn webhook_path_of(receiver: &Receiver, ctx: &Context) -> Result<String, Failure> {
    validate(receiver).map_err(|message| Failure::stalled(reasons::VALIDATION_FAILED, message))?;
    let token = read_token(&ctx.client, receiver)
        .await
        .map_err(|error| Failure::backoff(reasons::TOKEN_NOT_FOUND, error.to_string()))?;
    Ok(webhook_path(
        &token,
        &receiver.name_any(),
        &receiver.namespace().unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver(resources: serde_json::Value) -> Receiver {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "r", "namespace": "n"},
            "spec": {"type": "github", "resources": resources, "secretRef": {"name": "s"}}
        }))
        .unwrap()
    }

    #[test]
    fn validation_catches_wildcards_without_labels_missing_versions_and_bad_filters() {
        assert!(
            validate(&receiver(
                serde_json::json!([{"kind": "GitRepository", "name": "app"}])
            ))
            .is_ok()
        );
        let wildcard = validate(&receiver(
            serde_json::json!([{"kind": "GitRepository", "name": "*"}]),
        ))
        .unwrap_err();
        assert!(wildcard.contains("matchLabels"), "{wildcard}");
        let version = validate(&receiver(
            serde_json::json!([{"kind": "Kustomization", "name": "apps"}]),
        ))
        .unwrap_err();
        assert!(version.contains("apiVersion"), "{version}");
        let filter = validate(&receiver(serde_json::json!([{"kind": "GitRepository", "name": "a", "filter": "res.metadata.name =="}]))).unwrap_err();
        assert!(filter.contains("filter"), "{filter}");
    }
}
