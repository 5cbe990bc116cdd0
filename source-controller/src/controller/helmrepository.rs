//! The HelmRepository reconciler: a chart repository's `index.yaml` in, the same bytes out as
//! the artifact `index-<sha256>.yaml` (revision `sha256:<hex>`), linked as `index.yaml`.
//!
//! deletion and finalizer → suspend → refusals (`provider`, `type: oci`) → storage step →
//! `Reconciling` → credentials → download to a temporary file (size cap, SHA-256 on the way) →
//! skip when the revision is stored → validate the index in one streaming pass → store.
//! The index is never held in memory whole.

use std::sync::Arc;
use std::time::Duration;

use eddy_api::meta::Artifact;
use eddy_api::meta::condition_type;
use eddy_api::source::HelmRepository;
use eddy_api::source::helmrepository::HelmRepositoryType;
use eddy_api::source::v1::common::OciProvider;
use eddy_runtime::events::Event;
use eddy_runtime::outcome::Failure;
use eddy_runtime::unsupported::NOT_SUPPORTED;
use eddy_runtime::watch::requested_at;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::helm_outcome::{self, Success};
use super::helm_transport::{self, AUTHENTICATION_FAILED};
use super::{Context, Error};
use super::{helm_lifecycle, lifecycle};
use crate::storage::ObjectKey;

/// Flux's reason for an index that cannot be fetched or read.
pub const INDEXATION_FAILED: &str = "IndexationFailed";
/// The "latest" link `status.url` points at.
pub const INDEX_LINK: &str = "index.yaml";
/// Flux's `Ready` message of an OCI HelmRepository, which holds settings only.
pub const OCI_READY_MESSAGE: &str = "Helm repository is Ready";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Reconciles one HelmRepository.
pub async fn reconcile(object: Arc<HelmRepository>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let api: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), &namespace);
    let key = ObjectKey::new("HelmRepository", &namespace, &name);
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
    let is_oci = object.spec.r#type == Some(HelmRepositoryType::Oci);
    let garbage = helm_lifecycle::storage_step(&ctx, &key, &mut status, INDEX_LINK).await?;
    let progress = helm_outcome::needs_progress_report(generation, &mut status, !is_oci);
    if progress {
        helm_outcome::mark_reconciling(generation, &mut status);
        lifecycle::write_status(&api, &name, &status).await?;
    }

    let result = if let Some(refusal) = refusal(&object) {
        Err(refusal)
    } else if is_oci {
        // Static: charts are pulled from the registry by the HelmChart itself.
        status.artifact = None;
        status.url = None;
        Ok(helm_outcome::up_to_date(
            eddy_api::meta::reason::SUCCEEDED,
            OCI_READY_MESSAGE.to_owned(),
            None,
        ))
    } else {
        fetch_and_store(&object, &ctx, &key, status.artifact.as_ref()).await
    };
    if let Err(failure) = &result {
        tracing::error!(reason = %failure.reason, error = %failure.message, "reconciliation failed");
    }
    let (events, next) = helm_outcome::apply(&mut status, generation, &result);
    if progress || status != original {
        lifecycle::write_status(&api, &name, &status).await?;
    }
    let interval = object
        .spec
        .interval
        .as_deref()
        .map(eddy_runtime::time::interval)
        .unwrap_or(eddy_runtime::time::FALLBACK_INTERVAL);
    let next = if is_oci && result.is_ok() {
        eddy_runtime::outcome::Next::AwaitChange
    } else {
        next
    };
    Ok(helm_lifecycle::finish(&ctx, object.as_ref(), &garbage, events, next, interval).await)
}

/// Fields Eddy cannot act on: Stalled before anything is fetched.
fn refusal(object: &HelmRepository) -> Option<Failure> {
    if object.spec.provider != OciProvider::Generic {
        return Some(Failure::stalled(
            NOT_SUPPORTED,
            "spec.provider is not supported yet",
        ));
    }
    let url = object.spec.url.as_str();
    let scheme_ok = match object.spec.r#type {
        Some(HelmRepositoryType::Oci) => url.starts_with("oci://"),
        _ => url.starts_with("http://") || url.starts_with("https://"),
    };
    if !scheme_ok || reqwest::Url::parse(url).is_err() {
        return Some(
            Failure::stalled("URLInvalid", format!("invalid Helm repository URL '{url}'"))
                .with_condition(condition_type::FETCH_FAILED),
        );
    }
    None
}

/// The URL of a repository's index: `<url>/index.yaml`.
pub fn index_url(repository_url: &str) -> String {
    format!("{}/index.yaml", repository_url.trim_end_matches('/'))
}

fn indexation_failed(message: String) -> Failure {
    Failure::backoff(INDEXATION_FAILED, message).with_condition(condition_type::FETCH_FAILED)
}

fn storage_failed(reason: &str, message: String) -> Failure {
    Failure::backoff(reason, message).with_condition(condition_type::STORAGE_OPERATION_FAILED)
}

