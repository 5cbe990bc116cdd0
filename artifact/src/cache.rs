//! Unpacked artifacts shared by every object that builds the same revision.
//!
//! With many Kustomizations (or HelmReleases) on one source, unpacking the artifact once per object
//! would dominate the cost. Here each digest is downloaded to a file, verified, unpacked once into
//! `<root>/artifacts/<digest>/` (which builds only read), and the download removed. Each build
//! writes its own files into `<root>/wrappers/<random>/` (two levels down, so the artifact is
//! always `../../artifacts/<digest>` from it). Entries nobody uses are evicted.
//!
//! The root is one directory per controller, emptied when the controller starts: a killed process
//! leaves nothing behind that the next one does not remove. A partial unpack is removed the moment
//! it fails, and a digest whose content was refused (wrong digest, too large, hostile archive) is
//! remembered, so the same bad artifact is not downloaded again until the source publishes another.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{Mutex, OnceCell};

use crate::{
    download::{self, DownloadError},
    untar::{self, UnpackError},
};

/// How long an unused unpacked artifact is kept.
const IDLE_LIFETIME: Duration = Duration::from_secs(300);

/// The subdirectories of the cache root this cache owns (and empties at start-up).
const OWNED_DIRS: [&str; 3] = ["artifacts", "downloads", "wrappers"];

/// Sizes and retries of artifact fetches.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most bytes one download may have (compressed).
    pub max_download: u64,
    /// The most bytes of file content one artifact may unpack to.
    pub max_unpacked: u64,
    /// Retries of a download that failed for a transient reason.
    pub retries: u32,
}

/// Why an artifact could not be made available.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Download(#[from] DownloadError),
    #[error("failed to extract artifact: {0}")]
    Unpack(#[from] UnpackError),
    #[error("artifact {digest} was refused before and is not downloaded again: {reason}")]
    Refused { digest: String, reason: String },
    #[error("artifact cache: {0}")]
    Cache(String),
}

impl FetchError {
    /// Whether the source has no artifact at that URL (yet, or any more).
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::Download(DownloadError::NotFound { .. }))
    }

    /// Whether the failure is the artifact's content (so fetching it again cannot help).
    fn is_content(&self) -> bool {
        match self {
            FetchError::Download(error) => {
                !error.is_transient() && !matches!(error, DownloadError::NotFound { .. })
            }
            FetchError::Unpack(UnpackError::Write { .. }) => false,
            FetchError::Unpack(_) => true,
            FetchError::Refused { .. } | FetchError::Cache(_) => false,
        }
    }
}

/// One unpacked artifact; held by a build for as long as it reads the files.
#[derive(Debug)]
pub struct Unpacked {
    /// The directory name under `<root>/artifacts` (the digest with `:` replaced).
    pub digest_dir: String,
    pub dir: PathBuf,
    ready: OnceCell<()>,
    last_used: std::sync::Mutex<Instant>,
}

/// The cache (one per controller process).
pub struct ArtifactCache {
    root: PathBuf,
    /// Held open with an exclusive lock: two processes emptying one directory would destroy each
    /// other's artifacts.
    _lock: std::fs::File,
    limits: Limits,
    entries: Mutex<HashMap<String, Arc<Unpacked>>>,
    refused: std::sync::Mutex<HashMap<String, String>>,
}

impl ArtifactCache {
    /// Opens the cache at `root`, removing whatever an earlier process left in it. Fails when
    /// another live cache holds the directory.
    pub fn open(root: &Path, limits: Limits) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        let lock = std::fs::File::create(root.join("lock"))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
            |_| {
                std::io::Error::other(format!(
                    "the artifact cache directory {} is in use by another process; give each \
                     controller its own --artifact-cache-path",
                    root.display()
                ))
            },
        )?;
        for dir in OWNED_DIRS {
            let path = root.join(dir);
            match std::fs::remove_dir_all(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
            std::fs::create_dir_all(&path)?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            _lock: lock,
            limits,
            entries: Mutex::new(HashMap::new()),
            refused: std::sync::Mutex::new(HashMap::new()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A fresh directory for one build's own files, removed when dropped.
    pub fn wrapper_dir(&self) -> std::io::Result<tempfile::TempDir> {
        tempfile::Builder::new().tempdir_in(self.root.join("wrappers"))
    }

    /// The unpacked artifact for `digest`, downloading it from `url` when not cached.
    pub async fn get(
        &self,
        http: &reqwest::Client,
        url: &str,
        digest: &str,
    ) -> Result<Arc<Unpacked>, FetchError> {
        if let Some(reason) = self.refused_reason(digest) {
            return Err(FetchError::Refused {
                digest: digest.to_owned(),
                reason,
            });
        }
        let entry = self.entry(digest).await;
        *entry.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        let fetched = entry
            .ready
            .get_or_try_init(|| self.fetch(http, url, digest, &entry.dir))
            .await;
        if let Err(error) = fetched {
            if error.is_content() {
                self.refused
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(digest.to_owned(), error.to_string());
            }
            return Err(error);
        }
        Ok(entry)
    }

    fn refused_reason(&self, digest: &str) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(digest)
            .cloned()
    }

    async fn entry(&self, digest: &str) -> Arc<Unpacked> {
        let mut entries = self.entries.lock().await;
        self.evict(&mut entries);
        let digest_dir = digest.replace(':', "-");
        entries
            .entry(digest.to_owned())
            .or_insert_with(|| {
                Arc::new(Unpacked {
                    dir: self.root.join("artifacts").join(&digest_dir),
                    digest_dir,
                    ready: OnceCell::new(),
                    last_used: std::sync::Mutex::new(Instant::now()),
                })
            })
            .clone()
    }

    /// Downloads, verifies and unpacks one artifact; leaves nothing on disk when it fails.
    async fn fetch(
        &self,
        http: &reqwest::Client,
        url: &str,
        digest: &str,
        dir: &Path,
    ) -> Result<(), FetchError> {
        let download = self
            .root
            .join("downloads")
            .join(format!("{}.tar.gz", digest.replace(':', "-")));
        let downloaded = download::download_verified(
            http,
            url,
            digest,
            &download,
            self.limits.max_download,
            self.limits.retries,
        )
        .await;
        if let Err(error) = downloaded {
            remove_file(&download);
            return Err(error.into());
        }
        let dir = dir.to_path_buf();
        let max_unpacked = self.limits.max_unpacked;
        let archive = download.clone();
        let unpacked = tokio::task::spawn_blocking(move || {
            let result = std::fs::File::open(&archive)
                .map_err(UnpackError::Corrupt)
                .and_then(|file| untar::unpack(std::io::BufReader::new(file), &dir, max_unpacked));
            if result.is_err() {
                let _ = std::fs::remove_dir_all(&dir);
            }
            result
        })
        .await
        .map_err(|e| FetchError::Cache(format!("unpacking stopped: {e}")))?;
        remove_file(&download);
        Ok(unpacked?)
    }

    /// Drops entries idle for a while that no build holds.
    fn evict(&self, entries: &mut HashMap<String, Arc<Unpacked>>) {
        let now = Instant::now();
        entries.retain(|_, entry| {
            let idle =
                now.duration_since(*entry.last_used.lock().unwrap_or_else(|p| p.into_inner()));
            let keep = Arc::strong_count(entry) > 1 || idle < IDLE_LIFETIME;
            if !keep {
                let _ = std::fs::remove_dir_all(&entry.dir);
            }
            keep
        });
    }
}

fn remove_file(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "cannot remove a downloaded artifact");
    }
}
