//! Unpacked artifacts shared by every Kustomization that builds the same revision.
//!
//! With many Kustomizations on one repository (the common layout), unpacking the whole artifact
//! once per Kustomization dominates the cost. Here each digest is downloaded, verified and
//! unpacked once into `<root>/artifacts/<digest>/`, which builds only read; each build writes
//! its wrapper kustomization into its own `<root>/wrappers/<random>/` (two levels down, so the
//! artifact is always `../../artifacts/<digest>` from it). Entries nobody uses are evicted.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{Mutex, OnceCell};

use crate::fetch::{self, FetchError};

/// How long an unused unpacked artifact is kept.
const IDLE_LIFETIME: Duration = Duration::from_secs(300);

/// One unpacked artifact.
pub struct Unpacked {
    pub digest_dir: String,
    pub dir: PathBuf,
    ready: OnceCell<()>,
    last_used: std::sync::Mutex<Instant>,
}

/// The cache (one per controller process).
pub struct ArtifactCache {
    root: tempfile::TempDir,
    entries: Mutex<HashMap<String, Arc<Unpacked>>>,
}

impl ArtifactCache {
    pub fn new() -> std::io::Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("kustomize-controller-")
            .tempdir()?;
        std::fs::create_dir_all(root.path().join("artifacts"))?;
        std::fs::create_dir_all(root.path().join("wrappers"))?;
        Ok(Self {
            root,
            entries: Mutex::new(HashMap::new()),
        })
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A fresh directory for one build's wrapper kustomization, removed when dropped.
    pub fn wrapper_dir(&self) -> std::io::Result<tempfile::TempDir> {
        tempfile::Builder::new().tempdir_in(self.root.path().join("wrappers"))
    }

    /// The unpacked artifact for `digest`, downloading it from `url` when not cached. Failures are
    /// not cached: the next call tries again.
    pub async fn get(
        &self,
        http: &reqwest::Client,
        url: &str,
        digest: &str,
        retries: u32,
    ) -> Result<Arc<Unpacked>, FetchError> {
        let entry = {
            let mut entries = self.entries.lock().await;
            self.evict(&mut entries);
            let digest_dir = digest.replace(':', "-");
            entries
                .entry(digest.to_owned())
                .or_insert_with(|| {
                    Arc::new(Unpacked {
                        dir: self.root.path().join("artifacts").join(&digest_dir),
                        digest_dir,
                        ready: OnceCell::new(),
                        last_used: std::sync::Mutex::new(Instant::now()),
                    })
                })
                .clone()
        };
        *entry.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        entry
            .ready
            .get_or_try_init(|| async {
                let bytes = fetch::download(http, url, retries).await?;
                let dir = entry.dir.clone();
                let digest = digest.to_owned();
                tokio::task::spawn_blocking(move || {
                    fetch::verify_digest(&bytes, &digest)?;
                    // A half-unpacked directory from an earlier failure is discarded first.
                    let _ = std::fs::remove_dir_all(&dir);
                    std::fs::create_dir_all(&dir).map_err(|e| FetchError::Unpack(e.to_string()))?;
                    fetch::untar(&bytes, &dir)
                })
                .await
                .map_err(|e| FetchError::Unpack(e.to_string()))?
            })
            .await?;
        Ok(entry)
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
