//! The `sops` block of an encrypted document: who can unwrap the data key, the encrypted MAC and
//! the rules that say which leaves are encrypted.

use regex::Regex;

use super::SopsError;
use super::tree::Node;

/// The data key wrapped for one age recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeStanza {
    pub recipient: String,
    /// An armored age file holding the 32-byte data key.
    pub encrypted_key: String,
}

/// The data key wrapped for one OpenPGP key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgpStanza {
    pub fingerprint: String,
    /// An armored OpenPGP message holding the 32-byte data key.
    pub encrypted_key: String,
}

/// Everything the decryption needs from the `sops` block.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub age: Vec<AgeStanza>,
    pub pgp: Vec<PgpStanza>,
    /// Key services named in the file that Eddy cannot use (AWS KMS, Vault, …).
    pub unsupported: Vec<&'static str>,
    pub last_modified: String,
    pub mac: String,
    pub rules: Rules,
}

/// The key services SOPS supports besides age and PGP, by their metadata field.
const UNSUPPORTED_SERVICES: [(&str, &str); 5] = [
    ("kms", "AWS KMS"),
    ("gcp_kms", "GCP KMS"),
    ("azure_kv", "Azure Key Vault"),
    ("hc_vault", "HashiCorp Vault transit"),
    ("hckms", "Huawei Cloud KMS"),
];

impl Metadata {
    /// Reads the `sops` mapping.
    pub fn from_node(sops: &Node) -> Result<Self, SopsError> {
        let Node::Map(_) = sops else {
            return Err(SopsError::Metadata(
                "the sops entry is not a mapping".into(),
            ));
        };
        let text = |key: &str| sops.get(key).and_then(Node::as_str).map(str::to_owned);
        let mut metadata = Metadata {
            age: Vec::new(),
            pgp: Vec::new(),
            unsupported: Vec::new(),
            last_modified: text("lastmodified").unwrap_or_default(),
            mac: text("mac").unwrap_or_default(),
            rules: Rules::from_metadata(sops)?,
        };
        let groups = match sops.get("key_groups") {
            Some(Node::Seq(groups)) if !groups.is_empty() => {
                if groups.len() > 1 {
                    return Err(SopsError::Unsupported(
                        "documents with several key_groups (Shamir secret sharing)".into(),
                    ));
                }
                groups.iter().collect::<Vec<_>>()
            }
            _ => vec![sops],
        };
        for group in groups {
            metadata.read_group(group)?;
        }
        Ok(metadata)
    }

    fn read_group(&mut self, group: &Node) -> Result<(), SopsError> {
        for entry in entries(group, "age") {
            self.age.push(AgeStanza {
                recipient: field(entry, "recipient"),
                encrypted_key: field(entry, "enc"),
            });
        }
        for entry in entries(group, "pgp") {
            self.pgp.push(PgpStanza {
                fingerprint: field(entry, "fp"),
                encrypted_key: field(entry, "enc"),
            });
        }
        for (key, name) in UNSUPPORTED_SERVICES {
            if !entries(group, key).is_empty() && !self.unsupported.contains(&name) {
                self.unsupported.push(name);
            }
        }
        Ok(())
    }

    /// The recipients, for error messages.
    pub fn describe_recipients(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.age.iter().map(|a| format!("age {}", a.recipient)));
        parts.extend(self.pgp.iter().map(|p| format!("PGP {}", p.fingerprint)));
        parts.extend(self.unsupported.iter().map(|u| (*u).to_owned()));
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

fn entries<'a>(group: &'a Node, key: &str) -> Vec<&'a Node> {
    match group.get(key) {
        Some(Node::Seq(items)) => items.iter().collect(),
        _ => Vec::new(),
    }
}

