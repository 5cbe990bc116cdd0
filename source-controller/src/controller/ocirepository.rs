//! The OCIRepository reconciler: one OCI artifact in a registry in, one tar.gz artifact out.
//!
//! Older API versions (`v1beta2`) are stored at `v1`, so this one reconciler serves them all.
//! A reconcile reads top to bottom: deletion and finalizer → suspend → storage step →
//! `Reconciling` → refuse unsupported fields → parse URL and ref → read the Secrets → resolve
//! the ref to a manifest digest (a HEAD request) → stop there when the stored artifact already
//! has that revision → `ArtifactOutdated` → pull the manifest and the selected layer → store it
//! → status and events.

mod fetch;
mod report;
mod spec;

use std::path::PathBuf;
use std::sync::Arc;

use eddy_api::meta::condition_type;
use eddy_api::source::{OCIRepository, OCIRepositoryStatus};
use eddy_runtime::conditions;
use eddy_runtime::events::Event;
use eddy_runtime::outcome::Timing;
use eddy_runtime::watch::requested_at;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use self::report::Success;
use super::outcome::{self, Failure};
use super::{Context, Error, lifecycle};
use crate::storage::{ObjectKey, Storage, StorageError};

pub use fetch::{LATEST_LINK, MAX_LAYER_BYTES, MAX_UNPACKED_BYTES};
pub use spec::FLUX_CONTENT_MEDIA_TYPE;

/// Flux's condition reasons of OCIRepository failures.
pub mod reason {
    pub const PULL_FAILED: &str = "OCIArtifactPullFailed";
    pub const LAYER_OPERATION_FAILED: &str = "OCIArtifactLayerOperationFailed";
    pub const URL_INVALID: &str = "URLInvalid";
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
}

/// Reconciles one OCIRepository.
pub async fn reconcile(object: Arc<OCIRepository>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let api: Api<OCIRepository> = Api::namespaced(ctx.client.clone(), &namespace);
    let key = ObjectKey::new("OCIRepository", &namespace, &name);

    if object.meta().deletion_timestamp.is_some() {
        return lifecycle::finalize(&api, object.as_ref(), &ctx, key).await;
    }
    lifecycle::ensure_finalizer(&api, object.as_ref()).await?;
    if object.spec.suspend == Some(true) {
        tracing::info!("reconciliation is suspended for this object");
        return Ok(Action::await_change());
    }

    let generation = object.meta().generation;
    let original = object.status.clone().unwrap_or_default();
    let mut status = original.clone();
    status.last_handled_reconcile_at = requested_at(object.as_ref());
    let garbage = storage_step(&ctx, &key, &mut status).await?;
    let mut progress_reported = needs_progress_report(generation, &status);
    if progress_reported {
        let message = reconciling_message(generation, &status);
        conditions::mark_reconciling(
            status.conditions.get_or_insert_with(Vec::new),
            &message,
            generation,
        );
        lifecycle::write_status(&api, &name, &status).await?;
    }

    let result = match resolve(&object, &ctx, &status).await {
        Ok(Resolution::UpToDate { revision }) => Ok(Success::UpToDate { revision }),
        Ok(Resolution::New { client, resolved }) => {
            let revision = resolved.revision();
            if let Some(message) = report::outdated_message(&status, &revision, &object.spec.url) {
                report::mark_outdated(&mut status, &message, generation);
                lifecycle::write_status(&api, &name, &status).await?;
                progress_reported = true;
            }
            fetch::pull_and_store(&client, &resolved, &object, &ctx, &key).await
        }
        Err(failure) => Err(failure),
    };
    log_result(&result);
    let report = report::apply(&mut status, generation, &result);
    if matches!(result, Ok(Success::Stored { .. })) {
        spec::record_content_config(&mut status, &object.spec);
    }
    if progress_reported || status != original {
        lifecycle::write_status(&api, &name, &status).await?;
    }
    if !garbage.is_empty() {
        let message = format!("garbage collected {} artifacts", garbage.len());
        ctx.events
            .publish(
                object.as_ref(),
                Event::trace(outcome::GARBAGE_COLLECTION_SUCCEEDED, message),
            )
            .await;
    }
    for event in report.events {
        ctx.events.publish(object.as_ref(), event).await;
    }
    let interval = spec::interval(&object.spec);
    let timing = Timing {
        interval,
        retry_interval: interval,
        requeue_dependency: ctx.requeue_dependency,
        jitter_percent: ctx.jitter_percent,
    };
    Ok(report.next.action(
        &timing,
        &ctx.failure_backoff,
        &format!("{namespace}/{name}"),
    ))
}

fn log_result(result: &Result<Success, Failure>) {
    match result {
        Ok(Success::Stored { artifact, .. }) => {
            tracing::info!(revision = %artifact.revision, "stored artifact")
        }
        Ok(Success::UpToDate { revision }) => {
            tracing::debug!(%revision, "artifact up-to-date with remote revision")
        }
        Err(failure) => {
            tracing::error!(reason = %failure.reason, error = %failure.message, "reconciliation failed")
        }
    }
}

