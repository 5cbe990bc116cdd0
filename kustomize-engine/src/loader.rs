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

/// The directories every file of a build must resolve into, after symlinks are followed.
///
/// Usually one: the build root the caller named ([`crate::BuildOptions::new`]). When the directory
/// being built lies outside it (a kustomization the caller generated next to the sources, as
/// kustomize-controller's wrapper is), that directory is allowed too, so its kustomization file can
/// be read; everything it names must still be inside the build root or that directory.
#[derive(Debug, Clone, Default)]
pub struct Confinement {
    roots: Option<Arc<[PathBuf]>>,
}

impl Confinement {
    /// No confinement: any readable file (what `kubectl kustomize` does).
    pub fn unconfined() -> Confinement {
        Confinement { roots: None }
    }

    /// Confined to the canonical directories `roots`.
    pub fn within(roots: Vec<PathBuf>) -> Confinement {
        Confinement {
            roots: Some(roots.into()),
        }
    }

    /// Whether the canonical `path` is inside one of the roots.
    pub fn allows(&self, path: &Path) -> bool {
        match &self.roots {
            None => true,
            Some(roots) => roots.iter().any(|root| path.starts_with(root)),
        }
    }
}

/// Reads files on behalf of one kustomization directory. Every path a kustomization names goes
/// through [`Loader::resolve`], which follows symlinks and refuses anything outside the build's
/// [`Confinement`]: no other code of the engine opens a file.
#[derive(Debug, Clone)]
pub struct Loader {
    /// The canonical kustomization directory.
    pub root: PathBuf,
    pub restrictions: LoadRestrictions,
    /// Sees every file read through this loader (see [`ReadFilter`]).
    pub filter: Option<ReadFilter>,
    confinement: Confinement,
    /// The kustomization file of `root` once found, for messages about the entries it names.
    kustomization_file: PathBuf,
}

impl Loader {
    /// A loader for the directory `dir`, which the caller has resolved and checked against
    /// `confinement` already.
    pub fn new(
        dir: &Path,
        restrictions: LoadRestrictions,
        confinement: Confinement,
    ) -> Result<Loader, Error> {
        let root = canonical(dir)?;
        if !root.is_dir() {
            return Err(Error::Io {
                path: root,
                message: "not a directory".to_string(),
            });
        }
        Ok(Loader {
            kustomization_file: root.clone(),
            root,
            restrictions,
            filter: None,
            confinement,
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

    /// Finds the kustomization file of this directory (refusing one that is a symlink out of the
    /// build root) and remembers it for messages.
    pub fn find_kustomization_file(&mut self, names: &[&str]) -> Result<PathBuf, Error> {
        let found: Vec<PathBuf> = names
            .iter()
            .map(|name| self.root.join(name))
            .filter(|path| path.is_file())
            .collect();
        let path = match found.as_slice() {
            [] => {
                return Err(Error::invalid(
                    &self.root,
                    "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory",
                ));
            }
            [one] => one.clone(),
            _ => {
                return Err(Error::invalid(
                    &self.root,
                    "found multiple kustomization files in directory",
                ));
            }
        };
        let resolved = canonical(&path)?;
        if !self.confinement.allows(&resolved) {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            return Err(Error::OutsideBuildRoot {
                kustomization: self.root.clone(),
                field: "kustomization file".to_string(),
                entry: name.unwrap_or_default(),
            });
        }
        self.kustomization_file = path.clone();
        Ok(path)
    }

    /// Reads the kustomization file found by [`Loader::find_kustomization_file`]. It is not passed
    /// through the read filter: a kustomization is never encrypted.
    pub fn read_kustomization_file(&self) -> Result<String, Error> {
        std::fs::read_to_string(&self.kustomization_file).map_err(|e| Error::Io {
            path: self.kustomization_file.clone(),
            message: e.to_string(),
        })
    }

    /// Resolves `entry` of the kustomization field `field` against this directory, following
    /// symlinks, and refuses it when it lands outside the build root. Does not apply the load
    /// restriction (bases may live anywhere inside the build root).
    pub fn resolve(&self, field: &str, entry: &str) -> Result<PathBuf, Error> {
        let joined = self.root.join(entry);
        match canonical(&joined) {
            Ok(path) if self.confinement.allows(&path) => Ok(path),
            Ok(_) => Err(self.outside(field, entry)),
            // A missing file outside the root is reported as outside, so a build cannot probe
            // which files exist on the host.
            Err(_) if !self.confinement.allows(&normalize(&joined)) => {
                Err(self.outside(field, entry))
            }
            Err(error) => Err(error),
        }
    }

    fn outside(&self, field: &str, entry: &str) -> Error {
        Error::OutsideBuildRoot {
            kustomization: self.kustomization_file.clone(),
            field: field.to_string(),
            entry: entry.to_string(),
        }
    }

    /// Resolves a file that this kustomization reads, enforcing the load restriction.
    pub fn resolve_file(&self, field: &str, entry: &str) -> Result<PathBuf, Error> {
        let path = self.resolve(field, entry)?;
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

    /// Reads a file named by the kustomization field `field` as bytes.
    pub fn read_bytes(&self, field: &str, entry: &str) -> Result<(PathBuf, Vec<u8>), Error> {
        let path = self.resolve_file(field, entry)?;
        let bytes = self.read_resolved(&path)?;
        Ok((path, bytes))
    }

    /// Reads a file whose path came from [`Loader::resolve_file`] (or [`Loader::resolve`] plus
    /// [`Loader::check_restriction`]), through the read filter.
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

    /// Reads a text file named by the kustomization field `field`.
    pub fn read_text(&self, field: &str, entry: &str) -> Result<(PathBuf, String), Error> {
        let (path, bytes) = self.read_bytes(field, entry)?;
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
