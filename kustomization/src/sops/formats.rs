//! The file formats SOPS writes: YAML (one or more documents), JSON, dotenv and "binary" (any
//! other file, stored as a JSON envelope whose `data` holds the content), and turning each back
//! into plaintext bytes.
//!
//! The format is chosen the way the `sops` CLI chooses it, by file extension, falling back on
//! the content for files without a known extension (a dotenv file used by a generator is often
//! called `secrets.txt` or has no extension at all).

use std::path::Path;

use super::document::decrypt_tree;
use super::keys::KeyRing;
use super::metadata::Metadata;
use super::tree::{Node, emit_yaml_documents, parse_json, parse_yaml_documents};
use super::{DECRYPT_KEY, SopsError};

/// The prefix of the flattened metadata keys in dotenv files.
const DOTENV_METADATA_PREFIX: &str = "sops_";

/// A cheap test run on every file the build reads before any parsing: every SOPS file holds at
/// least its encrypted MAC.
pub fn may_be_encrypted(bytes: &[u8]) -> bool {
    const MARKER: &[u8] = b"ENC[AES256_GCM,";
    bytes.windows(MARKER.len()).any(|window| window == MARKER)
}

/// Decrypts `bytes` read from `path` if they are a SOPS-encrypted file; `Ok(None)` means the
/// file is not encrypted (or opted out) and is used as it is.
pub fn decrypt_file(
    path: &Path,
    bytes: &[u8],
    keys: &KeyRing,
) -> Result<Option<Vec<u8>>, SopsError> {
    if !may_be_encrypted(bytes) {
        return Ok(None);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(None);
    };
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("yaml" | "yml") => decrypt_yaml(text, keys),
        Some("json") => decrypt_json(text, keys),
        Some("env") => decrypt_dotenv(text, keys),
        Some("ini") if text.contains("[sops]") => {
            Err(SopsError::Unsupported("SOPS-encrypted INI files".into()))
        }
        _ => {
            if text.trim_start().starts_with('{') {
                decrypt_binary(text, keys)
            } else if text.lines().any(|line| line.starts_with("sops_mac=ENC[")) {
                decrypt_dotenv(text, keys)
            } else {
                decrypt_yaml(text, keys)
            }
        }
    }
}

/// Whether a parsed document is a SOPS document: a top-level `sops` mapping with a `mac`.
fn is_sops_document(document: &Node) -> bool {
    document.get("sops").and_then(|s| s.get("mac")).is_some()
}

