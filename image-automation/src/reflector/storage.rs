//! Scanned tags on disk, one file per ImageRepository under `--storage-path`, so a restart reads
//! them back instead of rescanning. A file is the scan revision on the first line and one tag per
//! line after it, gzip-compressed, written to a temporary file and renamed into place so a crash
//! never leaves half a list.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("tag storage {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The tags of one repository as last scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTags {
    pub revision: String,
    pub tags: Vec<String>,
}

/// Blocking file access: callers run it off the async runtime (`spawn_blocking`).
pub struct TagStore {
    root: PathBuf,
}

impl TagStore {
    pub fn new(root: impl Into<PathBuf>) -> TagStore {
        TagStore { root: root.into() }
    }

    /// The file for a repository: a hash of namespace and name, so no name escapes the root.
    fn path(&self, namespace: &str, name: &str) -> PathBuf {
        let key = Sha256::digest(format!("{namespace}/{name}").as_bytes());
        self.root.join(format!("{}.tags.gz", hex::encode(key)))
    }

    pub fn save(
        &self,
        namespace: &str,
        name: &str,
        stored: &StoredTags,
    ) -> Result<(), StorageError> {
        let path = self.path(namespace, name);
        let io = |source| StorageError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.root).map_err(io)?;
        let mut temporary = tempfile::NamedTempFile::new_in(&self.root).map_err(io)?;
        {
            let mut encoder = GzEncoder::new(temporary.as_file_mut(), Compression::fast());
            writeln!(encoder, "{}", stored.revision).map_err(io)?;
            for tag in &stored.tags {
                writeln!(encoder, "{tag}").map_err(io)?;
            }
            encoder.finish().map_err(io)?;
        }
        temporary.as_file().sync_all().map_err(io)?;
        temporary.persist(&path).map_err(|error| io(error.error))?;
        Ok(())
    }

    /// `None` when the repository was never scanned (or its file is unreadable: rescan then).
    pub fn load(&self, namespace: &str, name: &str) -> Option<StoredTags> {
        let file = std::fs::File::open(self.path(namespace, name)).ok()?;
        let mut lines = BufReader::new(GzDecoder::new(file)).lines();
        let revision = lines.next()?.ok()?;
        let tags = lines.collect::<Result<Vec<_>, _>>().ok()?;
        Some(StoredTags { revision, tags })
    }

    /// Removes a deleted repository's file.
    pub fn remove(&self, namespace: &str, name: &str) -> Result<(), StorageError> {
        let path = self.path(namespace, name);
        match std::fs::remove_file(&path) {
            Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                Err(StorageError::Io { path, source })
            }
            _ => Ok(()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_tags_survive_a_new_store_and_removal_forgets_them() {
        let dir = tempfile::tempdir().unwrap();
        let stored = StoredTags {
            revision: "abc".into(),
            tags: (0..10_000).map(|n| format!("1.0.{n}")).collect(),
        };
        TagStore::new(dir.path())
            .save("ns", "app", &stored)
            .unwrap();
        let reopened = TagStore::new(dir.path());
        assert_eq!(reopened.load("ns", "app"), Some(stored));
        assert_eq!(reopened.load("ns", "other"), None);
        reopened.remove("ns", "app").unwrap();
        assert_eq!(reopened.load("ns", "app"), None);
        reopened.remove("ns", "app").unwrap();
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 0, "no temporary files left behind");
    }
}
