//! File access for a build: resolving paths relative to a kustomization directory and enforcing the
//! load restrictions (kubectl's default confines file loads to the kustomization's own directory tree).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;

/// Which files a kustomization may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictions {
    /// Files must be inside the directory of the kustomization that names them (kubectl's default).
    /// Other kustomization directories (bases) may live anywhere.
    #[default]
    RootOnly,
    /// Any readable file may be used (what Flux's kustomize-controller does).
    None,
}

/// A hook that sees the bytes of every file the build reads (resources, patches, generator
/// sources, …) before they are parsed, and may replace them. Eddy's kustomize-controller uses it
/// to decrypt SOPS-encrypted files in memory. An `Err` fails the build, naming the file.
#[derive(Clone)]
pub struct ReadFilter(Arc<ReadFilterFn>);

type ReadFilterFn = dyn Fn(&Path, Vec<u8>) -> Result<Vec<u8>, String> + Send + Sync;

impl ReadFilter {
    pub fn new(
        filter: impl Fn(&Path, Vec<u8>) -> Result<Vec<u8>, String> + Send + Sync + 'static,
    ) -> ReadFilter {
        ReadFilter(Arc::new(filter))
    }
}

impl std::fmt::Debug for ReadFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadFilter")
    }
}

/// Reads files on behalf of one kustomization directory.
#[derive(Debug, Clone)]
pub struct Loader {
    /// The canonical kustomization directory.
    pub root: PathBuf,
    pub restrictions: LoadRestrictions,
    /// Sees every file read through this loader (see [`ReadFilter`]).
    pub filter: Option<ReadFilter>,
}

impl Loader {
    pub fn new(root: &Path, restrictions: LoadRestrictions) -> Result<Loader, Error> {
        let root = canonical(root)?;
        if !root.is_dir() {
            return Err(Error::Io {
                path: root,
                message: "not a directory".to_string(),
            });
        }
        Ok(Loader {
            root,
            restrictions,
            filter: None,
        })
    }

    /// This loader with `filter` applied to every file it reads.
    pub fn with_filter(mut self, filter: Option<ReadFilter>) -> Loader {
        self.filter = filter;
        self
    }

    /// Whether `entry` (as written in a kustomization) names a remote resource.
    pub fn is_remote(entry: &str) -> bool {
        entry.contains("://")
            || entry.starts_with("github.com/")
            || entry.starts_with("git@")
            || entry.starts_with("gitlab.com/")
            || entry.starts_with("bitbucket.org/")
    }

    /// Resolves `entry` against the root, following symlinks. Does not apply the restriction.
    pub fn resolve(&self, entry: &str) -> Result<PathBuf, Error> {
        let joined = self.root.join(entry);
        canonical(&joined)
    }

    /// Resolves a file that this kustomization reads, enforcing the load restriction.
    pub fn resolve_file(&self, entry: &str) -> Result<PathBuf, Error> {
        let path = self.resolve(entry)?;
        self.check_restriction(&path)?;
        Ok(path)
    }

    pub fn check_restriction(&self, path: &Path) -> Result<(), Error> {
        if self.restrictions == LoadRestrictions::RootOnly && !path.starts_with(&self.root) {
            return Err(Error::OutsideRoot {
                path: path.to_path_buf(),
                root: self.root.clone(),
            });
        }
        Ok(())
    }

    /// Reads a file named by the kustomization as bytes.
    pub fn read_bytes(&self, entry: &str) -> Result<(PathBuf, Vec<u8>), Error> {
        let path = self.resolve_file(entry)?;
        let bytes = self.read_resolved(&path)?;
        Ok((path, bytes))
    }

    /// Reads a file whose path is already resolved and checked, through the read filter.
    pub fn read_resolved(&self, path: &Path) -> Result<Vec<u8>, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        match &self.filter {
            Some(ReadFilter(filter)) => filter(path, bytes).map_err(|message| Error::InvalidFile {
                path: path.to_path_buf(),
                message,
            }),
            None => Ok(bytes),
        }
    }

    /// Reads a text file named by the kustomization.
    pub fn read_text(&self, entry: &str) -> Result<(PathBuf, String), Error> {
        let (path, bytes) = self.read_bytes(entry)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::invalid(&path, "file is not UTF-8 text"))?;
        Ok((path, text))
    }
}

/// Canonicalizes a path, reporting a missing file clearly.
pub fn canonical(path: &Path) -> Result<PathBuf, Error> {
    std::fs::canonicalize(path).map_err(|e| Error::Io {
        path: normalize(path),
        message: if e.kind() == std::io::ErrorKind::NotFound {
            "no such file or directory".to_string()
        } else {
            e.to_string()
        },
    })
}

/// Removes `.` and resolves `..` lexically, for error messages about paths that do not exist.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
