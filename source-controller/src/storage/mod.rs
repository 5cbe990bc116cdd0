//! Artifact storage on the local file system, laid out as Flux lays it out:
//! `<root>/<lowercase kind>/<namespace>/<name>/<file>`, served at
//! `http://<advertised address>/<kind>/<namespace>/<name>/<file>`.
//!
//! Artifacts are written to a temporary file next to their final name and renamed into place,
//! so readers (the file server, consumers) never see a partial file. Writers of the same
//! artifact serialise on `<file>.lock`.

mod archive;
mod digest;
mod error;
mod gc;
mod include;

use std::fs::File;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

pub use archive::{ExcludeFilter, SkippedSymlink, write_tar_gz};
pub use digest::{DigestAlgorithm, HashingWriter};
pub use error::StorageError;
pub use include::{copy_included, unpack_tar_gz};

/// Defaults of `--artifact-retention-ttl` and `--artifact-retention-records`.
pub const DEFAULT_RETENTION_TTL: Duration = Duration::from_secs(60);
pub const DEFAULT_RETENTION_RECORDS: usize = 2;

/// Storage settings, from the controller flags.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// `--storage-path`.
    pub root: PathBuf,
    /// `--storage-adv-addr` (host[:port]) used in artifact URLs.
    pub advertised_address: String,
    /// `--artifact-digest-algo`.
    pub digest_algorithm: DigestAlgorithm,
    /// `--artifact-retention-ttl`.
    pub retention_ttl: Duration,
    /// `--artifact-retention-records`.
    pub retention_records: usize,
}

/// The object an artifact belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey {
    /// The Kind, e.g. `GitRepository` (lowercased in paths).
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        ObjectKey {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// `<lowercase kind>/<namespace>/<name>`.
    pub fn relative_dir(&self) -> String {
        format!(
            "{}/{}/{}",
            self.kind.to_lowercase(),
            self.namespace,
            self.name
        )
    }
}

/// An artifact as written to storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArtifact {
    /// `<kind>/<ns>/<name>/<file>`, the `artifact.path` field.
    pub path: String,
    /// The `artifact.url` field.
    pub url: String,
    /// `<algorithm>:<hex>` of the stored bytes, the `artifact.digest` field.
    pub digest: String,
    /// Size in bytes, the `artifact.size` field.
    pub size: u64,
    /// Symlinks left out of an archive (always empty for plain files).
    pub skipped_symlinks: Vec<SkippedSymlink>,
}

/// Held while an artifact is written; releases the lock when dropped.
pub struct ArtifactLock {
    _file: File,
}

/// The artifact store.
#[derive(Debug, Clone)]
pub struct Storage {
    config: StorageConfig,
}

impl Storage {
    /// Opens (creating if needed) the storage root.
    pub fn new(config: StorageConfig) -> Result<Self, StorageError> {
        std::fs::create_dir_all(&config.root).map_err(|source| StorageError::CreateDirectory {
            path: config.root.clone(),
            source,
        })?;
        Ok(Storage { config })
    }

    pub fn config(&self) -> &StorageConfig {
        &self.config
    }

    /// The directory holding an object's artifacts.
    pub fn object_dir(&self, object: &ObjectKey) -> PathBuf {
        self.config.root.join(object.relative_dir())
    }

    /// `<kind>/<ns>/<name>/<file>` for an artifact file name.
    pub fn artifact_path(object: &ObjectKey, file: &str) -> String {
        format!("{}/{file}", object.relative_dir())
    }

