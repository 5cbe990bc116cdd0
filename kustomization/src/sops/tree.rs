//! The document model SOPS works on: an ordered tree of mappings, sequences and scalars.
//!
//! Order matters: the MAC is a hash over the leaves in document order, so mappings keep their
//! keys in the order the file wrote them (unlike `serde_json::Map`, which sorts).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// One node of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A decrypted `bytes` value.
    Bytes(Vec<u8>),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Removes and returns the value under `key` when this is a mapping.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        match self {
            Node::Map(entries) => {
                let index = entries.iter().position(|(k, _)| k == key)?;
                Some(entries.remove(index).1)
            }
            _ => None,
        }
    }

    /// The text of a mapping key written as another scalar (`1: x` in YAML).
    fn into_key(self) -> Result<String, String> {
        match self {
            Node::Str(s) => Ok(s),
            Node::Int(i) => Ok(i.to_string()),
            Node::Float(f) => Ok(f.to_string()),
            Node::Bool(b) => Ok(b.to_string()),
            Node::Null => Ok("null".to_owned()),
            Node::Bytes(_) | Node::Seq(_) | Node::Map(_) => {
                Err("mapping keys must be scalars".to_owned())
            }
        }
    }

    /// Converts to a YAML value, keeping mapping order.
    pub fn to_yaml(&self) -> serde_yaml_ng::Value {
        use serde_yaml_ng::Value;
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::Number((*i).into()),
            Node::Float(f) => Value::Number((*f).into()),
            Node::Str(s) => Value::String(s.clone()),
            Node::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
            Node::Seq(items) => Value::Sequence(items.iter().map(Node::to_yaml).collect()),
            Node::Map(entries) => Value::Mapping(
                entries
                    .iter()
                    .map(|(k, v)| (Value::String(k.clone()), v.to_yaml()))
                    .collect(),
            ),
        }
    }

    /// Converts to a JSON value (key order is lost: for objects that are processed further).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Node::Str(s) => Value::String(s.clone()),
            Node::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
            Node::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Converts a JSON value (for objects already built; key order is whatever the map holds).
    pub fn from_json(value: &serde_json::Value) -> Node {
        use serde_json::Value;
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Node::Int(i),
                None => Node::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Node::Str(s.clone()),
            Value::Array(items) => Node::Seq(items.iter().map(Node::from_json).collect()),
            Value::Object(map) => Node::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Node::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Writes JSON keeping mapping order, indented with two spaces.
    pub fn write_json(&self, out: &mut String, indent: usize) {
        let pad = |out: &mut String, level: usize| out.push_str(&"  ".repeat(level));
        match self {
            Node::Seq(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (index, item) in items.iter().enumerate() {
                    pad(out, indent + 1);
                    item.write_json(out, indent + 1);
                    out.push_str(if index + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push(']');
            }
            Node::Map(entries) if !entries.is_empty() => {
                out.push_str("{\n");
                for (index, (key, value)) in entries.iter().enumerate() {
                    pad(out, indent + 1);
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push_str(": ");
                    value.write_json(out, indent + 1);
                    out.push_str(if index + 1 < entries.len() {
                        ",\n"
                    } else {
                        "\n"
                    });
                }
                pad(out, indent);
                out.push('}');
            }
            Node::Seq(_) => out.push_str("[]"),
            Node::Map(_) => out.push_str("{}"),
            scalar => out.push_str(&scalar.to_json().to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(i64::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Bytes(v.to_vec()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let key = key.into_key().map_err(de::Error::custom)?;
            let value = map.next_value::<Node>()?;
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!("duplicate key '{key}'")));
            }
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// Parses every document of a YAML stream (JSON is accepted too: it is YAML).
pub fn parse_yaml_documents(text: &str) -> Result<Vec<Node>, String> {
    let mut documents = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        documents.push(Node::deserialize(document).map_err(|e| e.to_string())?);
    }
    Ok(documents)
}

/// Parses one JSON document keeping key order.
pub fn parse_json(text: &str) -> Result<Node, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let node = Node::deserialize(&mut deserializer).map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(node)
}

/// Emits documents as a YAML stream, keeping key order.
pub fn emit_yaml_documents(documents: &[Node]) -> Result<String, String> {
    let mut out = String::new();
    for (index, document) in documents.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_yaml_ng::to_string(&document.to_yaml()).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_keep_key_order() {
        let yaml = parse_yaml_documents("b: 1\na: [x, 2.5, true, null]\n---\nz: {y: 1}\n").unwrap();
        assert_eq!(yaml.len(), 2);
        let Node::Map(entries) = &yaml[0] else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0, "b");
        assert_eq!(entries[1].0, "a");
        assert_eq!(
            entries[1].1,
            Node::Seq(vec![
                Node::Str("x".into()),
                Node::Float(2.5),
                Node::Bool(true),
                Node::Null
            ])
        );
        let json = parse_json(r#"{"z": 1, "a": {"c": "d", "b": []}}"#).unwrap();
        let mut text = String::new();
        json.write_json(&mut text, 0);
        assert_eq!(
            text,
            "{\n  \"z\": 1,\n  \"a\": {\n    \"c\": \"d\",\n    \"b\": []\n  }\n}"
        );
        assert!(parse_json("{\"a\": 1, \"a\": 2}").is_err());
    }

    #[test]
    fn emitted_strings_stay_strings_for_the_kustomize_engine() {
        // Decrypted manifests are re-emitted and parsed again by the engine: strings that look
        // like other scalars must come back as the same strings.
        let tricky = [
            "on",
            "yes",
            "no",
            "0123",
            "1e3",
            "null",
            "~",
            "true",
            "0x1F",
            "multi\nline\n",
            " lead",
            "trail ",
            "a: b",
            "- x",
            "#hash",
            "",
        ];
        let document = Node::Map(
            tricky
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("k{i}"), Node::Str((*s).to_owned())))
                .collect(),
        );
        let text = emit_yaml_documents(&[document]).unwrap();
        let parsed = eddy_kustomize::yaml::parse_documents(&text).unwrap();
        for (i, expected) in tricky.iter().enumerate() {
            let value = parsed[0].get(&format!("k{i}"));
            assert_eq!(
                value.and_then(|v| v.as_str()),
                Some(*expected),
                "k{i} in:\n{text}"
            );
        }
    }

    #[test]
    fn yaml_emission_round_trips() {
        let documents = parse_yaml_documents("k: v\nn: 3\nlist:\n- a\n").unwrap();
        let text = emit_yaml_documents(&documents).unwrap();
        assert_eq!(text, "k: v\nn: 3\nlist:\n- a\n");
    }
}