/// Whether a manifest opts out with `kustomize.toolkit.fluxcd.io/decrypt: disabled` (annotation
/// or label, any case).
pub fn decryption_disabled(document: &Node) -> bool {
    ["annotations", "labels"].iter().any(|field| {
        document
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(|f| f.get(DECRYPT_KEY))
            .and_then(Node::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
    })
}

/// A label for a document in messages: `Secret/name` when it is a manifest.
fn describe_document(document: &Node, index: usize) -> String {
    let field = |key: &str| document.get(key).and_then(Node::as_str).unwrap_or_default();
    let name = document
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .unwrap_or_default();
    if !field("kind").is_empty() && !name.is_empty() && !field("kind").starts_with("ENC[") {
        format!("{}/{name}", field("kind"))
    } else {
        format!("document {}", index + 1)
    }
}

/// YAML: every document carrying SOPS metadata is decrypted. Documents that `sops` wrote as one
/// multi-document file share one data key and one MAC (the same `mac` value in each); documents
/// encrypted separately and concatenated each have their own.
fn decrypt_yaml(text: &str, keys: &KeyRing) -> Result<Option<Vec<u8>>, SopsError> {
    // Text that does not parse is not a SOPS file: the engine reports (or uses) it as it is.
    let Ok(mut documents) = parse_yaml_documents(text) else {
        return Ok(None);
    };
    let encrypted: Vec<usize> = (0..documents.len())
        .filter(|&i| is_sops_document(&documents[i]) && !decryption_disabled(&documents[i]))
        .collect();
    if encrypted.is_empty() {
        return Ok(None);
    }
    let macs: Vec<Option<&str>> = encrypted
        .iter()
        .map(|&i| {
            documents[i]
                .get("sops")
                .and_then(|s| s.get("mac"))
                .and_then(Node::as_str)
        })
        .collect();
    let one_tree = encrypted.len() == documents.len()
        && documents.len() > 1
        && macs.iter().all(|mac| *mac == macs[0]);
    if one_tree {
        let metadata = take_metadata(&mut documents[0])?;
        for document in documents.iter_mut().skip(1) {
            document.remove("sops");
        }
        decrypt_tree(&mut documents, &metadata, keys)?;
    } else {
        for index in encrypted {
            let label = describe_document(&documents[index], index);
            let document = &mut documents[index];
            let metadata = take_metadata(document).map_err(|e| e.within(&label))?;
            decrypt_tree(std::slice::from_mut(document), &metadata, keys)
                .map_err(|e| e.within(&label))?;
        }
    }
    documents.retain(|d| *d != Node::Null);
    let out = emit_yaml_documents(&documents).map_err(SopsError::Parse)?;
    Ok(Some(out.into_bytes()))
}

fn take_metadata(document: &mut Node) -> Result<Metadata, SopsError> {
    let sops = document.remove("sops").ok_or(SopsError::NoMetadata)?;
    Metadata::from_node(&sops)
}

/// JSON: one document; written back as JSON in the same key order.
fn decrypt_json(text: &str, keys: &KeyRing) -> Result<Option<Vec<u8>>, SopsError> {
    let Ok(mut document) = parse_json(text) else {
        return Ok(None);
    };
    if !is_sops_document(&document) || decryption_disabled(&document) {
        return Ok(None);
    }
    let metadata = take_metadata(&mut document)?;
    decrypt_tree(std::slice::from_mut(&mut document), &metadata, keys)?;
    let mut out = String::new();
    document.write_json(&mut out, 0);
    out.push('\n');
    Ok(Some(out.into_bytes()))
}

/// Binary: the JSON envelope's `data` value is the original file.
fn decrypt_binary(text: &str, keys: &KeyRing) -> Result<Option<Vec<u8>>, SopsError> {
    let Ok(mut document) = parse_json(text) else {
        return Ok(None);
    };
    if !is_sops_document(&document) {
        return Ok(None);
    }
    let metadata = take_metadata(&mut document)?;
    decrypt_tree(std::slice::from_mut(&mut document), &metadata, keys)?;
    match document.get("data") {
        Some(Node::Str(s)) => Ok(Some(s.clone().into_bytes())),
        Some(Node::Bytes(b)) => Ok(Some(b.clone())),
        _ => Err(SopsError::Parse(
            "binary SOPS file without a string 'data' value".into(),
        )),
    }
}

/// Dotenv: `KEY=value` lines, `\n` escapes newlines, `#` starts a comment line; the metadata
/// is flattened into `sops_`-prefixed keys (`sops_age__list_0__map_enc=…`).
fn decrypt_dotenv(text: &str, keys: &KeyRing) -> Result<Option<Vec<u8>>, SopsError> {
    let mut values: Vec<(String, Node)> = Vec::new();
    let mut flat_metadata: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| {
            SopsError::Parse(format!(
                "invalid dotenv line (no '='): {}",
                first_chars(line)
            ))
        })?;
        let value = value.replace("\\n", "\n");
        match key.strip_prefix(DOTENV_METADATA_PREFIX) {
            Some(metadata_key) => flat_metadata.push((metadata_key.to_owned(), value)),
            None => values.push((key.to_owned(), Node::Str(value))),
        }
    }
    if flat_metadata.is_empty() {
        return Ok(None);
    }
    let sops = unflatten(&flat_metadata)?;
    let metadata = Metadata::from_node(&sops)?;
    let mut document = Node::Map(values);
    decrypt_tree(std::slice::from_mut(&mut document), &metadata, keys)?;
    let Node::Map(values) = document else {
        return Err(SopsError::Parse("dotenv document is not flat".into()));
    };
    let mut out = String::new();
    for (key, value) in values {
        let value = match value {
            Node::Str(s) => s,
            other => other.to_json().to_string(),
        };
        out.push_str(&key);
        out.push('=');
        out.push_str(&value.replace('\n', "\\n"));
        out.push('\n');
    }
    Ok(Some(out.into_bytes()))
}

fn first_chars(line: &str) -> String {
    line.chars().take(40).collect()
}

