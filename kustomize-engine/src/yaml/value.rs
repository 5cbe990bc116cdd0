//! The in-memory document model: a YAML/JSON value whose mappings keep insertion order.
//!
//! Kustomize works on JSON-compatible data (it round-trips every object through JSON before printing),
//! so the model only has the JSON kinds. Integers are kept as `i128` so that both signed 64-bit and
//! unsigned 64-bit numbers survive unchanged.

use indexmap::IndexMap;
use serde::Deserialize;

/// A mapping whose keys keep the order in which they were inserted.
pub type Mapping = IndexMap<String, Value>;

/// One YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    String(String),
    Seq(Vec<Value>),
    Map(Mapping),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Mapping> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Mapping> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Looks a key up when this value is a mapping.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_map_mut().and_then(|m| m.get_mut(key))
    }

    /// Follows a chain of mapping keys.
    pub fn get_path(&self, path: &[&str]) -> Option<&Value> {
        let mut current = self;
        for key in path {
            current = current.get(key)?;
        }
        Some(current)
    }

    pub fn get_path_mut(&mut self, path: &[&str]) -> Option<&mut Value> {
        let mut current = self;
        for key in path {
            current = current.get_mut(key)?;
        }
        Some(current)
    }

    /// The string at a chain of keys, if every step exists and the leaf is a string.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.get_path(path).and_then(Value::as_str)
    }

    /// Returns the mapping at `path`, creating empty mappings along the way (replacing nulls).
    /// Returns `None` when a non-mapping value is in the way.
    pub fn ensure_map_path(&mut self, path: &[&str]) -> Option<&mut Mapping> {
        let mut current = self;
        for key in path {
            if current.is_null() {
                *current = Value::Map(Mapping::new());
            }
            let map = current.as_map_mut()?;
            let entry = map
                .entry((*key).to_string())
                .or_insert_with(|| Value::Map(Mapping::new()));
            current = entry;
        }
        if current.is_null() {
            *current = Value::Map(Mapping::new());
        }
        current.as_map_mut()
    }

    /// A short description of the value's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Seq(_) => "sequence",
            Value::Map(_) => "mapping",
        }
    }

    /// The scalar rendered as text the way kustomize stringifies it for labels, selectors and vars.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(crate::yaml::format_float(*f)),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
            Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

impl Value {
    /// Converts to a `serde_json::Value` (for decoding into typed structs).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => {
                if let Ok(small) = i64::try_from(*i) {
                    serde_json::Value::from(small)
                } else if let Ok(unsigned) = u64::try_from(*i) {
                    serde_json::Value::from(unsigned)
                } else {
                    serde_json::Value::String(i.to_string())
                }
            }
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Seq(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(map) => serde_json::Value::Object(
                map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            ),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

/// Lets typed configs embed free-form values.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = serde_json::Value::deserialize(deserializer)?;
        Ok(from_json(json))
    }
}

fn from_json(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i128::from(i)),
            None => n
                .as_u64()
                .map(|u| Value::Int(i128::from(u)))
                .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0))),
        },
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::Seq(items.into_iter().map(from_json).collect()),
        serde_json::Value::Object(map) => {
            Value::Map(map.into_iter().map(|(k, v)| (k, from_json(v))).collect())
        }
    }
}
