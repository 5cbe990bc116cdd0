//! Private keys from the Kustomization's decryption Secret, and unwrapping a document's data key
//! with them.
//!
//! Flux's convention for the Secret: entries whose name ends in `.agekey` hold age identities
//! (`AGE-SECRET-KEY-1…` lines, `#` comments allowed), entries ending in `.asc` hold armored
//! OpenPGP private keys without a passphrase. Entries for the cloud key services are recognised
//! only to say they are not supported.

use std::collections::BTreeMap;
use std::io::Read;
use std::str::FromStr;

use pgp::composed::{Message, PublicOrSecret, SignedSecretKey};
use pgp::types::{KeyDetails, Password};

use super::SopsError;
use super::cipher::DATA_KEY_LEN;
use super::metadata::Metadata;

/// Secret entries naming key services Eddy does not implement, with their service name.
const UNSUPPORTED_ENTRIES: [(&str, &str); 4] = [
    ("sops.vault-token", "HashiCorp Vault"),
    ("sops.aws-kms", "AWS KMS"),
    ("sops.azure-kv", "Azure Key Vault"),
    ("sops.gcp-kms", "GCP KMS"),
];

/// The private keys one Kustomization may decrypt with.
#[derive(Default)]
pub struct KeyRing {
    age: Vec<age::x25519::Identity>,
    pgp: Vec<SignedSecretKey>,
    /// Unsupported key services the Secret carries credentials for.
    unsupported: Vec<&'static str>,
    /// Where the keys came from, for messages (`Secret/flux-system/sops-keys`).
    origin: String,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("KeyRing")
            .field("age_identities", &self.age.len())
            .field("pgp_keys", &self.pgp.len())
            .field("origin", &self.origin)
            .finish()
    }
}

