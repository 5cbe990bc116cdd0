//! The HelmChart reconciler: a chart from a HelmRepository (pulled from the URL its index names)
//! or from a GitRepository artifact (packaged from `spec.chart`), stored as
//! `<chart>-<version>.tgz` and linked as `latest.tar.gz`.
//!
//! deletion and finalizer → suspend → refusals (`verify`, Bucket, OCI repositories) → storage
//! step → `Reconciling` → resolve the source → skip when what would be built is stored → pull or
//! package (values files merged) → store.

use std::sync::Arc;

use eddy_api::meta::{Artifact, condition_type};
use eddy_api::source::helmchart::{HelmChartSourceKind, ReconcileStrategy};
use eddy_api::source::helmrepository::HelmRepositoryType;
use eddy_api::source::{GitRepository, HelmChart, HelmChartStatus, HelmRepository};
use eddy_helm::{LoadLimits, PackageOptions};
use eddy_runtime::events::Event;
use eddy_runtime::outcome::Failure;
use eddy_runtime::unsupported::NOT_SUPPORTED;
use eddy_runtime::watch::requested_at;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::helm_outcome::{self, Success};
use super::helm_transport::{self, AUTHENTICATION_FAILED};
use super::helmchart_build::{self as build, build_failed};
use super::{Context, Error};
use super::{helm_lifecycle, lifecycle};
use crate::storage::ObjectKey;

pub const CHART_PULL_SUCCEEDED: &str = "ChartPullSucceeded";
pub const CHART_PACKAGE_SUCCEEDED: &str = "ChartPackageSucceeded";
const LATEST_LINK: &str = "latest.tar.gz";

/// What a successful build records besides the artifact.
struct Observed {
    chart_name: String,
    values_files: Vec<String>,
    source_revision: String,
}

/// Reconciles one HelmChart.
pub async fn reconcile(object: Arc<HelmChart>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let api: Api<HelmChart> = Api::namespaced(ctx.client.clone(), &namespace);
    let key = ObjectKey::new("HelmChart", &namespace, &name);
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
    let garbage = helm_lifecycle::storage_step(&ctx, &key, &mut status, LATEST_LINK).await?;
    let progress = helm_outcome::needs_progress_report(generation, &mut status, true);
    if progress {
        helm_outcome::mark_reconciling(generation, &mut status);
        lifecycle::write_status(&api, &name, &status).await?;
    }

    let built = match refusal(&object) {
        Some(refusal) => Err(refusal),
        None => match object.spec.source_ref.kind {
            HelmChartSourceKind::HelmRepository => {
                from_helm_repository(&object, &ctx, &key, &status).await
            }
            HelmChartSourceKind::GitRepository => {
                from_git_repository(&object, &ctx, &key, &status).await
            }
            HelmChartSourceKind::Bucket => Err(Failure::stalled(
                NOT_SUPPORTED,
                "charts from a Bucket source are not supported yet",
            )),
        },
    };
    let result = match built {
        Ok((success, observed)) => {
            status.observed_chart_name = Some(observed.chart_name);
            status.observed_values_files = Some(observed.values_files);
            status.observed_source_artifact_revision = Some(observed.source_revision);
            Ok(success)
        }
        Err(failure) => {
            tracing::error!(reason = %failure.reason, error = %failure.message, "reconciliation failed");
            Err(failure)
        }
    };
    let (events, next) = helm_outcome::apply(&mut status, generation, &result);
    if progress || status != original {
        lifecycle::write_status(&api, &name, &status).await?;
    }
    let interval = eddy_runtime::time::interval(&object.spec.interval);
    Ok(helm_lifecycle::finish(&ctx, object.as_ref(), &garbage, events, next, interval).await)
}

fn refusal(object: &HelmChart) -> Option<Failure> {
    object
        .spec
        .verify
        .as_ref()
        .map(|_| Failure::stalled(NOT_SUPPORTED, "spec.verify is not supported yet"))
}

/// `spec.valuesFile` (v1beta2) then `spec.valuesFiles`.
fn listed_values_files(object: &HelmChart) -> Vec<String> {
    object
        .spec
        .values_file
        .iter()
        .chain(object.spec.values_files.iter().flatten())
        .filter(|name| !name.is_empty())
        .cloned()
        .collect()
}

fn limits(ctx: &Context) -> LoadLimits {
    LoadLimits {
        max_file_bytes: ctx.helm.chart_file_max_size,
        ..LoadLimits::default()
    }
}