/// One step of a flattened metadata key.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Splits `age__list_0__map_recipient` into `age`, `[0]`, `recipient`.
fn flattened_steps(key: &str) -> Result<Vec<Step>, SopsError> {
    const MAP: &str = "__map_";
    const LIST: &str = "__list_";
    let mut steps = Vec::new();
    let mut rest = key;
    let next_separator = |text: &str| {
        [text.find(MAP), text.find(LIST)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(text.len())
    };
    let end = next_separator(rest);
    steps.push(Step::Key(rest[..end].to_owned()));
    rest = &rest[end..];
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(MAP) {
            let end = next_separator(after);
            steps.push(Step::Key(after[..end].to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix(LIST) {
            let end = next_separator(after);
            let index = after[..end].parse().map_err(|_| {
                SopsError::Metadata(format!("invalid list index in dotenv metadata key '{key}'"))
            })?;
            steps.push(Step::Index(index));
            rest = &after[end..];
        } else {
            break;
        }
    }
    Ok(steps)
}

/// Rebuilds the nested `sops` block from dotenv's flattened keys.
fn unflatten(flat: &[(String, String)]) -> Result<Node, SopsError> {
    let mut root = Node::Map(Vec::new());
    for (key, value) in flat {
        let steps = flattened_steps(key)?;
        insert(&mut root, &steps, Node::Str(value.clone()))
            .map_err(|m| SopsError::Metadata(format!("dotenv metadata key '{key}': {m}")))?;
    }
    Ok(root)
}

fn insert(node: &mut Node, steps: &[Step], value: Node) -> Result<(), &'static str> {
    let Some((step, rest)) = steps.split_first() else {
        *node = value;
        return Ok(());
    };
    let empty_child = || match rest.first() {
        Some(Step::Index(_)) => Node::Seq(Vec::new()),
        Some(Step::Key(_)) => Node::Map(Vec::new()),
        None => Node::Null,
    };
    match (step, node) {
        (Step::Key(key), Node::Map(entries)) => {
            let index = match entries.iter().position(|(k, _)| k == key) {
                Some(index) => index,
                None => {
                    entries.push((key.clone(), empty_child()));
                    entries.len() - 1
                }
            };
            insert(&mut entries[index].1, rest, value)
        }
        (Step::Index(index), Node::Seq(items)) => {
            while items.len() <= *index {
                items.push(empty_child());
            }
            insert(&mut items[*index], rest, value)
        }
        _ => Err("conflicting structure"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_keys_split_into_steps() {
        assert_eq!(
            flattened_steps("age__list_0__map_recipient").unwrap(),
            [
                Step::Key("age".into()),
                Step::Index(0),
                Step::Key("recipient".into())
            ]
        );
        assert_eq!(flattened_steps("mac").unwrap(), [Step::Key("mac".into())]);
    }

    #[test]
    fn unflatten_rebuilds_lists_of_maps() {
        let flat = [
            ("age__list_0__map_recipient".to_owned(), "r0".to_owned()),
            ("age__list_0__map_enc".to_owned(), "e0".to_owned()),
            ("age__list_1__map_recipient".to_owned(), "r1".to_owned()),
            ("mac".to_owned(), "m".to_owned()),
        ];
        let node = unflatten(&flat).unwrap();
        let metadata = Metadata::from_node(&node).unwrap();
        assert_eq!(metadata.age.len(), 2);
        assert_eq!(metadata.age[0].encrypted_key, "e0");
        assert_eq!(metadata.age[1].recipient, "r1");
        assert_eq!(metadata.mac, "m");
    }

    #[test]
    fn plain_files_pass_through_untouched() {
        let keys = KeyRing::default();
        assert_eq!(
            decrypt_file(Path::new("a.yaml"), b"kind: Secret\n", &keys).unwrap(),
            None
        );
        assert_eq!(
            decrypt_file(Path::new("a.env"), b"A=ENC[AES256_GCM,\n", &keys).unwrap(),
            None
        );
        // Mentioning the marker in a file that is not YAML is no error.
        assert_eq!(
            decrypt_file(
                Path::new("notes.txt"),
                b"see ENC[AES256_GCM, here: [: x",
                &keys
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn opt_out_annotation_is_case_insensitive() {
        let document = parse_yaml_documents(
            "metadata:\n  annotations:\n    kustomize.toolkit.fluxcd.io/decrypt: Disabled\n",
        )
        .unwrap()
        .remove(0);
        assert!(decryption_disabled(&document));
    }
}
