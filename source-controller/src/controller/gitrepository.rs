//! The GitRepository reconciler: one Git ref in, one tar.gz artifact out.
//!
//! Older API versions (`v1beta2`) are stored at `v1`, so this one reconciler on the `v1` type
//! serves them all. A reconcile reads top to bottom: deletion and finalizer → suspend → storage
//! step → `Reconciling` → validate the spec → resolve the auth Secret and includes → fetch (or
//! skip when the remote has not moved) → `ArtifactOutdated` for a new revision → build and store
//! the artifact → status and events.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eddy_api::meta::Artifact;
use eddy_api::meta::condition_type;
use eddy_api::source::{GitRepository, GitRepositoryStatus};
use eddy_runtime::conditions;
use eddy_runtime::events::Event;
use eddy_runtime::outcome::Timing;
use eddy_runtime::watch::requested_at;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::artifact::{self, BuildRequest, IncludedSource};
use super::config::{self, ContentConfig};
use super::outcome::{self, Failure, Success};
use super::{Context, Error, lifecycle};
use crate::git::{self, FetchOptions, FetchOutcome, FetchRequest, GitAuth, GitError, RepoUrl};
use crate::storage::{ObjectKey, SkippedSymlink};

/// Reconciles one GitRepository.
pub async fn reconcile(object: Arc<GitRepository>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &namespace);
    let key = ObjectKey::new("GitRepository", &namespace, &name);

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
    // Announce the work only when there is visibly something to do; a periodic check of a
    // Ready object must not flip Ready to Unknown (consumers watch it) nor cost API writes.
    let mut progress_reported = needs_progress_report(generation, &status);
    if progress_reported {
        let reconciling = outcome::reconciling_message(generation, &status);
        conditions::mark_reconciling(
            status.conditions.get_or_insert_with(Vec::new),
            &reconciling,
            generation,
        );
        lifecycle::write_status(&api, &name, &status).await?;
    }

    let result = match fetch_source(&object, &ctx, &status).await {
        Ok(Fetched::UpToDate { revision }) => Ok(Success::UpToDate { revision }),
        Ok(Fetched::New(source)) => {
            // Tell watchers a new revision is on its way before the (possibly slow) build, as
            // Flux does with `ArtifactOutdated`.
            if let Some(message) = outdated_message(&status, &source.commit.revision) {
                let conditions_list = status.conditions.get_or_insert_with(Vec::new);
                conditions::set(
                    conditions_list,
                    condition_type::ARTIFACT_OUTDATED,
                    conditions::Status::True,
                    outcome::NEW_REVISION,
                    &message,
                    generation,
                );
                conditions::mark_reconciling(
                    conditions_list,
                    &format!("building artifact: {message}"),
                    generation,
                );
                lifecycle::write_status(&api, &name, &status).await?;
                progress_reported = true;
            }
            store_artifact(&ctx, &key, &object.spec, source).await
        }
        Err(failure) => Err(failure),
    };

    match &result {
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
    let report = outcome::apply(&mut status, generation, &result);
    // The final write also replaces a `Reconciling` written above, even when the end state equals
    // the state we started from.
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
    let interval = config::interval(&object.spec);
    let timing = Timing {
        interval,
        retry_interval: interval,
        requeue_dependency: ctx.requeue_dependency,
        jitter_percent: ctx.jitter_percent,
    };
    let backoff_key = format!("{namespace}/{name}");
    Ok(report
        .next
        .action(&timing, &ctx.failure_backoff, &backoff_key))
}

/// Whether the reconcile starts by reporting `Reconciling`: a new generation, no artifact, or
/// not Ready.
fn needs_progress_report(generation: Option<i64>, status: &GitRepositoryStatus) -> bool {
    status.observed_generation != generation
        || status.artifact.is_none()
        || !conditions::is_true(
            status.conditions.as_deref().unwrap_or_default(),
            condition_type::READY,
        )
}

/// A checked-out commit waiting to be archived, with what goes into the archive besides it.
struct FetchedSource {
    checkout: tempfile::TempDir,
    working_dir: PathBuf,
    commit: git::FetchedCommit,
    includes: Vec<(Artifact, IncludedSource)>,
    content: ContentConfig,
}

/// What fetching found.
enum Fetched {
    /// The remote still points at the stored artifact's revision; nothing was cloned.
    UpToDate {
        revision: String,
    },
    New(Box<FetchedSource>),
}