fn source_unavailable(kind: &str, namespace: &str, name: &str, error: kube::Error) -> Failure {
    Failure::backoff(
        "SourceUnavailable",
        format!("failed to get source: {kind} '{namespace}/{name}': {error}"),
    )
    .with_condition(condition_type::FETCH_FAILED)
}

fn no_source_artifact(kind: &str, name: &str) -> Failure {
    Failure::dependency(
        "NoSourceArtifact",
        format!("no artifact available for {kind} source '{name}'"),
    )
}

fn storage_failed(reason: &str, message: String) -> Failure {
    Failure::backoff(reason, message).with_condition(condition_type::STORAGE_OPERATION_FAILED)
}

/// The stored artifact, if it is exactly what a build would produce now.
fn unchanged(
    status: &HelmChartStatus,
    chart: &str,
    values_files: &[String],
    expected_revision: Option<&str>,
    source_revision: &str,
) -> Option<Artifact> {
    let artifact = status.artifact.as_ref()?;
    let same_inputs = status.observed_chart_name.as_deref() == Some(chart)
        && status.observed_values_files.as_deref() == Some(values_files)
        && status.observed_source_artifact_revision.as_deref() == Some(source_revision);
    let same_revision = expected_revision.is_none_or(|revision| artifact.revision == revision);
    (same_inputs && same_revision).then(|| artifact.clone())
}

async fn from_helm_repository(
    object: &HelmChart,
    ctx: &Context,
    key: &ObjectKey,
    status: &HelmChartStatus,
) -> Result<(Success, Observed), Failure> {
    let source_name = &object.spec.source_ref.name;
    let repositories: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let repository = repositories.get(source_name).await.map_err(|error| {
        source_unavailable("HelmRepository", &key.namespace, source_name, error)
    })?;
    if repository.spec.r#type == Some(HelmRepositoryType::Oci) {
        return Err(Failure::stalled(
            NOT_SUPPORTED,
            "pulling charts from an OCI HelmRepository is not supported yet",
        ));
    }
    let index = repository
        .status
        .as_ref()
        .and_then(|status| status.artifact.clone())
        .filter(|artifact| ctx.storage.artifact_exists(&artifact.path))
        .ok_or_else(|| no_source_artifact("HelmRepository", source_name))?;
    let chart = object.spec.chart.clone();
    let values_files = listed_values_files(object);
    // The same index and the same spec choose the same chart: no need to read the index again.
    let same_generation = status.observed_generation == object.meta().generation;
    if let Some(artifact) =
        unchanged(status, &chart, &values_files, None, &index.revision).filter(|_| same_generation)
    {
        let message = build::summary("pulled", &chart, &artifact.revision, &values_files);
        let observed = Observed {
            chart_name: chart,
            values_files,
            source_revision: index.revision,
        };
        return Ok((
            helm_outcome::up_to_date(CHART_PULL_SUCCEEDED, message, None),
            observed,
        ));
    }
    let index_path = ctx
        .storage
        .local_path(&index.path)
        .map_err(|error| storage_failed(error.reason(), error.to_string()))?;
    let constraint = object.spec.version.clone();
    let lookup_chart = chart.clone();
    let entry = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&index_path).map_err(|error| {
            build_failed(
                build::CHART_PULL_ERROR,
                format!("cannot open the index: {error}"),
            )
        })?;
        let summary = eddy_helm::scan_index(std::io::BufReader::new(file), Some(&lookup_chart))
            .map_err(|error| {
                build_failed(
                    build::CHART_PULL_ERROR,
                    format!("failed to load index: {error}"),
                )
            })?;
        eddy_helm::select_version(&lookup_chart, &summary.wanted, &constraint)
            .cloned()
            .map_err(|error| lookup_failure(&error))
    })
    .await
    .map_err(|error| storage_failed("ArchiveOperationFailed", error.to_string()))??;

    let version = if values_files.is_empty() {
        entry.version.clone()
    } else {
        format!(
            "{}+{}",
            entry.version,
            object.meta().generation.unwrap_or_default()
        )
    };
    let observed = Observed {
        chart_name: chart.clone(),
        values_files: values_files.clone(),
        source_revision: index.revision.clone(),
    };
    if let Some(artifact) = unchanged(
        status,
        &chart,
        &values_files,
        Some(&version),
        &index.revision,
    ) {
        let message = build::summary("pulled", &chart, &artifact.revision, &values_files);
        return Ok((
            helm_outcome::up_to_date(CHART_PULL_SUCCEEDED, message, None),
            observed,
        ));
    }
    let entry_url = entry.urls.first().ok_or_else(|| {
        build_failed(
            build::CHART_PULL_ERROR,
            format!(
                "chart '{chart}' version '{}' has no downloadable URLs",
                entry.version
            ),
        )
    })?;
    let url = build::chart_url(&repository.spec.url, entry_url)
        .map_err(|message| build_failed(build::CHART_PULL_ERROR, message))?;
    let credentials = helm_transport::credentials(&ctx.client, &key.namespace, &repository.spec)
        .await
        .map_err(|error| {
            Failure::backoff(AUTHENTICATION_FAILED, error.to_string())
                .with_condition(condition_type::FETCH_FAILED)
        })?;
    let timeout = eddy_runtime::time::timeout(
        repository.spec.timeout.as_deref(),
        std::time::Duration::from_secs(60),
    );
    let client = helm_transport::http_client(&credentials, timeout)
        .map_err(|error| build_failed(build::CHART_PULL_ERROR, error.to_string()))?;
    let basic = credentials.basic.as_ref().filter(|_| {
        build::sends_credentials(&repository.spec.url, &url, credentials.pass_credentials)
    });
    let mut archive = Vec::new();
    helm_transport::download(&client, &url, basic, ctx.helm.chart_max_size, &mut archive)
        .await
        .map_err(|error| {
            build_failed(
                build::CHART_PULL_ERROR,
                format!("failed to download chart for remote reference: {error}"),
            )
        })?;

    let limits = limits(ctx);
    let ignore_missing = object.spec.ignore_missing_values_files == Some(true);
    let storage = ctx.storage.clone();
    let key = key.clone();
    let listed = values_files.clone();
    let version_for_package = (!values_files.is_empty()).then(|| version.clone());
    let (stored, link, packaged_name) = tokio::task::spawn_blocking(move || {
        let pull_error = |error: &dyn std::fmt::Display| {
            build_failed(
                build::CHART_PULL_ERROR,
                format!("failed to load chart: {error}"),
            )
        };
        let files = eddy_helm::read_archive_files(&archive, limits).map_err(|e| pull_error(&e))?;
        let (name, version, bytes) = if listed.is_empty() {
            let chart = eddy_helm::load_archive(&archive, limits).map_err(|e| pull_error(&e))?;
            (
                chart.metadata.name.clone(),
                chart.metadata.version.clone(),
                archive,
            )
        } else {
            let found = build::collect_values_files(&listed, ignore_missing, |name| {
                files
                    .iter()
                    .find(|file| file.name == name)
                    .map(|file| file.data.to_vec())
            })?;
            let options = PackageOptions {
                version: version_for_package,
                values_yaml: build::merged_values(&found)?,
            };
            let packaged = eddy_helm::package(files, limits, &options)
                .map_err(|error| build_failed(build::CHART_PACKAGE_ERROR, error.to_string()))?;
            (packaged.name, packaged.version, packaged.archive)
        };
        store_chart(&storage, &key, &name, &version, &bytes).map(|(s, l)| (s, l, name))
    })
    .await
    .map_err(|error| storage_failed("ArchiveOperationFailed", error.to_string()))??;
    let message = build::summary("pulled", &packaged_name, &version, &values_files);
    Ok((
        stored_success(stored, link, &version, CHART_PULL_SUCCEEDED, message),
        observed,
    ))
}

