//! Reading YAML text (one or many documents) into [`Value`]s.
//!
//! Parsing is delegated to `serde_yaml_ng` (YAML 1.2 scalar resolution, like the yaml.v3 parser kustomize
//! reads with); this module converts its values into the engine's order-preserving model and rejects
//! duplicate mapping keys, which kustomize treats as an error.

use serde::Deserialize;

use super::value::{Mapping, Value};

/// Parses every document of a YAML stream. Empty documents come back as `Value::Null`.
/// Duplicate mapping keys are an error.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    parse_with(text, false)
}

/// Like [`parse_documents`], but a repeated mapping key silently replaces the earlier value
/// (how kustomize reads kustomization files).
pub fn parse_documents_last_key_wins(text: &str) -> Result<Vec<Value>, String> {
    parse_with(text, true)
}

fn parse_with(text: &str, last_key_wins: bool) -> Result<Vec<Value>, String> {
    let mut documents = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let raw = serde_yaml_ng::Value::deserialize(document).map_err(|e| e.to_string())?;
        documents.push(convert(raw, last_key_wins)?);
    }
    Ok(documents)
}

/// Parses a single-document YAML text.
pub fn parse_one(text: &str) -> Result<Value, String> {
    let mut documents = parse_documents(text)?;
    match documents.len() {
        0 => Ok(Value::Null),
        1 => Ok(documents.remove(0)),
        n => Err(format!("expected one YAML document, found {n}")),
    }
}

fn convert(raw: serde_yaml_ng::Value, last_key_wins: bool) -> Result<Value, String> {
    Ok(match raw {
        serde_yaml_ng::Value::Null => Value::Null,
        serde_yaml_ng::Value::Bool(b) => Value::Bool(b),
        serde_yaml_ng::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Value::Int(i128::from(u))
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_yaml_ng::Value::String(s) => Value::String(s),
        serde_yaml_ng::Value::Sequence(items) => Value::Seq(
            items
                .into_iter()
                .map(|item| convert(item, last_key_wins))
                .collect::<Result<_, _>>()?,
        ),
        serde_yaml_ng::Value::Mapping(entries) => {
            let mut map = Mapping::new();
            for (key, value) in entries {
                let key = key_text(&key)?;
                if map.contains_key(&key) && !last_key_wins {
                    return Err(format!("mapping key {key:?} already defined"));
                }
                map.insert(key, convert(value, last_key_wins)?);
            }
            Value::Map(map)
        }
        serde_yaml_ng::Value::Tagged(tagged) => convert(tagged.value, last_key_wins)?,
    })
}

fn key_text(key: &serde_yaml_ng::Value) -> Result<String, String> {
    match key {
        serde_yaml_ng::Value::String(s) => Ok(s.clone()),
        serde_yaml_ng::Value::Bool(b) => Ok(b.to_string()),
        serde_yaml_ng::Value::Number(n) => Ok(n.to_string()),
        serde_yaml_ng::Value::Null => Ok("null".to_string()),
        other => Err(format!("unsupported mapping key {other:?}")),
    }
}
