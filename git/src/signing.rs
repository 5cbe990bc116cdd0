//! Signing commits: a detached, ASCII-armored OpenPGP signature over the commit object, which
//! git stores in the commit's `gpgsig` header and `git verify-commit` checks.

use pgp::composed::{Deserializable, DetachedSignature, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::Password;

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
    /// An SSH private key and its passphrase (not supported yet).
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
pub(crate) fn sign_commit(key: &SigningKey, content: &[u8]) -> Result<String, GitError> {
    match key {
        SigningKey::OpenPgp {
            armored_key,
            passphrase,
        } => sign_openpgp(armored_key, passphrase.as_deref(), content),
        SigningKey::Ssh { .. } => Err(GitError::SigningNotSupported { kind: "SSH" }),
    }
}

fn sign_openpgp(
    armored_key: &str,
    passphrase: Option<&str>,
    content: &[u8],
) -> Result<String, GitError> {
    let (key, _) = SignedSecretKey::from_string(armored_key)
        .map_err(|err| GitError::Signing(format!("the OpenPGP key cannot be read: {err}")))?;
    let password = passphrase.map_or_else(Password::empty, Password::from);
    // gpg signs with a signing subkey when the key has one, and with the primary key otherwise.
    let signing_subkey = key.secret_subkeys.iter().find(|subkey| {
        subkey
            .signatures
            .iter()
            .any(|binding| binding.key_flags().sign())
    });
    let signature = match signing_subkey {
        Some(subkey) => sign_with(&subkey.key, &password, content),
        None => sign_with(&key.primary_key, &password, content),
    }
    .map_err(|err| {
        GitError::Signing(format!(
            "the OpenPGP key cannot sign (is the passphrase right?): {err}"
        ))
    })?;
    signature
        .to_armored_string(Default::default())
        .map_err(|err| GitError::Signing(err.to_string()))
}

fn sign_with(
    key: &impl pgp::types::SigningKey,
    password: &Password,
    content: &[u8],
) -> pgp::errors::Result<DetachedSignature> {
    let hash = key.hash_alg();
    let hash = if hash == HashAlgorithm::None {
        HashAlgorithm::Sha256
    } else {
        hash
    };
    DetachedSignature::sign_binary_data(rand::thread_rng(), key, password, hash, content)
}
