//! Decrypting a parsed SOPS tree in place and checking its MAC.
//!
//! SOPS hashes (SHA-512) the plaintext of every leaf in document order — decrypted values and, unless
//! `mac_only_encrypted` is set, the clear ones too — and stores the upper-case hex digest,
//! encrypted, as `mac`. Recomputing it here catches edits the per-value AES-GCM tags cannot see:
//! changed clear values, and values added, removed or reordered.

use sha2::{Digest, Sha512};

use super::SopsError;
use super::cipher::{self, DATA_KEY_LEN, Plain};
use super::keys::KeyRing;
use super::metadata::{Metadata, Rules};
use super::tree::Node;

/// The bytes SOPS feeds the hash first when `mac_only_encrypted` is set, so such a MAC never
/// equals one computed over all values (a fixed constant of the SOPS format).
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// Decrypts `branches` (the documents of one SOPS file, without their `sops` entries) in place
/// and verifies the MAC recorded in `metadata`.
pub fn decrypt_tree(
    branches: &mut [Node],
    metadata: &Metadata,
    keys: &KeyRing,
) -> Result<(), SopsError> {
    let data_key = keys.data_key(metadata)?;
    decrypt_tree_with_key(branches, metadata, &data_key)
}

/// [`decrypt_tree`] with the data key already unwrapped.
pub fn decrypt_tree_with_key(
    branches: &mut [Node],
    metadata: &Metadata,
    data_key: &[u8; DATA_KEY_LEN],
) -> Result<(), SopsError> {
    let mut walk = Walk {
        data_key,
        rules: &metadata.rules,
        hasher: Sha512::new(),
    };
    if metadata.rules.mac_only_encrypted {
        walk.hasher.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    for branch in branches.iter_mut() {
        walk.node(branch, &mut Vec::new())?;
    }
    let computed = hex::encode_upper(walk.hasher.finalize());
    verify_mac(metadata, data_key, &computed)
}

fn verify_mac(
    metadata: &Metadata,
    data_key: &[u8; DATA_KEY_LEN],
    computed: &str,
) -> Result<(), SopsError> {
    if metadata.mac.is_empty() {
        return Err(SopsError::NoMac);
    }
    let stored = cipher::open(&metadata.mac, data_key, &metadata.last_modified)
        .map_err(SopsError::MacUnreadable)?;
    if stored != computed.as_bytes() {
        return Err(SopsError::MacMismatch);
    }
    Ok(())
}

struct Walk<'a> {
    data_key: &'a [u8; DATA_KEY_LEN],
    rules: &'a Rules,
    hasher: Sha512,
}

/// What became of a node.
enum Outcome {
    Kept,
    /// It was an encrypted comment: no value, drop it.
    Comment,
}

impl Walk<'_> {
    fn node(&mut self, node: &mut Node, path: &mut Vec<String>) -> Result<Outcome, SopsError> {
        match node {
            Node::Map(entries) => {
                let mut index = 0;
                while index < entries.len() {
                    path.push(entries[index].0.clone());
                    let outcome = self.node(&mut entries[index].1, path)?;
                    path.pop();
                    match outcome {
                        Outcome::Comment => {
                            entries.remove(index);
                        }
                        Outcome::Kept => index += 1,
                    }
                }
                Ok(Outcome::Kept)
            }
            // Sequence items share their parent's path: the key path has no indices.
            Node::Seq(items) => {
                let mut index = 0;
                while index < items.len() {
                    match self.node(&mut items[index], path)? {
                        Outcome::Comment => {
                            items.remove(index);
                        }
                        Outcome::Kept => index += 1,
                    }
                }
                Ok(Outcome::Kept)
            }
            // SOPS never encrypts or hashes nulls.
            Node::Null => Ok(Outcome::Kept),
            leaf => self.leaf(leaf, path),
        }
    }

    fn leaf(&mut self, leaf: &mut Node, path: &[String]) -> Result<Outcome, SopsError> {
        let encrypted = self.rules.is_encrypted(path, leaf);
        if encrypted {
            let Node::Str(text) = &*leaf else {
                return Err(SopsError::Value {
                    path: path.join("."),
                    message: "expected an encrypted string, found a clear value".into(),
                });
            };
            // SOPS leaves empty strings empty instead of encrypting them.
            if !text.is_empty() {
                let additional_data = cipher::additional_data(path);
                let plain =
                    cipher::decrypt_value(text, self.data_key, &additional_data).map_err(|e| {
                        SopsError::Value {
                            path: path.join("."),
                            message: e.to_string(),
                        }
                    })?;
                *leaf = match plain {
                    Plain::Str(s) | Plain::Time(s) => Node::Str(s),
                    Plain::Int(i) => Node::Int(i),
                    Plain::Float(f) => Node::Float(f),
                    Plain::Bool(b) => Node::Bool(b),
                    Plain::Bytes(b) => Node::Bytes(b),
                    Plain::Comment(_) => return Ok(Outcome::Comment),
                };
            }
        }
        if encrypted || !self.rules.mac_only_encrypted {
            self.hasher.update(mac_bytes(leaf));
        }
        Ok(Outcome::Kept)
    }
}