/// What resolving the ref found.
enum Resolution {
    /// The digest has not moved and the stored artifact matches the spec: nothing downloaded.
    UpToDate { revision: String },
    New {
        client: Box<eddy_oci::RegistryClient>,
        resolved: eddy_oci::Resolved,
    },
}

/// Validate → read Secrets → resolve the ref with a HEAD request.
async fn resolve(
    object: &OCIRepository,
    ctx: &Context,
    status: &OCIRepositoryStatus,
) -> Result<Resolution, Failure> {
    if let Some(unsupported) = spec::unsupported(&object.spec) {
        return Err(unsupported);
    }
    let url = spec::url(&object.spec)?;
    let selector = spec::selector(&object.spec)?;
    let client = fetch::client(object, ctx, &url).await?;
    let resolved = client
        .resolve(&selector)
        .await
        .map_err(|error| fetch::pull_failed("failed to determine artifact digest", &error))?;
    let revision = resolved.revision();
    let in_storage = conditions::is_true(
        status.conditions.as_deref().unwrap_or_default(),
        condition_type::ARTIFACT_IN_STORAGE,
    );
    if spec::artifact_is_current(status, &object.spec, &revision, in_storage) {
        return Ok(Resolution::UpToDate { revision });
    }
    Ok(Resolution::New {
        client: Box::new(client),
        resolved,
    })
}

/// Whether the reconcile starts by reporting `Reconciling`: a new generation, no artifact, or
/// not Ready. A periodic check of a Ready object writes nothing.
fn needs_progress_report(generation: Option<i64>, status: &OCIRepositoryStatus) -> bool {
    status.observed_generation != generation
        || status.artifact.is_none()
        || !conditions::is_true(
            status.conditions.as_deref().unwrap_or_default(),
            condition_type::READY,
        )
}

fn reconciling_message(generation: Option<i64>, status: &OCIRepositoryStatus) -> String {
    match (status.observed_generation, generation) {
        (Some(observed), Some(current)) if observed != current => {
            format!("processing object: new generation {observed} -> {current}")
        }
        (None, Some(current)) => format!("processing object: new generation {current}"),
        _ => "reconciling the source".to_owned(),
    }
}

/// The storage step off the async runtime: garbage collection, forgetting a vanished artifact,
/// and URLs under the current advertised address.
async fn storage_step(
    ctx: &Context,
    key: &ObjectKey,
    status: &mut OCIRepositoryStatus,
) -> Result<Vec<PathBuf>, Error> {
    let storage = ctx.storage.clone();
    let key = key.clone();
    let mut owned = std::mem::take(status);
    let (owned, removed) = tokio::task::spawn_blocking(move || {
        let removed = reconcile_storage(&storage, &key, &mut owned);
        (owned, removed)
    })
    .await?;
    *status = owned;
    Ok(removed.unwrap_or_else(|error| {
        tracing::warn!(%error, "garbage collection failed");
        Vec::new()
    }))
}

fn reconcile_storage(
    storage: &Storage,
    key: &ObjectKey,
    status: &mut OCIRepositoryStatus,
) -> Result<Vec<PathBuf>, StorageError> {
    let current_file = status
        .artifact
        .as_ref()
        .and_then(|artifact| artifact.path.rsplit('/').next().map(str::to_owned));
    let removed = storage.garbage_collect(key, current_file.as_deref())?;
    let exists = status
        .artifact
        .as_ref()
        .is_some_and(|artifact| storage.artifact_exists(&artifact.path));
    match status.artifact.as_mut() {
        Some(artifact) if exists => {
            artifact.url = storage.artifact_url(&artifact.path);
            status.url = Some(storage.artifact_url(&Storage::artifact_path(key, LATEST_LINK)));
        }
        Some(_) => {
            status.artifact = None;
            status.url = None;
            if let Some(list) = status.conditions.as_mut() {
                conditions::remove(list, condition_type::ARTIFACT_IN_STORAGE);
            }
        }
        None => {}
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_reported_for_new_generations_and_missing_artifacts_only() {
        let mut status = OCIRepositoryStatus::default();
        assert!(needs_progress_report(Some(1), &status));
        assert_eq!(
            reconciling_message(Some(1), &status),
            "processing object: new generation 1"
        );
        status.observed_generation = Some(1);
        status.artifact = Some(eddy_api::meta::Artifact {
            path: "p".into(),
            url: "u".into(),
            revision: "latest@sha256:1".into(),
            digest: "sha256:00".into(),
            last_update_time: eddy_runtime::time::now(),
            size: None,
            metadata: None,
        });
        let mut list = Vec::new();
        conditions::mark_ready(&mut list, "Succeeded", "stored", Some(1));
        status.conditions = Some(list);
        assert!(!needs_progress_report(Some(1), &status));
        assert!(needs_progress_report(Some(2), &status));
        assert_eq!(
            reconciling_message(Some(2), &status),
            "processing object: new generation 1 -> 2"
        );
    }
}