fn lookup_failure(error: &eddy_helm::ChartLookupError) -> Failure {
    let message = format!("invalid chart reference: {error}");
    match error {
        eddy_helm::ChartLookupError::InvalidConstraint { .. } => {
            Failure::stalled(build::INVALID_CHART_REFERENCE, message)
                .with_condition(condition_type::BUILD_FAILED)
        }
        _ => Failure::retry_interval(build::INVALID_CHART_REFERENCE, message)
            .with_condition(condition_type::BUILD_FAILED),
    }
}

async fn from_git_repository(
    object: &HelmChart,
    ctx: &Context,
    key: &ObjectKey,
    status: &HelmChartStatus,
) -> Result<(Success, Observed), Failure> {
    let source_name = &object.spec.source_ref.name;
    let repositories: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let repository = repositories
        .get(source_name)
        .await
        .map_err(|error| source_unavailable("GitRepository", &key.namespace, source_name, error))?;
    let source = repository
        .status
        .and_then(|status| status.artifact)
        .filter(|artifact| ctx.storage.artifact_exists(&artifact.path))
        .ok_or_else(|| no_source_artifact("GitRepository", source_name))?;
    let values_files = listed_values_files(object);
    let observed = Observed {
        chart_name: object.spec.chart.clone(),
        values_files: values_files.clone(),
        source_revision: source.revision.clone(),
    };
    let same_generation = status.observed_generation == object.meta().generation;
    if let Some(artifact) = unchanged(
        status,
        &object.spec.chart,
        &values_files,
        None,
        &source.revision,
    )
    .filter(|_| same_generation)
    {
        let name = status.observed_chart_name.clone().unwrap_or_default();
        let message = build::summary("packaged", &name, &artifact.revision, &values_files);
        return Ok((
            helm_outcome::up_to_date(CHART_PACKAGE_SUCCEEDED, message, None),
            observed,
        ));
    }
    let archive = ctx
        .storage
        .local_path(&source.path)
        .map_err(|error| storage_failed(error.reason(), error.to_string()))?;
    let chart_path = object.spec.chart.clone();
    let ignore_missing = object.spec.ignore_missing_values_files == Some(true);
    let revision_strategy = object.spec.reconcile_strategy == ReconcileStrategy::Revision;
    let source_revision = source.revision.clone();
    let limits = limits(ctx);
    let storage = ctx.storage.clone();
    let key = key.clone();
    let listed = values_files.clone();
    let (stored, link, name, version) = tokio::task::spawn_blocking(move || {
        let package_error = |message: String| build_failed(build::CHART_PACKAGE_ERROR, message);
        let work = tempfile::tempdir().map_err(|error| package_error(error.to_string()))?;
        let file =
            std::fs::File::open(&archive).map_err(|error| package_error(error.to_string()))?;
        eddy_artifact::untar::unpack(
            std::io::BufReader::new(file),
            work.path(),
            limits.max_chart_bytes * 10,
        )
        .map_err(|error| package_error(format!("cannot unpack the source artifact: {error}")))?;
        let chart_dir = build::path_within(work.path(), &chart_path).map_err(package_error)?;
        if !chart_dir.join("Chart.yaml").is_file() {
            return Err(package_error(format!(
                "no chart found at path '{chart_path}' in the source (no Chart.yaml)"
            )));
        }
        let found = build::collect_values_files(&listed, ignore_missing, |name| {
            build::path_within(work.path(), name)
                .ok()
                .and_then(|path| std::fs::read(path).ok())
        })?;
        let chart = eddy_helm::load_dir(&chart_dir, limits)
            .map_err(|error| package_error(error.to_string()))?;
        let version = if revision_strategy {
            Some(build::revision_version(
                &chart.metadata.version,
                &source_revision,
            ))
        } else {
            None
        };
        let options = PackageOptions {
            version,
            values_yaml: build::merged_values(&found)?,
        };
        let packaged = build::package_directory(work.path(), &chart_dir, limits, &options)?;
        let (stored, link) = store_chart(
            &storage,
            &key,
            &packaged.name,
            &packaged.version,
            &packaged.archive,
        )?;
        Ok((stored, link, packaged.name, packaged.version))
    })
    .await
    .map_err(|error| storage_failed("ArchiveOperationFailed", error.to_string()))??;
    let message = build::summary("packaged", &name, &version, &values_files);
    let mut observed = observed;
    observed.chart_name = object.spec.chart.clone();
    Ok((
        stored_success(stored, link, &version, CHART_PACKAGE_SUCCEEDED, message),
        observed,
    ))
}

