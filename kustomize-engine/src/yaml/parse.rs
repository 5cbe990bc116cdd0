//! Reading YAML text (one or many documents) into [`Value`]s.
//!
//! Parsing is delegated to `serde_yaml_ng` (YAML 1.2 scalar resolution, like the yaml.v3 parser kustomize
//! reads with); a visitor builds the engine's order-preserving model directly, so that the handling of
//! repeated mapping keys is ours: an error for resources (as in kustomize), last-one-wins for
//! kustomization files (which kustomize decodes through JSON).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::value::{Mapping, Value};

/// Parses every document of a YAML stream. Empty documents come back as `Value::Null`.
/// Duplicate mapping keys are an error.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut documents = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let parsed = Parsed::<false>::deserialize(document).map_err(|e| e.to_string())?;
        documents.push(parsed.0);
    }
    Ok(documents)
}

/// Like [`parse_documents`], but a repeated mapping key silently replaces the earlier value.
pub fn parse_documents_last_key_wins(text: &str) -> Result<Vec<Value>, String> {
    let mut documents = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let parsed = Parsed::<true>::deserialize(document).map_err(|e| e.to_string())?;
        documents.push(parsed.0);
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

/// A value read with the given duplicate-key policy.
struct Parsed<const LAST_KEY_WINS: bool>(Value);

impl<'de, const LAST_KEY_WINS: bool> Deserialize<'de> for Parsed<LAST_KEY_WINS> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ValueVisitor::<LAST_KEY_WINS>)
            .map(Parsed)
    }
}

struct ValueVisitor<const LAST_KEY_WINS: bool>;

impl<'de, const LAST_KEY_WINS: bool> Visitor<'de> for ValueVisitor<LAST_KEY_WINS> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(i128::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(i128::from(v)))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Parsed<LAST_KEY_WINS>>()? {
            items.push(item.0);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Mapping::new();
        while let Some(key) = access.next_key::<Parsed<LAST_KEY_WINS>>()? {
            let key = key_text(&key.0).map_err(de::Error::custom)?;
            let value = access.next_value::<Parsed<LAST_KEY_WINS>>()?.0;
            if map.contains_key(&key) && !LAST_KEY_WINS {
                return Err(de::Error::custom(format!(
                    "mapping key {key:?} already defined"
                )));
            }
            map.insert(key, value);
        }
        apply_merge_key(&mut map);
        Ok(Value::Map(map))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A custom tag (`!foo value`): kustomize keeps the value and drops the tag.
        use serde::de::VariantAccess;
        let (_tag, variant): (String, _) = data.variant()?;
        variant
            .newtype_variant::<Parsed<LAST_KEY_WINS>>()
            .map(|p| p.0)
    }
}

fn key_text(key: &Value) -> Result<String, String> {
    match key {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(super::emit::format_float(*f)),
        Value::Null => Ok("null".to_string()),
        other => Err(format!(
            "unsupported mapping key of kind {}",
            other.kind_name()
        )),
    }
}

/// Expands a YAML merge key (`<<: *anchor` or `<<: [*a, *b]`): the merged mappings' entries are added
/// unless the mapping sets them itself; with a list, earlier mappings win.
fn apply_merge_key(map: &mut Mapping) {
    let Some(merged) = map.shift_remove("<<") else {
        return;
    };
    let sources: Vec<Mapping> = match merged {
        Value::Map(source) => vec![source],
        Value::Seq(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Map(source) => Some(source),
                _ => None,
            })
            .collect(),
        other => {
            // Not a mapping: keep it as an ordinary key, as a plain parser would.
            map.insert("<<".to_string(), other);
            return;
        }
    };
    for source in sources {
        for (key, value) in source {
            map.entry(key).or_insert(value);
        }
    }
}