/// Validate → resolve → fetch. The only API calls are the reads of the auth Secret and the
/// included GitRepositories.
async fn fetch_source(
    object: &GitRepository,
    ctx: &Context,
    status: &GitRepositoryStatus,
) -> Result<Fetched, Failure> {
    let spec = &object.spec;
    if let Some(unsupported) = config::unsupported(spec) {
        return Err(Failure::stalled(unsupported.reason, unsupported.message));
    }
    let url = RepoUrl::parse(&spec.url).map_err(|error| {
        Failure::stalled(error.reason(), error.to_string())
            .with_condition(condition_type::FETCH_FAILED)
    })?;
    let auth = resolve_auth(object, ctx, &url).await?;
    let includes = resolve_includes(object, ctx).await?;
    let included: Vec<Artifact> = includes
        .iter()
        .map(|(artifact, _)| artifact.clone())
        .collect();

    let content = ContentConfig::of_spec(spec);
    let in_storage = conditions::is_true(
        status.conditions.as_deref().unwrap_or_default(),
        condition_type::ARTIFACT_IN_STORAGE,
    );
    let checkout = tempfile::tempdir()
        .map_err(|error| outcome::storage_failed("DirectoryCreationFailed", error.to_string()))?;
    let working_dir = checkout.path().join("repo");
    let request = FetchRequest {
        url: spec.url.clone(),
        reference: config::reference(spec),
        auth,
        options: FetchOptions {
            recurse_submodules: content.recurse_submodules,
            sparse_checkout: content.sparse_checkout.clone(),
            max_size_bytes: ctx.git_max_size,
            timeout: config::timeout(spec),
        },
        last_revision: config::skip_clone_revision(status, &content, &included, in_storage),
        destination: working_dir.clone(),
    };
    Ok(
        match git::fetch_async(request).await.map_err(fetch_failure)? {
            FetchOutcome::Unchanged { revision } => Fetched::UpToDate { revision },
            FetchOutcome::Fetched(commit) => Fetched::New(Box::new(FetchedSource {
                checkout,
                working_dir,
                commit,
                includes,
                content,
            })),
        },
    )
}

/// "new upstream revision '…'" when a stored artifact exists and `revision` differs from it.
fn outdated_message(status: &GitRepositoryStatus, revision: &str) -> Option<String> {
    let stored = status.artifact.as_ref()?;
    (stored.revision != revision).then(|| format!("new upstream revision '{revision}'"))
}

/// Build → store: archives the checkout (with includes and ignore rules) into storage.
async fn store_artifact(
    ctx: &Context,
    key: &ObjectKey,
    spec: &eddy_api::source::GitRepositorySpec,
    source: Box<FetchedSource>,
) -> Result<Success, Failure> {
    let FetchedSource {
        checkout,
        working_dir,
        commit,
        includes,
        content,
    } = *source;
    let included: Vec<Artifact> = includes
        .iter()
        .map(|(artifact, _)| artifact.clone())
        .collect();
    let build = BuildRequest {
        key: key.clone(),
        working_dir,
        file: format!("{}.tar.gz", commit.commit),
        ignore: spec.ignore.clone(),
        includes: includes.into_iter().map(|(_, source)| source).collect(),
    };
    let storage = ctx.storage.clone();
    let stored = tokio::task::spawn_blocking(move || {
        let stored = artifact::build(&storage, &build);
        drop(checkout);
        stored
    })
    .await
    .map_err(|error| outcome::storage_failed("ArchiveOperationFailed", error.to_string()))??;
    Ok(Success::Stored {
        artifact: Box::new(Artifact {
            path: stored.path,
            url: stored.url,
            revision: commit.revision.clone(),
            digest: stored.digest,
            last_update_time: eddy_runtime::time::now(),
            size: i64::try_from(stored.size).ok(),
            metadata: None,
        }),
        included,
        config: content,
        event_message: commit.new_artifact_message(),
        skipped_symlinks: skipped_symlinks_message(&stored.skipped_symlinks),
    })
}

/// The warning for links left out of an artifact. Like Flux, Eddy archives no symlink (one
/// pointing outside the repository could expose the controller's files); unlike Flux it says
/// so, naming each link, since what a link stood for is missing from the artifact.
fn skipped_symlinks_message(skipped: &[SkippedSymlink]) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    let links: Vec<String> = skipped
        .iter()
        .map(|link| {
            let outside = if link.escapes_root {
                " (outside the repository)"
            } else {
                ""
            };
            format!(
                "'{}' -> '{}'{outside}",
                link.path.display(),
                link.target.display()
            )
        })
        .collect();
    Some(format!(
        "symlinks are not stored in artifacts; left out: {}",
        links.join(", ")
    ))
}

/// Git errors become `FetchFailed`; only an unusable URL is terminal.
fn fetch_failure(error: GitError) -> Failure {
    match error {
        GitError::InvalidUrl { .. } => Failure::stalled(error.reason(), error.to_string())
            .with_condition(condition_type::FETCH_FAILED),
        error => outcome::fetch_failed(error.reason(), error.to_string()),
    }
}

