//! The engine's error type: every failure names the file or object involved and what went wrong.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    /// A file's content is invalid (YAML syntax, kustomization fields, patch shape, ...).
    #[error("{path}: {message}")]
    InvalidFile { path: PathBuf, message: String },
    /// A path points outside the directory the load restrictions allow.
    #[error("security: file '{path}' is not in or below '{root}'")]
    OutsideRoot { path: PathBuf, root: PathBuf },
    /// An entry of a kustomization resolves (after symlinks) outside the build root the caller
    /// confined the build to ([`crate::BuildOptions::new`]).
    #[error("{kustomization}: {field} entry \"{entry}\": resolves outside the build root")]
    OutsideBuildRoot {
        kustomization: PathBuf,
        field: String,
        entry: String,
    },
    /// A directory is (indirectly) a resource of itself.
    #[error("cycle detected: {path} is already being built")]
    Cycle { path: PathBuf },
    /// The kustomization asks for something this engine refuses to do (helm, remote resources, plugins).
    #[error("{path}: {feature} is not supported")]
    Unsupported { path: PathBuf, feature: String },
    /// A build step failed (conflicting ids, missing patch target, ambiguous reference, ...).
    #[error("{context}: {message}")]
    Build { context: String, message: String },
}

impl Error {
    pub(crate) fn build(context: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Build {
            context: context.into(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::InvalidFile {
            path: path.into(),
            message: message.into(),
        }
    }
}