fn store_chart(
    storage: &crate::storage::Storage,
    key: &ObjectKey,
    name: &str,
    version: &str,
    bytes: &[u8],
) -> Result<(crate::storage::StoredArtifact, String), Failure> {
    let file = format!("{name}-{version}.tgz");
    let stored = storage
        .store_bytes(key, &file, bytes)
        .map_err(|error| storage_failed(error.reason(), error.to_string()))?;
    let link = storage
        .symlink(key, &file, LATEST_LINK)
        .map_err(|error| storage_failed(error.reason(), error.to_string()))?;
    if let Err(error) = storage.garbage_collect(key, Some(&file)) {
        tracing::warn!(%error, "garbage collection of old artifacts failed");
    }
    Ok((stored, storage.artifact_url(&link)))
}

fn stored_success(
    stored: crate::storage::StoredArtifact,
    link_url: String,
    revision: &str,
    reason: &str,
    message: String,
) -> Success {
    let artifact = Artifact {
        path: stored.path,
        url: stored.url,
        revision: revision.to_owned(),
        digest: stored.digest,
        last_update_time: eddy_runtime::time::now(),
        size: i64::try_from(stored.size).ok(),
        metadata: None,
    };
    let event = Event::info(reason, message.clone())
        .with("revision", artifact.revision.clone())
        .with("digest", artifact.digest.clone());
    Success {
        stored: Some((artifact, link_url)),
        reason: reason.to_owned(),
        message,
        new_artifact_event: Some(event),
        event: None,
    }
}
