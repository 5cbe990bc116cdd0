//! The content-hash name suffix of generated ConfigMaps and Secrets.
//!
//! The suffix is derived from a JSON document (Go `encoding/json` style: keys sorted, no spaces,
//! `<`, `>`, `&` escaped) holding the object's kind, data and (for Secrets) type. The `name` member is
//! always the empty string in kustomize v5.5. SHA-256 of that text, first 10 hex digits, with some
//! digits/letters swapped so the suffix cannot spell words.

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::resmap::ResMap;
use crate::yaml::Value;

/// Renames every resource that still needs its hash suffix.
pub fn add_hash_suffixes(resources: &mut ResMap) -> Result<(), Error> {
    for resource in &mut resources.resources {
        if !resource.needs_hash {
            continue;
        }
        let suffix = content_hash(&resource.value)
            .map_err(|message| Error::build(resource.cur_id().to_string(), message))?;
        let new_name = format!("{}-{suffix}", resource.name());
        resource.store_previous_id();
        resource.set_name(&new_name);
        resource.needs_hash = false;
    }
    Ok(())
}

/// The 10-character suffix for a ConfigMap or Secret.
pub fn content_hash(object: &Value) -> Result<String, String> {
    let kind = object.str_at(&["kind"]).unwrap_or("");
    let mut members: Vec<(&str, String)> = Vec::new();
    members.push(("kind", json_string(kind)));
    members.push(("name", json_string("")));
    match kind {
        "ConfigMap" => {
            members.push(("data", data_json(object)));
            if let Some(binary) = object.get("binaryData").filter(|v| !is_empty_map(v)) {
                members.push(("binaryData", json_value(binary)));
            }
        }
        "Secret" => {
            members.push(("data", data_json(object)));
            members.push(("type", json_string(object.str_at(&["type"]).unwrap_or(""))));
            if let Some(string_data) = object.get("stringData").filter(|v| !is_empty_map(v)) {
                members.push(("stringData", json_value(string_data)));
            }
        }
        other => return Err(format!("cannot compute a name hash for kind '{other}'")),
    }
    members.sort_by(|a, b| a.0.cmp(b.0));
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", json_string(k)))
        .collect();
    let text = format!("{{{}}}", body.join(","));
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    Ok(digest
        .chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect())
}

/// The `data` member; kustomize hashes a missing data map as the empty string.
fn data_json(object: &Value) -> String {
    match object.get("data") {
        None | Some(Value::Null) => json_string(""),
        Some(data) => json_value(data),
    }
}

fn is_empty_map(value: &Value) -> bool {
    matches!(value, Value::Map(m) if m.is_empty()) || value.is_null()
}

/// Go `encoding/json` text of a value (map keys sorted bytewise; data maps hold strings).
fn json_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => crate::yaml::format_float(*f),
        Value::String(s) => json_string(s),
        Value::Seq(items) => {
            let parts: Vec<String> = items.iter().map(json_value).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Map(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}:{}", json_string(k), json_value(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

/// A JSON string literal with Go's HTML-safe escaping.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
