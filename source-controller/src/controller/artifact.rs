//! Turning a checked-out tree into a stored artifact, and keeping storage and
//! `status.artifact` in agreement. Everything here blocks (file system work); the reconciler
//! calls it on tokio's blocking pool.

use std::path::{Path, PathBuf};

use eddy_api::meta::Artifact;
use eddy_api::meta::condition_type;
use eddy_api::source::GitRepositoryStatus;
use eddy_runtime::conditions;

use super::outcome::{self, Failure};
use crate::ignore::IgnoreRules;
use crate::storage::{ObjectKey, Storage, StorageError, StoredArtifact, copy_included};

/// An included GitRepository's artifact to copy into the working tree.
#[derive(Debug, Clone)]
pub struct IncludedSource {
    /// The included object's name (for messages).
    pub name: String,
    /// The local file of its artifact.
    pub archive: PathBuf,
    pub from_path: String,
    pub to_path: String,
}

/// What goes into one artifact.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub key: ObjectKey,
    /// The checked-out tree (modified in place by includes).
    pub working_dir: PathBuf,
    /// The artifact file name, `<commit>.tar.gz`.
    pub file: String,
    /// `spec.ignore`.
    pub ignore: Option<String>,
    pub includes: Vec<IncludedSource>,
}

/// Copies includes, applies ignore rules and stores the archive; symlinks are left out (the
/// result lists them, see `storage::archive`). Garbage collects older artifacts afterwards.
pub fn build(storage: &Storage, request: &BuildRequest) -> Result<StoredArtifact, Failure> {
    for include in &request.includes {
        copy_included(
            &include.archive,
            &include.from_path,
            &request.working_dir,
            &include.to_path,
        )
        .map_err(|error| {
            outcome::storage_failed(
                error.reason(),
                format!(
                    "failed to include the artifact of GitRepository '{}': {error}",
                    include.name
                ),
            )
        })?;
    }
    let rules = IgnoreRules::load(&request.working_dir, request.ignore.as_deref())
        .map_err(|error| outcome::storage_failed("ArchiveOperationFailed", error.to_string()))?;
    let exclude = |path: &Path, is_dir: bool| rules.is_excluded(path, is_dir);
    let stored = storage
        .archive_dir(&request.key, &request.file, &request.working_dir, &exclude)
        .map_err(|error| storage_failure(&error))?;
    if let Err(error) = storage.garbage_collect(&request.key, Some(&request.file)) {
        // The new artifact is in place; a failed clean-up is retried on the next reconcile.
        tracing::warn!(%error, "garbage collection of old artifacts failed");
    }
    Ok(stored)
}

fn storage_failure(error: &StorageError) -> Failure {
    outcome::storage_failed(error.reason(), error.to_string())
}

/// The storage step every reconcile starts with: collect garbage, forget an artifact whose file
/// vanished (storage is often an emptyDir), and point the URL at the current advertised address.
/// Returns the removed files.
pub fn reconcile_storage(
    storage: &Storage,
    key: &ObjectKey,
    status: &mut GitRepositoryStatus,
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
    settle_artifact(status, exists, |artifact| {
        storage.artifact_url(&artifact.path)
    });
    Ok(removed)
}

/// Drops a vanished artifact (with its `ArtifactInStorage` condition) or refreshes its URL.
fn settle_artifact(
    status: &mut GitRepositoryStatus,
    exists: bool,
    url_of: impl Fn(&Artifact) -> String,
) {
    match status.artifact.as_mut() {
        Some(artifact) if exists => artifact.url = url_of(artifact),
        Some(_) => {
            status.artifact = None;
            if let Some(list) = status.conditions.as_mut() {
                conditions::remove(list, condition_type::ARTIFACT_IN_STORAGE);
            }
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vanished_artifacts_are_dropped_and_live_ones_get_the_current_url() {
        let artifact = Artifact {
            path: "gitrepository/ns/app/abc.tar.gz".into(),
            url: "http://old-host/gitrepository/ns/app/abc.tar.gz".into(),
            revision: "main@sha1:abc".into(),
            digest: "sha256:00".into(),
            last_update_time: eddy_runtime::time::now(),
            size: Some(1),
            metadata: None,
        };
        let mut status = GitRepositoryStatus {
            artifact: Some(artifact),
            ..Default::default()
        };
        let mut conditions = Vec::new();
        conditions::set(
            &mut conditions,
            condition_type::ARTIFACT_IN_STORAGE,
            conditions::Status::True,
            "Succeeded",
            "stored",
            Some(1),
        );
        status.conditions = Some(conditions);
        settle_artifact(&mut status, true, |a| format!("http://new-host/{}", a.path));
        assert_eq!(
            status.artifact.as_ref().unwrap().url,
            "http://new-host/gitrepository/ns/app/abc.tar.gz"
        );
        settle_artifact(&mut status, false, |_| unreachable!());
        assert!(status.artifact.is_none());
        assert!(status.conditions.as_ref().unwrap().is_empty());
    }
}
