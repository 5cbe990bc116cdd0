//! YAML as Helm's template functions print and read it: `toYaml` is `sigs.k8s.io/yaml.Marshal`
//! (Go's `encoding/json`, then the go-yaml v2 emitter: sorted keys, 80-column folding, YAML 1.1
//! quoting), which the kustomize engine's emitter already reproduces byte for byte;
//! `toYamlPretty` is the go-yaml v3 encoder (`yaml_v3`).

use eddy_kustomize::yaml::{self, Value as Yaml};
use indexmap::IndexMap;

use crate::funcs::convert::json_float;
use crate::value::Value;

/// Nesting deeper than this is refused (Go's encoder would overflow its stack first).
const MAX_DEPTH: usize = 10_000;

/// Converts a template value to the JSON data model `encoding/json` would produce.
fn to_yaml_value(v: &Value, depth: usize) -> Result<Yaml, String> {
    if depth > MAX_DEPTH {
        return Err("json: unsupported value: encountered a cycle".to_string());
    }
    Ok(match v {
        Value::Nil => Yaml::Null,
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Int(i, _) => Yaml::Int(i128::from(*i)),
        Value::Uint(u, _) => Yaml::Int(i128::from(*u)),
        Value::Float(f, is32) => {
            // JSON writes the float; YAML reads the text back as an int when it has no
            // fraction or exponent, as a float otherwise.
            let text = json_float(*f, *is32)?;
            match text.parse::<i128>() {
                Ok(i) if i >= i128::from(i64::MIN) && i <= i128::from(u64::MAX) => Yaml::Int(i),
                _ => Yaml::Float(text.parse().unwrap_or(*f)),
            }
        }
        Value::String(s) => Yaml::String(s.to_string()),
        Value::Bytes(b) => {
            use base64::Engine;
            Yaml::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::List(list) => Yaml::Seq(
            list.items
                .iter()
                .map(|i| to_yaml_value(i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(map) => map_to_yaml(map.entries.borrow().iter(), depth)?,
        Value::Object(object) => {
            if let Some(json) = object.marshal_json() {
                match serde_json::from_str::<serde_json::Value>(&json) {
                    Ok(serde_json::Value::String(text)) => Yaml::String(text),
                    _ => Yaml::String(json),
                }
            } else if object.is_nil() {
                Yaml::Null
            } else if let Some(map) = object.map_view() {
                map_to_yaml(map.entries.borrow().iter(), depth)?
            } else if let Some(list) = object.list_view() {
                Yaml::Seq(
                    list.items
                        .iter()
                        .map(|i| to_yaml_value(i, depth + 1))
                        .collect::<Result<_, _>>()?,
                )
            } else if let Some(text) = object.display().filter(|_| object.fields().is_empty()) {
                Yaml::String(text)
            } else {
                let fields = object.fields();
                map_to_yaml(fields.iter().map(|(k, v)| (k, v)), depth)?
            }
        }
    })
}

fn map_to_yaml<'a>(
    entries: impl Iterator<Item = (&'a String, &'a Value)>,
    depth: usize,
) -> Result<Yaml, String> {
    let mut out = IndexMap::new();
    for (key, value) in entries {
        out.insert(key.clone(), to_yaml_value(value, depth + 1)?);
    }
    Ok(Yaml::Map(out))
}

/// `sigs.k8s.io/yaml.Marshal`: the YAML text ends with a newline.
pub fn marshal(v: &Value) -> Result<String, String> {
    let yaml = to_yaml_value(v, 0)?;
    Ok(yaml::emit_document(&yaml))
}

/// What `toYamlPretty` prints: the go-yaml v3 encoder with an indent of 2 and no JSON pass
/// (`1e+06`, sequences indented under their key). The text ends with a newline.
pub fn marshal_pretty(v: &Value) -> Result<String, String> {
    crate::yaml_v3::marshal(v)
}

/// Parses one YAML document into the value model (YAML 1.1 scalars, JSON numbers).
pub fn unmarshal(text: &str) -> Result<Value, String> {
    crate::yaml11::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn floats_print_as_json_then_yaml() {
        let mut m = BTreeMap::new();
        m.insert("big".to_string(), Value::float(1e6));
        m.insert("half".to_string(), Value::float(0.5));
        m.insert("tiny".to_string(), Value::float(1e-7));
        assert_eq!(
            marshal(&Value::map(m)).unwrap(),
            "big: 1000000\nhalf: 0.5\ntiny: 1e-07\n"
        );
    }
}
