//! Errors of artifact storage, each mapped to the Flux reason it surfaces as.

use std::path::PathBuf;

/// A failed storage operation.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("failed to create directory '{path}': {source}")]
    CreateDirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to lock artifact '{path}': {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to archive '{path}': {detail}")]
    Archive { path: PathBuf, detail: String },
    #[error("failed to write artifact '{path}': {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to read '{path}': {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to stat '{path}': {source}")]
    Stat {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to delete '{path}': {source}")]
    Delete {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid path '{path}': {detail}")]
    InvalidPath { path: String, detail: String },
    #[error("unsupported artifact digest algorithm '{0}' (supported: sha256, sha384, sha512)")]
    UnsupportedDigest(String),
}

impl StorageError {
    /// The Flux condition reason for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            StorageError::CreateDirectory { .. } => "DirectoryCreationFailed",
            StorageError::Lock { .. } => "AcquireLockFailed",
            StorageError::Archive { .. } | StorageError::Write { .. } => "ArchiveOperationFailed",
            StorageError::Read { .. } => "ReadOperationFailed",
            StorageError::Stat { .. } | StorageError::Delete { .. } => "StatOperationFailed",
            StorageError::InvalidPath { .. } => "InvalidPath",
            StorageError::UnsupportedDigest(_) => "InvalidPath",
        }
    }
}