    /// The local file for an artifact path (as returned by [`Self::artifact_path`]), refusing
    /// paths that would leave the storage root.
    pub fn local_path(&self, artifact_path: &str) -> Result<PathBuf, StorageError> {
        let relative = Path::new(artifact_path);
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(StorageError::InvalidPath {
                path: artifact_path.to_string(),
                detail: "artifact paths must be relative and must not contain '..'".to_string(),
            });
        }
        Ok(self.config.root.join(relative))
    }

    /// The URL of an artifact path under the current advertised address. Reconcilers call this
    /// on every run so a changed `--storage-adv-addr` rewrites `artifact.url`.
    pub fn artifact_url(&self, artifact_path: &str) -> String {
        format!(
            "http://{}/{}",
            self.config.advertised_address.trim_end_matches('/'),
            artifact_path.trim_start_matches('/')
        )
    }

    /// Whether the artifact file exists (it vanishes when storage is an emptyDir and the pod
    /// restarts; the reconciler then drops `status.artifact` and fetches again).
    pub fn artifact_exists(&self, artifact_path: &str) -> bool {
        self.local_path(artifact_path)
            .is_ok_and(|path| path.is_file())
    }

    /// Takes the exclusive lock of an artifact (`<file>.lock`), waiting for other writers.
    pub fn lock(&self, object: &ObjectKey, file: &str) -> Result<ArtifactLock, StorageError> {
        let dir = self.ensure_object_dir(object)?;
        let path = dir.join(format!("{file}.lock"));
        let lock_file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StorageError::Lock {
                path: path.clone(),
                source,
            })?;
        lock_file
            .lock()
            .map_err(|source| StorageError::Lock { path, source })?;
        Ok(ArtifactLock { _file: lock_file })
    }

    fn ensure_object_dir(&self, object: &ObjectKey) -> Result<PathBuf, StorageError> {
        let dir = self.object_dir(object);
        std::fs::create_dir_all(&dir).map_err(|source| StorageError::CreateDirectory {
            path: dir.clone(),
            source,
        })?;
        Ok(dir)
    }

    /// Archives `source_dir` as the reproducible tar.gz `file` of `object` (see
    /// [`write_tar_gz`]), leaving out what `exclude` matches.
    pub fn archive_dir(
        &self,
        object: &ObjectKey,
        file: &str,
        source_dir: &Path,
        exclude: &ExcludeFilter<'_>,
    ) -> Result<StoredArtifact, StorageError> {
        let mut skipped = Vec::new();
        let mut stored = self.write_artifact(object, file, |out| {
            let (out, symlinks) =
                write_tar_gz(source_dir, exclude, out).map_err(|err| StorageError::Archive {
                    path: source_dir.to_path_buf(),
                    detail: err.to_string(),
                })?;
            skipped = symlinks;
            Ok(out)
        })?;
        stored.skipped_symlinks = skipped;
        Ok(stored)
    }

    /// Stores `bytes` as artifact `file` of `object` (index files, charts, …).
    pub fn store_bytes(
        &self,
        object: &ObjectKey,
        file: &str,
        bytes: &[u8],
    ) -> Result<StoredArtifact, StorageError> {
        self.write_artifact(object, file, |mut out| {
            out.write_all(bytes).map_err(|source| StorageError::Write {
                path: PathBuf::from(file),
                source,
            })?;
            Ok(out)
        })
    }

    /// Stores the file at `source` as artifact `file` of `object`, streamed (an OCI layer kept
    /// as-is).
    pub fn store_file(
        &self,
        object: &ObjectKey,
        file: &str,
        source: &Path,
    ) -> Result<StoredArtifact, StorageError> {
        let mut input = File::open(source).map_err(|error| StorageError::Read {
            path: source.to_path_buf(),
            source: error,
        })?;
        self.store_reader(object, file, &mut input)
    }

    /// Stores what `reader` yields as artifact `file` of `object`, without holding it in memory
    /// (Helm repository indexes can be tens of megabytes).
    pub fn store_reader(
        &self,
        object: &ObjectKey,
        file: &str,
        reader: &mut impl std::io::Read,
    ) -> Result<StoredArtifact, StorageError> {
        self.write_artifact(object, file, |mut out| {
            std::io::copy(reader, &mut out).map_err(|source| StorageError::Write {
                path: PathBuf::from(file),
                source,
            })?;
            Ok(out)
        })
    }

    /// Writes an artifact through `produce` under its lock: temp file, fsync, mode 0o600,
    /// atomic rename. The digest covers exactly the bytes stored.
    fn write_artifact(
        &self,
        object: &ObjectKey,
        file: &str,
        produce: impl FnOnce(
            HashingWriter<std::io::BufWriter<File>>,
        ) -> Result<HashingWriter<std::io::BufWriter<File>>, StorageError>,
    ) -> Result<StoredArtifact, StorageError> {
        if file.is_empty() || file.contains('/') || file.starts_with('.') {
            return Err(StorageError::InvalidPath {
                path: file.to_string(),
                detail: "artifact file names must be plain, non-hidden names".to_string(),
            });
        }
        let _lock = self.lock(object, file)?;
        let dir = self.object_dir(object);
        let target = dir.join(file);
        let write_error = |source| StorageError::Write {
            path: target.clone(),
            source,
        };
        let temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&dir)
            .map_err(write_error)?;
        let (temp_file, temp_path) = temp.into_parts();
        let writer = HashingWriter::new(
            std::io::BufWriter::new(temp_file),
            self.config.digest_algorithm,
        );
        let (buffered, digest, size) = produce(writer)?.finish();
        let file_handle = buffered
            .into_inner()
            .map_err(|err| write_error(err.into_error()))?;
        file_handle.sync_all().map_err(write_error)?;
        set_private_mode(&file_handle).map_err(write_error)?;
        drop(file_handle);
        temp_path
            .persist(&target)
            .map_err(|err| write_error(err.error))?;
        let path = Self::artifact_path(object, file);
        Ok(StoredArtifact {
            url: self.artifact_url(&path),
            path,
            digest,
            size,
            skipped_symlinks: Vec::new(),
        })
    }

    /// Points `link_name` (e.g. `latest.tar.gz`, `index.yaml`) at artifact `file` of `object`,
    /// replacing an existing link atomically. Returns the link's artifact path; its URL is
    /// [`Self::artifact_url`] of that path.
    #[cfg(unix)]
    pub fn symlink(
        &self,
        object: &ObjectKey,
        file: &str,
        link_name: &str,
    ) -> Result<String, StorageError> {
        for name in [file, link_name] {
            if name.is_empty() || name.contains('/') || name.starts_with('.') {
                return Err(StorageError::InvalidPath {
                    path: name.to_string(),
                    detail: "artifact file names must be plain, non-hidden names".to_string(),
                });
            }
        }
        let dir = self.ensure_object_dir(object)?;
        let link = dir.join(link_name);
        let temp_link = dir.join(format!(".tmp-link-{link_name}"));
        let write_error = |source| StorageError::Write {
            path: link.clone(),
            source,
        };
        let _ = std::fs::remove_file(&temp_link);
        // Relative target: the link stays valid when the storage root is mounted elsewhere.
        std::os::unix::fs::symlink(file, &temp_link).map_err(write_error)?;
        std::fs::rename(&temp_link, &link).map_err(write_error)?;
        Ok(Self::artifact_path(object, link_name))
    }

    /// Removes old artifacts of `object`, keeping `current_file` (see the module `gc`).
    /// Returns the deleted paths.
    pub fn garbage_collect(
        &self,
        object: &ObjectKey,
        current_file: Option<&str>,
    ) -> Result<Vec<PathBuf>, StorageError> {
        gc::collect(
            &self.object_dir(object),
            current_file,
            self.config.retention_ttl,
            self.config.retention_records,
        )
    }

    /// Deletes every artifact of `object` (the object was deleted).
    pub fn remove_object(&self, object: &ObjectKey) -> Result<(), StorageError> {
        let dir = self.object_dir(object);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StorageError::Delete { path: dir, source }),
        }
    }
}

#[cfg(unix)]
fn set_private_mode(file: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private_mode(_file: &File) -> std::io::Result<()> {
    Ok(())
}
