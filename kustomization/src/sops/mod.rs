//! SOPS: decrypting what was encrypted in Git, in memory, for Kustomizations with
//! `spec.decryption.provider: sops`.
//!
//! The keys come from the Secret named by `spec.decryption.secretRef` ([`keys`]). Decryption
//! happens while the build reads its files ([`Decryptor::decrypt_file`], handed to the
//! Kustomize engine as a read filter): a SOPS-encrypted Secret manifest, or an encrypted
//! dotenv/YAML/JSON/binary file used by a `secretGenerator` or `configMapGenerator`, is replaced
//! by its plaintext before the engine parses it. Nothing decrypted is written to disk, and the
//! MAC is checked against the file exactly as `sops` wrote it, before Kustomize changes names,
//! namespaces or labels (which would otherwise break it). After the build, [`check_objects`]
//! refuses any Secret that still carries SOPS metadata.
//!
//! Differences from Flux, on purpose: Flux decrypts Secret manifests after the build and skips
//! the MAC there (Kustomize's edits would break it); here the MAC is always verified. Any
//! SOPS document a build reads is decrypted, not only `v1` Secrets and generator sources (a
//! patch file, or an encrypted ConfigMap manifest, too); documents annotated or labelled
//! `kustomize.toolkit.fluxcd.io/decrypt: disabled` are left as they are. INI files, several
//! `key_groups` (Shamir) and cloud key services are refused with a message saying so.
//!
//! The format itself ([`cipher`], [`tree`], [`metadata`], [`document`], [`formats`]) is
//! implemented here; age and OpenPGP come from the `age` and `pgp` crates. Cloud key services
//! (AWS/GCP/Azure KMS, Vault) are reported as not supported.

pub mod cipher;
pub mod document;
pub mod formats;
pub mod keys;
pub mod metadata;
pub mod tree;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use eddy_api::kustomize::Kustomization;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use serde_json::Value;

pub use keys::KeyRing;

/// The per-object opt-out of decryption.
pub const DECRYPT_KEY: &str = "kustomize.toolkit.fluxcd.io/decrypt";

/// Why a SOPS document could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    #[error("{0}")]
    Parse(String),
    #[error("no SOPS metadata found")]
    NoMetadata,
    #[error("invalid SOPS metadata: {0}")]
    Metadata(String),
    #[error("{0}")]
    Keys(String),
    #[error("{0}")]
    DataKey(String),
    #[error("failed to decrypt the value at '{path}': {message}")]
    Value { path: String, message: String },
    #[error("the document has no MAC, so its integrity cannot be verified")]
    NoMac,
    #[error("failed to decrypt the MAC: {0}")]
    MacUnreadable(cipher::CipherError),
    #[error(
        "MAC mismatch: the content was changed after sops encrypted it (integrity check failed)"
    )]
    MacMismatch,
    #[error("{0} not supported")]
    Unsupported(String),
    #[error("failed to get decryption {origin}: {source}")]
    KeySecret {
        origin: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "{subject} is SOPS-encrypted, configuring decryption is required for this secret to be reconciled"
    )]
    DecryptionNotConfigured { subject: String },
    #[error(
        "{subject} still carries SOPS metadata after the build (a sops block without a mac, or one not read from a file of the build), refusing to apply it"
    )]
    NotDecrypted { subject: String },
    #[error("{context}: {source}")]
    Within {
        context: String,
        source: Box<SopsError>,
    },
}

impl SopsError {
    /// Prefixes the error with what it is about (`Secret/db`).
    pub fn within(self, context: &str) -> SopsError {
        SopsError::Within {
            context: context.to_owned(),
            source: Box::new(self),
        }
    }
}

/// Decrypts the files one build reads, with one Kustomization's keys.
#[derive(Debug, Clone)]
pub struct Decryptor {
    keys: Arc<KeyRing>,
}

impl Decryptor {
    pub fn new(keys: KeyRing) -> Self {
        Self {
            keys: Arc::new(keys),
        }
    }

