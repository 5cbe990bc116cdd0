//! Turning a checked-out tree into a stored artifact, and keeping storage and
//! `status.artifact` in agreement. Everything here blocks (file system work); the reconciler
//! calls it on tokio's blocking pool.

use std::path::{Component, Path, PathBuf};

use eddy_api::meta::Artifact;
use eddy_api::meta::condition_type;
use eddy_api::source::GitRepositoryStatus;
use eddy_runtime::conditions;

use super::outcome::Failure;
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

/// Copies includes, applies ignore rules, refuses symlinks leaving the tree, and stores the
/// archive. Garbage collects older artifacts afterwards.
pub fn build(storage: &Storage, request: &BuildRequest) -> Result<StoredArtifact, Failure> {
    for include in &request.includes {
        copy_included(
            &include.archive,
            &include.from_path,
            &request.working_dir,
            &include.to_path,
        )
        .map_err(|error| {
            Failure::storage(
                error.reason(),
                format!(
                    "failed to include the artifact of GitRepository '{}': {error}",
                    include.name
                ),
            )
        })?;
    }
    let rules = IgnoreRules::load(&request.working_dir, request.ignore.as_deref())
        .map_err(|error| Failure::storage("ArchiveOperationFailed", error.to_string()))?;
    let exclude = |path: &Path, is_dir: bool| rules.is_excluded(path, is_dir);
    if let Some((link, target)) = escaping_symlink(&request.working_dir, Path::new(""), &exclude)
        .map_err(|error| Failure::storage("StatOperationFailed", error.to_string()))?
    {
        return Err(Failure::storage(
            "ArchiveOperationFailed",
            format!(
                "symlink '{}' points outside the repository (to '{}')",
                link.display(),
                target.display()
            ),
        ));
    }
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
    Failure::storage(error.reason(), error.to_string())
}

/// The first symlink (outside excluded paths) whose target resolves outside `root`.
fn escaping_symlink(
    root: &Path,
    relative_dir: &Path,
    exclude: &dyn Fn(&Path, bool) -> bool,
) -> std::io::Result<Option<(PathBuf, PathBuf)>> {
    let mut entries: Vec<_> =
        std::fs::read_dir(root.join(relative_dir))?.collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let relative = relative_dir.join(entry.file_name());
        let kind = entry.file_type()?;
        if exclude(&relative, kind.is_dir()) {
            continue;
        }
        if kind.is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            if !stays_inside(relative_dir, &target) {
                return Ok(Some((relative, target)));
            }
        } else if kind.is_dir()
            && let Some(found) = escaping_symlink(root, &relative, exclude)?
        {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Whether a link in `link_dir` (relative to the root) pointing at `target` stays in the root.
fn stays_inside(link_dir: &Path, target: &Path) -> bool {
    let mut depth: usize = link_dir
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
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
    fn symlinks_must_stay_inside_the_tree() {
        assert!(stays_inside(Path::new(""), Path::new("a/b")));
        assert!(stays_inside(Path::new("x/y"), Path::new("../z")));
        assert!(stays_inside(Path::new("x"), Path::new("../z")));
        assert!(!stays_inside(Path::new("x"), Path::new("../../z")));
        assert!(!stays_inside(Path::new(""), Path::new("../etc/passwd")));
        assert!(!stays_inside(Path::new("x"), Path::new("/etc/passwd")));
    }

    #[cfg(unix)]
    #[test]
    fn finds_escaping_links_unless_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("apps/secret")).unwrap();
        std::os::unix::fs::symlink("../README", dir.path().join("apps/ok")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("apps/secret/leak")).unwrap();
        let none = |_: &Path, _: bool| false;
        let found = escaping_symlink(dir.path(), Path::new(""), &none)
            .unwrap()
            .unwrap();
        assert_eq!(found.0, PathBuf::from("apps/secret/leak"));
        let ignore_secret = |path: &Path, _: bool| path.ends_with("secret");
        assert!(
            escaping_symlink(dir.path(), Path::new(""), &ignore_secret)
                .unwrap()
                .is_none()
        );
    }

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