impl KeyRing {
    /// Reads the entries of a decryption Secret (`origin` names it in messages).
    pub fn from_secret_data(
        origin: &str,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Self, SopsError> {
        let mut ring = KeyRing {
            origin: origin.to_owned(),
            ..KeyRing::default()
        };
        for (name, value) in data {
            let import_error = |message: String| {
                SopsError::Keys(format!(
                    "failed to import '{name}' from decryption {origin}: {message}"
                ))
            };
            if name.ends_with(".agekey") {
                let text = std::str::from_utf8(value)
                    .map_err(|_| import_error("not UTF-8 text".into()))?;
                ring.add_age_identities(text).map_err(import_error)?;
            } else if name.ends_with(".asc") {
                ring.add_pgp_keys(value).map_err(import_error)?;
            } else if let Some((_, service)) = UNSUPPORTED_ENTRIES.iter().find(|(n, _)| n == name) {
                ring.unsupported.push(service);
            }
        }
        Ok(ring)
    }

    /// Adds the age keys (`*.agekey` entries) of the controller's `--sops-age-secret`, tried
    /// after the Kustomization's own keys; its other entries are not read, as in Flux.
    pub fn add_fallback_age_keys(
        &mut self,
        origin: &str,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<(), SopsError> {
        for (name, value) in data.iter().filter(|(name, _)| name.ends_with(".agekey")) {
            let text = std::str::from_utf8(value).map_err(|_| {
                SopsError::Keys(format!(
                    "failed to import '{name}' from the controller's {origin}: not UTF-8 text"
                ))
            })?;
            self.add_age_identities(text).map_err(|message| {
                SopsError::Keys(format!(
                    "failed to import '{name}' from the controller's {origin}: {message}"
                ))
            })?;
        }
        self.origin = if self.origin.is_empty() {
            origin.to_owned()
        } else {
            format!("{} and {origin}", self.origin)
        };
        Ok(())
    }

    /// Adds the identities of an age identity file.
    pub fn add_age_identities(&mut self, text: &str) -> Result<(), String> {
        let mut found = 0;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let identity = age::x25519::Identity::from_str(line)
                .map_err(|_| "a line is not an age X25519 identity (AGE-SECRET-KEY-1...)")?;
            self.age.push(identity);
            found += 1;
        }
        if found == 0 {
            return Err("no age identity found".to_owned());
        }
        Ok(())
    }

    /// Adds the private keys of an armored OpenPGP key block (public keys in it are skipped).
    pub fn add_pgp_keys(&mut self, armored: &[u8]) -> Result<(), String> {
        let (keys, _) =
            PublicOrSecret::from_armor_many(armored).map_err(|e| format!("invalid armor: {e}"))?;
        let mut found = 0;
        for key in keys {
            if let PublicOrSecret::Secret(key) = key.map_err(|e| e.to_string())? {
                self.pgp.push(key);
                found += 1;
            }
        }
        if found == 0 {
            return Err("no OpenPGP private key found".to_owned());
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.pgp.is_empty()
    }

    /// Unwraps the document's data key with the first recipient one of our keys opens.
    pub fn data_key(&self, metadata: &Metadata) -> Result<[u8; DATA_KEY_LEN], SopsError> {
        let mut failures: Vec<String> = Vec::new();
        if !self.age.is_empty() {
            for stanza in &metadata.age {
                match self.open_age(&stanza.encrypted_key) {
                    Ok(key) => return Ok(key),
                    Err(e) => failures.push(format!("age: {e}")),
                }
            }
        }
        if !self.pgp.is_empty() {
            for stanza in &metadata.pgp {
                match self.open_pgp(&stanza.encrypted_key) {
                    Ok(key) => return Ok(key),
                    Err(e) => failures.push(format!("PGP: {e}")),
                }
            }
        }
        let mut message = format!(
            "no key in {} can decrypt the data key (the document is encrypted for: {}",
            self.describe(),
            metadata.describe_recipients()
        );
        message.push(')');
        if metadata.age.is_empty() && metadata.pgp.is_empty() && !metadata.unsupported.is_empty() {
            message = format!(
                "the data key is only wrapped by {}, which Eddy does not support (supported: age, PGP)",
                metadata.unsupported.join(", ")
            );
        } else if !failures.is_empty() {
            failures.dedup();
            message.push_str(": ");
            message.push_str(&failures.join("; "));
        }
        if !self.unsupported.is_empty() {
            message.push_str(&format!(
                "; credentials for {} in the Secret are not supported",
                self.unsupported.join(", ")
            ));
        }
        Err(SopsError::DataKey(message))
    }

    fn describe(&self) -> String {
        let origin = if self.origin.is_empty() {
            "the decryption keys".to_owned()
        } else {
            self.origin.clone()
        };
        format!(
            "{origin} ({} age identities, {} PGP keys)",
            self.age.len(),
            self.pgp.len()
        )
    }

    fn open_age(&self, armored: &str) -> Result<[u8; DATA_KEY_LEN], String> {
        let reader = age::armor::ArmoredReader::new(armored.as_bytes());
        let decryptor = age::Decryptor::new(reader).map_err(|e| e.to_string())?;
        let identities = self.age.iter().map(|i| i as &dyn age::Identity);
        let mut plaintext = Vec::new();
        decryptor
            .decrypt(identities)
            .map_err(|e| e.to_string())?
            .read_to_end(&mut plaintext)
            .map_err(|e| e.to_string())?;
        to_data_key(plaintext)
    }

    fn open_pgp(&self, armored: &str) -> Result<[u8; DATA_KEY_LEN], String> {
        let (message, _) = Message::from_string(armored).map_err(|e| e.to_string())?;
        let empty = Password::empty();
        let passwords = vec![&empty; self.pgp.len()];
        let keys: Vec<&SignedSecretKey> = self.pgp.iter().collect();
        let mut message = message
            .decrypt_with_keys(passwords, keys)
            .map_err(|e| format!("{e} (our keys: {})", self.pgp_fingerprints()))?;
        if message.is_compressed() {
            message = message.decompress().map_err(|e| e.to_string())?;
        }
        let plaintext = message.as_data_vec().map_err(|e| e.to_string())?;
        to_data_key(plaintext)
    }

    fn pgp_fingerprints(&self) -> String {
        self.pgp
            .iter()
            .map(|k| format!("{:X}", k.fingerprint()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn to_data_key(plaintext: Vec<u8>) -> Result<[u8; DATA_KEY_LEN], String> {
    <[u8; DATA_KEY_LEN]>::try_from(plaintext.as_slice())
        .map_err(|_| format!("data key has {} bytes, expected 32", plaintext.len()))
}