    /// The plaintext of `bytes` read from `path` when it is a SOPS-encrypted file (see
    /// [`formats::decrypt_file`]); `Ok(None)` when it is used as it is.
    pub fn decrypt_file(&self, path: &Path, bytes: &[u8]) -> Result<Option<Vec<u8>>, SopsError> {
        formats::decrypt_file(path, bytes, &self.keys)
    }

    /// The read filter the Kustomize engine calls for every file it reads.
    pub fn read_filter(&self) -> eddy_kustomize::ReadFilter {
        let decryptor = self.clone();
        eddy_kustomize::ReadFilter::new(move |path: &Path, bytes: Vec<u8>| {
            match decryptor.decrypt_file(path, &bytes) {
                Ok(Some(plaintext)) => Ok(plaintext),
                Ok(None) => Ok(bytes),
                Err(error) => Err(format!("SOPS decryption failed: {error}")),
            }
        })
    }
}

/// A Secret named by a controller flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretName {
    pub namespace: String,
    pub name: String,
}

/// The decryptor a Kustomization asks for, with its keys read from `spec.decryption.secretRef`
/// (in the Kustomization's namespace) and then the age keys of the controller's
/// `--sops-age-secret` (`controller_age_keys`), as Flux falls back to them; `None` without
/// `spec.decryption`.
pub async fn decryptor_for(
    client: &kube::Client,
    ks: &Kustomization,
    controller_age_keys: Option<&SecretName>,
) -> Result<Option<Decryptor>, SopsError> {
    let Some(decryption) = &ks.spec.decryption else {
        return Ok(None);
    };
    let mut keys = match &decryption.secret_ref {
        Some(secret_ref) => {
            let namespace = ks.namespace().unwrap_or_default();
            let (origin, data) = read_key_secret(client, &namespace, &secret_ref.name).await?;
            KeyRing::from_secret_data(&origin, &data)?
        }
        // Without a Secret only the controller's keys can decrypt; without those every
        // document fails to decrypt with a message saying so.
        None => KeyRing::default(),
    };
    if let Some(secret) = controller_age_keys {
        let (origin, data) = read_key_secret(client, &secret.namespace, &secret.name).await?;
        keys.add_fallback_age_keys(&origin, &data)?;
    }
    Ok(Some(Decryptor::new(keys)))
}

/// A key Secret's entries (`data` and `stringData`) and its name for messages.
async fn read_key_secret(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<(String, BTreeMap<String, Vec<u8>>), SopsError> {
    let api: kube::Api<Secret> = kube::Api::namespaced(client.clone(), namespace);
    let origin = format!("Secret/{namespace}/{name}");
    let secret = api.get(name).await.map_err(|source| SopsError::KeySecret {
        origin: origin.clone(),
        source,
    })?;
    let mut data: BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    for (key, value) in secret.string_data.unwrap_or_default() {
        data.insert(key, value.into_bytes());
    }
    Ok((origin, data))
}

/// Whether `object` is a Secret carrying SOPS metadata.
pub fn is_encrypted_secret(object: &Value) -> bool {
    object["kind"] == "Secret" && object["apiVersion"] == "v1" && object.get("sops").is_some()
}

/// Whether an object opts out of decryption (annotation or label, any case).
fn decryption_disabled(object: &Value) -> bool {
    ["annotations", "labels"].iter().any(|field| {
        object
            .pointer(&format!("/metadata/{field}"))
            .and_then(|m| m.get(DECRYPT_KEY))
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
    })
}

/// The last check after the build: a Secret that still carries SOPS metadata was not decrypted
/// while its file was read, and applying it would store ciphertext as if it were the secret.
/// Objects opting out with `kustomize.toolkit.fluxcd.io/decrypt: disabled` pass unchanged.
pub fn check_objects(ks: &Kustomization, objects: &[Value]) -> Result<(), SopsError> {
    for object in objects {
        if !is_encrypted_secret(object) || decryption_disabled(object) {
            continue;
        }
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(|ns| format!("{ns}/"))
            .unwrap_or_default();
        let subject = format!("Secret/{namespace}{name}");
        if ks.spec.decryption.is_none() {
            return Err(SopsError::DecryptionNotConfigured { subject });
        }
        return Err(SopsError::NotDecrypted { subject });
    }
    Ok(())
}