/// Reads `spec.secretRef` (uncached, so a fixed Secret takes effect at once) and turns it into
/// credentials for the URL's transport.
async fn resolve_auth(
    object: &GitRepository,
    ctx: &Context,
    url: &RepoUrl,
) -> Result<GitAuth, Failure> {
    let data = match &object.spec.secret_ref {
        None => None,
        Some(reference) => {
            let secrets: Api<Secret> =
                Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
            let secret = secrets.get(&reference.name).await.map_err(|error| {
                outcome::fetch_failed(
                    git::reason::AUTHENTICATION_FAILED,
                    format!("failed to get secret '{}': {error}", reference.name),
                )
            })?;
            let data: BTreeMap<String, Vec<u8>> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| (key, value.0))
                .collect();
            Some(data)
        }
    };
    GitAuth::from_secret_data(url.transport(), data.as_ref()).map_err(|error| {
        let name = object
            .spec
            .secret_ref
            .as_ref()
            .map(|r| r.name.as_str())
            .unwrap_or_default();
        outcome::fetch_failed(error.reason(), format!("secret '{name}': {error}"))
    })
}

/// The artifacts of `spec.include`, each with where to copy it; waits (as a dependency) while
/// an included repository is missing or has no artifact yet.
async fn resolve_includes(
    object: &GitRepository,
    ctx: &Context,
) -> Result<Vec<(Artifact, IncludedSource)>, Failure> {
    let Some(includes) = object.spec.include.as_ref().filter(|list| !list.is_empty()) else {
        return Ok(Vec::new());
    };
    let api: Api<GitRepository> =
        Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
    let mut resolved = Vec::new();
    for include in includes {
        let name = &include.repository.name;
        let included = api.get(name).await.map_err(|error| {
            outcome::include_unavailable(
                outcome::INCLUDE_NOT_FOUND,
                format!("could not get resource for include '{name}': {error}"),
            )
        })?;
        let artifact = included
            .status
            .and_then(|status| status.artifact)
            .filter(|artifact| ctx.storage.artifact_exists(&artifact.path))
            .ok_or_else(|| {
                outcome::include_unavailable(
                    outcome::INCLUDE_NO_ARTIFACT,
                    format!("no artifact available for include '{name}'"),
                )
            })?;
        let archive = ctx
            .storage
            .local_path(&artifact.path)
            .map_err(|error| outcome::storage_failed(error.reason(), error.to_string()))?;
        let source = IncludedSource {
            name: name.clone(),
            archive,
            from_path: include.from_path.clone().unwrap_or_default(),
            to_path: include
                .to_path
                .clone()
                .filter(|path| !path.is_empty())
                .unwrap_or_else(|| name.clone()),
        };
        resolved.push((artifact, source));
    }
    Ok(resolved)
}

/// Runs the storage step off the async runtime.
async fn storage_step(
    ctx: &Context,
    key: &ObjectKey,
    status: &mut GitRepositoryStatus,
) -> Result<Vec<PathBuf>, Error> {
    let storage = ctx.storage.clone();
    let key = key.clone();
    let mut owned = std::mem::take(status);
    let (owned, removed) = tokio::task::spawn_blocking(move || {
        let removed = artifact::reconcile_storage(&storage, &key, &mut owned);
        (owned, removed)
    })
    .await?;
    *status = owned;
    Ok(removed.unwrap_or_else(|error| {
        tracing::warn!(%error, "garbage collection failed");
        Vec::new()
    }))
}

#[cfg(test)]
mod tests {
    use eddy_api::meta::Artifact;

    use super::*;

    #[test]
    fn a_new_upstream_revision_marks_the_stored_artifact_outdated() {
        let mut status = GitRepositoryStatus::default();
        assert_eq!(
            outdated_message(&status, "main@sha1:b"),
            None,
            "nothing stored yet"
        );
        status.artifact = Some(Artifact {
            path: "gitrepository/ns/name/a.tar.gz".into(),
            url: "http://storage/gitrepository/ns/name/a.tar.gz".into(),
            revision: "main@sha1:a".into(),
            digest: "sha256:00".into(),
            last_update_time: eddy_runtime::time::now(),
            size: None,
            metadata: None,
        });
        assert_eq!(outdated_message(&status, "main@sha1:a"), None);
        assert_eq!(
            outdated_message(&status, "main@sha1:b").as_deref(),
            Some("new upstream revision 'main@sha1:b'")
        );
    }

    #[test]
    fn progress_is_reported_only_when_something_visibly_changes() {
        let mut status = GitRepositoryStatus::default();
        assert!(needs_progress_report(Some(1), &status), "never reconciled");
        status.observed_generation = Some(1);
        status.artifact = Some(Artifact {
            path: "p".into(),
            url: "u".into(),
            revision: "main@sha1:1".into(),
            digest: "sha256:00".into(),
            last_update_time: eddy_runtime::time::now(),
            size: None,
            metadata: None,
        });
        assert!(needs_progress_report(Some(1), &status), "not Ready");
        let mut list = Vec::new();
        conditions::mark_ready(&mut list, "Succeeded", "stored", Some(1));
        status.conditions = Some(list);
        assert!(!needs_progress_report(Some(1), &status), "periodic check");
        assert!(needs_progress_report(Some(2), &status), "new generation");
        status.artifact = None;
        assert!(needs_progress_report(Some(1), &status), "artifact vanished");
    }
}