/// The bytes of a leaf as SOPS hashes them (Go's formatting: `True`/`False`, floats without
/// exponent).
fn mac_bytes(leaf: &Node) -> Vec<u8> {
    match leaf {
        Node::Str(s) => s.as_bytes().to_vec(),
        Node::Bytes(b) => b.clone(),
        Node::Int(i) => i.to_string().into_bytes(),
        // Rust's `Display` for f64 is the shortest round-trip form without an exponent, which is
        // what Go's `FormatFloat(f, 'f', -1, 64)` prints.
        Node::Float(f) => f.to_string().into_bytes(),
        Node::Bool(true) => b"True".to_vec(),
        Node::Bool(false) => b"False".to_vec(),
        Node::Null | Node::Seq(_) | Node::Map(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::cipher::tests::seal;
    use crate::sops::tree::parse_yaml_documents;

    const KEY: [u8; 32] = [9; 32];
    const LAST_MODIFIED: &str = "2024-05-01T10:00:00Z";

    /// Builds a document the way SOPS would with `encrypted_regex: ^data$`: `data.password` and
    /// `data.port` encrypted, the rest clear, and a MAC over everything.
    fn encrypted_document(mac_over: &[&[u8]]) -> (Node, Metadata) {
        let password = seal(b"hunter2", "str", &KEY, "data:password:", [1; 32]);
        let port = seal(b"5432", "int", &KEY, "data:port:", [2; 32]);
        let mut hasher = Sha512::new();
        for part in mac_over {
            hasher.update(part);
        }
        let mac = seal(
            hex::encode_upper(hasher.finalize()).as_bytes(),
            "str",
            &KEY,
            LAST_MODIFIED,
            [3; 32],
        );
        let text = format!(
            "kind: Secret\ndata:\n  password: {password}\n  port: {port}\n  empty: ''\nsops:\n  lastmodified: '{LAST_MODIFIED}'\n  mac: {mac}\n  encrypted_regex: ^data$\n"
        );
        let mut document = parse_yaml_documents(&text).unwrap().remove(0);
        let sops = document.remove("sops").unwrap();
        (document, Metadata::from_node(&sops).unwrap())
    }

    #[test]
    fn decrypts_values_and_accepts_the_right_mac() {
        let (mut document, metadata) = encrypted_document(&[b"Secret", b"hunter2", b"5432", b""]);
        decrypt_tree_with_key(std::slice::from_mut(&mut document), &metadata, &KEY).unwrap();
        let data = document.get("data").unwrap();
        assert_eq!(data.get("password"), Some(&Node::Str("hunter2".into())));
        assert_eq!(data.get("port"), Some(&Node::Int(5432)));
    }

    #[test]
    fn a_changed_clear_value_breaks_the_mac() {
        let (mut document, metadata) = encrypted_document(&[b"Secret", b"hunter2", b"5432", b""]);
        if let Node::Map(entries) = &mut document {
            entries[0].1 = Node::Str("ConfigMap".into());
        }
        let error = decrypt_tree_with_key(std::slice::from_mut(&mut document), &metadata, &KEY)
            .unwrap_err();
        assert!(matches!(error, SopsError::MacMismatch), "{error}");
    }

    #[test]
    fn a_value_moved_to_another_key_fails_to_decrypt() {
        let (mut document, metadata) = encrypted_document(&[b"Secret", b"hunter2", b"5432", b""]);
        if let Some(Node::Map(data)) = match &mut document {
            Node::Map(entries) => entries.get_mut(1).map(|(_, v)| v),
            _ => None,
        } {
            data[0].0 = "token".into();
        }
        let error = decrypt_tree_with_key(std::slice::from_mut(&mut document), &metadata, &KEY)
            .unwrap_err();
        assert!(error.to_string().contains("data.token"), "{error}");
    }

    #[test]
    fn mac_only_encrypted_skips_clear_values_and_is_seeded() {
        let mut metadata = encrypted_document(&[]).1;
        metadata.rules.mac_only_encrypted = true;
        let (mut document, _) = encrypted_document(&[]);
        let mut hasher = Sha512::new();
        hasher.update(MAC_ONLY_ENCRYPTED_INIT);
        hasher.update(b"hunter2");
        hasher.update(b"5432");
        hasher.update(b"");
        metadata.mac = seal(
            hex::encode_upper(hasher.finalize()).as_bytes(),
            "str",
            &KEY,
            LAST_MODIFIED,
            [4; 32],
        );
        decrypt_tree_with_key(std::slice::from_mut(&mut document), &metadata, &KEY).unwrap();
    }

    #[test]
    fn floats_and_bools_hash_like_go() {
        assert_eq!(mac_bytes(&Node::Float(1.0)), b"1");
        assert_eq!(mac_bytes(&Node::Float(0.25)), b"0.25");
        assert_eq!(mac_bytes(&Node::Bool(true)), b"True");
        assert_eq!(mac_bytes(&Node::Int(-3)), b"-3");
    }
}
