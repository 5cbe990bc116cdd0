//! Signing commits.

use crate::error::GitError;

/// A key to sign commits with.
#[derive(Clone)]
pub enum SigningKey {
    /// An ASCII-armored OpenPGP secret key and its passphrase (Flux's `git.asc` and
    /// `passphrase` Secret keys).
    OpenPgp {
        armored_key: String,
        passphrase: Option<String>,
    },
    /// An SSH private key and its passphrase.
    Ssh {
        private_key: String,
        passphrase: Option<String>,
    },
}

// Debug never prints key material.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKey::OpenPgp { .. } => f.write_str("SigningKey::OpenPgp(***)"),
            SigningKey::Ssh { .. } => f.write_str("SigningKey::Ssh(***)"),
        }
    }
}

/// The armored signature of a commit's `content`, for its `gpgsig` header.
pub(crate) fn sign_commit(key: &SigningKey, _content: &[u8]) -> Result<String, GitError> {
    match key {
        SigningKey::OpenPgp { .. } => Err(GitError::SigningNotSupported { kind: "OpenPGP" }),
        SigningKey::Ssh { .. } => Err(GitError::SigningNotSupported { kind: "SSH" }),
    }
}