fn field(entry: &Node, key: &str) -> String {
    entry
        .get(key)
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Which leaves are encrypted, from the one rule a document may carry.
#[derive(Debug, Clone)]
pub struct Rules {
    rule: Rule,
    /// With `mac_only_encrypted`, clear leaves stay out of the MAC.
    pub mac_only_encrypted: bool,
}

#[derive(Debug, Clone)]
enum Rule {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
    /// `encrypted_comment_regex` / `unencrypted_comment_regex` decide by the comments above a
    /// value, which the parsers here do not keep; a leaf then counts as encrypted exactly when it
    /// is an `ENC[...]` string. The MAC still covers every clear leaf, so swapping an encrypted
    /// value for a clear one is caught unless the file also sets `mac_only_encrypted`.
    ByComments,
}

/// The suffix SOPS leaves in clear when a document names no rule.
const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

impl Rules {
    fn from_metadata(sops: &Node) -> Result<Self, SopsError> {
        let text = |key: &str| {
            sops.get(key)
                .and_then(Node::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let regex = |pattern: String| {
            Regex::new(&pattern)
                .map_err(|e| SopsError::Metadata(format!("invalid regex '{pattern}': {e}")))
        };
        let mut rules = Vec::new();
        if let Some(suffix) = text("unencrypted_suffix") {
            rules.push(Rule::UnencryptedSuffix(suffix));
        }
        if let Some(suffix) = text("encrypted_suffix") {
            rules.push(Rule::EncryptedSuffix(suffix));
        }
        if let Some(pattern) = text("unencrypted_regex") {
            rules.push(Rule::UnencryptedRegex(regex(pattern)?));
        }
        if let Some(pattern) = text("encrypted_regex") {
            rules.push(Rule::EncryptedRegex(regex(pattern)?));
        }
        if text("unencrypted_comment_regex").is_some() || text("encrypted_comment_regex").is_some()
        {
            rules.push(Rule::ByComments);
        }
        if rules.len() > 1 {
            return Err(SopsError::Metadata(
                "more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex and unencrypted_comment_regex is set".into(),
            ));
        }
        let rule = rules
            .pop()
            .unwrap_or_else(|| Rule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_owned()));
        let mac_only_encrypted = match sops.get("mac_only_encrypted") {
            Some(Node::Bool(b)) => *b,
            // Dotenv metadata is all strings.
            Some(Node::Str(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        };
        Ok(Rules {
            rule,
            mac_only_encrypted,
        })
    }

    /// Whether the leaf at `path` (mapping keys from the root) was encrypted; `value` is its
    /// current text, used only by the comment rules.
    pub fn is_encrypted(&self, path: &[String], value: &Node) -> bool {
        match &self.rule {
            Rule::UnencryptedSuffix(suffix) => !path.iter().any(|k| k.ends_with(suffix.as_str())),
            Rule::EncryptedSuffix(suffix) => path.iter().any(|k| k.ends_with(suffix.as_str())),
            Rule::UnencryptedRegex(regex) => !path.iter().any(|k| regex.is_match(k)),
            Rule::EncryptedRegex(regex) => path.iter().any(|k| regex.is_match(k)),
            Rule::ByComments => value
                .as_str()
                .is_some_and(super::cipher::is_encrypted_value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::tree::parse_yaml_documents;

    fn sops_block(yaml: &str) -> Node {
        parse_yaml_documents(yaml).unwrap().remove(0)
    }

    fn path(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn reads_recipients_and_unsupported_services() {
        let metadata = Metadata::from_node(&sops_block(
            "age:\n- recipient: age1abc\n  enc: AGE\npgp:\n- fp: ABCD\n  enc: PGP\nkms:\n- arn: x\nlastmodified: '2024-01-01T00:00:00Z'\nmac: ENC[x]\nencrypted_regex: ^(data|stringData)$\n",
        ))
        .unwrap();
        assert_eq!(metadata.age[0].recipient, "age1abc");
        assert_eq!(metadata.pgp[0].fingerprint, "ABCD");
        assert_eq!(metadata.unsupported, ["AWS KMS"]);
        assert_eq!(metadata.last_modified, "2024-01-01T00:00:00Z");
        assert_eq!(
            metadata.describe_recipients(),
            "age age1abc, PGP ABCD, AWS KMS"
        );
        let string = Node::Str("x".into());
        assert!(metadata.rules.is_encrypted(&path(&["data", "k"]), &string));
        assert!(
            !metadata
                .rules
                .is_encrypted(&path(&["metadata", "name"]), &string)
        );
    }

    #[test]
    fn default_rule_is_the_unencrypted_suffix() {
        let metadata = Metadata::from_node(&sops_block("mac: x\n")).unwrap();
        let string = Node::Str("x".into());
        assert!(metadata.rules.is_encrypted(&path(&["a", "b"]), &string));
        assert!(
            !metadata
                .rules
                .is_encrypted(&path(&["a_unencrypted", "b"]), &string)
        );
    }

    #[test]
    fn rejects_two_rules_and_shamir() {
        assert!(
            Metadata::from_node(&sops_block("encrypted_regex: a\nunencrypted_suffix: b\n"))
                .is_err()
        );
        let error = Metadata::from_node(&sops_block(
            "key_groups:\n- age: []\n- age: []\nshamir_threshold: 2\n",
        ))
        .unwrap_err();
        assert!(error.to_string().contains("Shamir"), "{error}");
    }
}