async fn fetch_and_store(
    object: &HelmRepository,
    ctx: &Context,
    key: &ObjectKey,
    stored: Option<&Artifact>,
) -> Result<Success, Failure> {
    let spec = &object.spec;
    let credentials = helm_transport::credentials(&ctx.client, &key.namespace, spec)
        .await
        .map_err(|error| {
            Failure::backoff(AUTHENTICATION_FAILED, error.to_string())
                .with_condition(condition_type::FETCH_FAILED)
        })?;
    let timeout = eddy_runtime::time::timeout(spec.timeout.as_deref(), DEFAULT_TIMEOUT);
    let client = helm_transport::http_client(&credentials, timeout).map_err(|error| {
        indexation_failed(format!("failed to fetch Helm repository index: {error}"))
    })?;
    let url = index_url(&spec.url);
    let mut temp = tempfile::tempfile()
        .map_err(|error| storage_failed("DirectoryCreationFailed", error.to_string()))?;
    let downloaded = helm_transport::download(
        &client,
        &url,
        credentials.basic.as_ref(),
        ctx.helm.index_max_size,
        &mut std::io::BufWriter::new(&mut temp),
    )
    .await
    .map_err(|error| {
        indexation_failed(format!("failed to fetch Helm repository index: {error}"))
    })?;
    let revision = format!("sha256:{}", downloaded.sha256);
    let message = format!("stored artifact: revision '{revision}'");
    if stored.is_some_and(|artifact| artifact.revision == revision) {
        let trace = Event::trace(
            "ArtifactUpToDate",
            format!("artifact up-to-date with remote revision: '{revision}'"),
        );
        return Ok(helm_outcome::up_to_date(
            eddy_api::meta::reason::SUCCEEDED,
            message,
            Some(trace),
        ));
    }
    let storage = ctx.storage.clone();
    let key = key.clone();
    let hex = downloaded.sha256.clone();
    let stored =
        tokio::task::spawn_blocking(move || validate_and_store(&storage, &key, temp, &hex))
            .await
            .map_err(|error| storage_failed("ArchiveOperationFailed", error.to_string()))??;
    let artifact = Artifact {
        path: stored.0.path,
        url: stored.0.url,
        revision: revision.clone(),
        digest: stored.0.digest,
        last_update_time: eddy_runtime::time::now(),
        size: i64::try_from(stored.0.size).ok(),
        metadata: None,
    };
    let event = Event::info(
        "NewArtifact",
        format!(
            "stored fetched index of size {} from '{}'",
            helm_transport::human_size(downloaded.size),
            spec.url
        ),
    )
    .with("revision", revision.clone())
    .with("digest", artifact.digest.clone());
    Ok(Success {
        stored: Some((artifact, stored.1)),
        reason: eddy_api::meta::reason::SUCCEEDED.to_owned(),
        message,
        new_artifact_event: Some(event),
        event: None,
    })
}

/// One streaming pass to check the index, then a copy into storage and the `index.yaml` link.
fn validate_and_store(
    storage: &crate::storage::Storage,
    key: &ObjectKey,
    mut file: std::fs::File,
    hex: &str,
) -> Result<(crate::storage::StoredArtifact, String), Failure> {
    use std::io::Seek;
    let rewind = |file: &mut std::fs::File| {
        file.rewind()
            .map_err(|error| storage_failed("ArchiveOperationFailed", error.to_string()))
    };
    rewind(&mut file)?;
    let summary =
        eddy_helm::scan_index(std::io::BufReader::new(&mut file), None).map_err(|error| {
            indexation_failed(format!(
                "failed to load Helm repository from index YAML: {error}"
            ))
        })?;
    tracing::debug!(
        charts = summary.chart_count,
        versions = summary.version_count,
        "read the repository index"
    );
    rewind(&mut file)?;
    let file_name = format!("index-{hex}.yaml");
    let stored = storage
        .store_reader(key, &file_name, &mut std::io::BufReader::new(file))
        .map_err(|error| storage_failed(error.reason(), error.to_string()))?;
    let link = storage
        .symlink(key, &file_name, INDEX_LINK)
        .map_err(|error| storage_failed(error.reason(), error.to_string()))?;
    if let Err(error) = storage.garbage_collect(key, Some(&file_name)) {
        tracing::warn!(%error, "garbage collection of old artifacts failed");
    }
    Ok((stored, storage.artifact_url(&link)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository(url: &str, kind: Option<HelmRepositoryType>) -> HelmRepository {
        let spec: eddy_api::source::HelmRepositorySpec =
            serde_json::from_value(serde_json::json!({ "url": url })).unwrap();
        let mut object = HelmRepository::new("repo", spec);
        object.spec.r#type = kind;
        object
    }

    #[test]
    fn urls_and_providers_are_checked_before_any_fetch() {
        assert!(refusal(&repository("https://charts.example", None)).is_none());
        assert!(
            refusal(&repository(
                "oci://ghcr.io/x",
                Some(HelmRepositoryType::Oci)
            ))
            .is_none()
        );
        let bad = refusal(&repository("ftp://charts.example", None)).unwrap();
        assert_eq!(bad.reason, "URLInvalid");
        let mut aws = repository("oci://x.example/y", Some(HelmRepositoryType::Oci));
        aws.spec.provider = OciProvider::Aws;
        let refused = refusal(&aws).unwrap();
        assert_eq!(
            (refused.reason.as_str(), refused.message.as_str()),
            (NOT_SUPPORTED, "spec.provider is not supported yet")
        );
    }

    #[test]
    fn the_index_sits_under_the_repository_url() {
        assert_eq!(
            index_url("https://h/charts/"),
            "https://h/charts/index.yaml"
        );
        assert_eq!(index_url("https://h/charts"), "https://h/charts/index.yaml");
    }
}
