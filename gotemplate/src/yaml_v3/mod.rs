//! What Helm v4's `toYamlPretty` prints: the value handed straight to the go-yaml v3 encoder
//! with an indent of 2. Unlike `toYaml` there is no JSON pass, so Go types show through: a
//! float64 prints in Go's shortest `%g` form (`1e+06`), an int as an int, a struct's fields under
//! their lower-cased names in declaration order. Map keys are sorted in go-yaml v3's natural
//! order, block sequences are indented under their key, and lines are never folded.

mod emit;
mod keys;
mod resolve;

use crate::exec::grow_stack;
use crate::value::Value;

/// Nesting deeper than this is refused rather than followed (Go would exhaust its stack on a
/// self-referencing map).
const MAX_DEPTH: usize = 10_000;

/// A value as the encoder sees it: scalars already turned into text.
#[derive(Debug)]
enum Node {
    /// Text printed as is (numbers, booleans, `null`, timestamps): go-yaml emits these plain.
    Plain(String),
    /// A string: plain, quoted or a literal block, depending on what it contains.
    Str(String),
    Seq(Vec<Node>),
    /// Entries in output order: sorted for a Go map, declaration order for a struct.
    Map(Vec<(String, Node)>),
}

impl Drop for Node {
    /// Takes deep trees apart level by level: the derived drop would recurse once per level.
    fn drop(&mut self) {
        let mut pending = take_children(self);
        while let Some(mut node) = pending.pop() {
            pending.extend(take_children(&mut node));
        }
    }
}

fn take_children(node: &mut Node) -> Vec<Node> {
    match node {
        Node::Seq(items) => std::mem::take(items),
        Node::Map(entries) => std::mem::take(entries)
            .into_iter()
            .map(|(_, value)| value)
            .collect(),
        Node::Plain(_) | Node::Str(_) => Vec::new(),
    }
}

/// Encodes `value` as one YAML document. The text ends with a newline, which Helm trims.
pub fn marshal(value: &Value) -> Result<String, String> {
    let node = to_node(value, 0)?;
    Ok(emit::document(&node))
}

fn to_node(value: &Value, depth: usize) -> Result<Node, String> {
    if depth > MAX_DEPTH {
        return Err(format!("the value nests more than {MAX_DEPTH} levels deep"));
    }
    grow_stack(|| {
        Ok(match value {
            Value::Nil => Node::Plain("null".to_string()),
            Value::Bool(b) => Node::Plain(b.to_string()),
            Value::Int(i, _) => Node::Plain(i.to_string()),
            Value::Uint(u, _) => Node::Plain(u.to_string()),
            Value::Float(f, is32) => Node::Plain(float_text(*f, *is32)),
            Value::String(s) => Node::Str(s.to_string()),
            // A `[]byte` is a slice of uint8 to the encoder.
            Value::Bytes(bytes) => {
                Node::Seq(bytes.iter().map(|b| Node::Plain(b.to_string())).collect())
            }
            Value::List(list) => seq_node(&list.items, depth)?,
            Value::Map(map) => map_node(map.entries.borrow().iter(), depth)?,
            Value::Object(object) => object_node(object.as_ref(), depth)?,
        })
    })
}

fn seq_node(items: &[Value], depth: usize) -> Result<Node, String> {
    items
        .iter()
        .map(|item| to_node(item, depth + 1))
        .collect::<Result<_, _>>()
        .map(Node::Seq)
}

fn map_node<'a>(
    entries: impl Iterator<Item = (&'a String, &'a Value)>,
    depth: usize,
) -> Result<Node, String> {
    let mut out = entries
        .map(|(key, value)| Ok((key.clone(), to_node(value, depth + 1)?)))
        .collect::<Result<Vec<_>, String>>()?;
    keys::sort_entries(&mut out);
    Ok(Node::Map(out))
}

fn object_node(object: &dyn crate::value::HostObject, depth: usize) -> Result<Node, String> {
    if object.is_nil() {
        return Ok(Node::Plain("null".to_string()));
    }
    if object.type_name() == "time.Time" {
        // go-yaml prints a time.Time itself, as RFC 3339 with nanoseconds: the same text as
        // its JSON form without the quotes.
        if let Some(serde_json::Value::String(text)) = object
            .marshal_json()
            .and_then(|json| serde_json::from_str(&json).ok())
        {
            return Ok(Node::Plain(text));
        }
    }
    if let Some(map) = object.map_view() {
        return map_node(map.entries.borrow().iter(), depth);
    }
    if let Some(list) = object.list_view() {
        return seq_node(&list.items, depth);
    }
    let fields = object.fields();
    if fields.is_empty()
        && let Some(text) = object.display()
    {
        // A type with a text form and no fields (`*semver.Version`) marshals as that text.
        return Ok(Node::Str(text));
    }
    // Struct fields without a `yaml` tag are keyed by their lower-cased Go name.
    fields
        .iter()
        .map(|(name, value)| Ok((name.to_lowercase(), to_node(value, depth + 1)?)))
        .collect::<Result<Vec<_>, String>>()
        .map(Node::Map)
}

/// `strconv.FormatFloat(f, 'g', -1, bits)` with YAML's names for the special values.
fn float_text(f: f64, is32: bool) -> String {
    if f.is_nan() {
        ".nan".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_string()
    } else {
        crate::fmt::format_float(f, 'g', None, is32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn floats_keep_go_shortest_form() {
        let value = map(&[
            ("big", Value::float(1e6)),
            ("half", Value::float(0.5)),
            ("tiny", Value::float(1e-7)),
            ("whole", Value::float(3.0)),
            ("single", Value::Float(f64::from(0.1f32), true)),
        ]);
        assert_eq!(
            marshal(&value).unwrap(),
            "big: 1e+06\nhalf: 0.5\nsingle: 0.1\ntiny: 1e-07\nwhole: 3\n"
        );
    }

    #[test]
    fn sequences_are_indented_under_their_key() {
        let value = map(&[(
            "baz",
            Value::list(vec![Value::int(1), map(&[("a", Value::Nil)])]),
        )]);
        assert_eq!(marshal(&value).unwrap(), "baz:\n  - 1\n  - a: null\n");
    }

    #[test]
    fn bytes_are_a_list_of_uint8() {
        // What go-yaml v3 prints for []byte("hi").
        let bytes = Value::Bytes(std::rc::Rc::from(&b"hi"[..]));
        assert_eq!(marshal(&bytes).unwrap(), "- 104\n- 105\n");
    }

    #[test]
    fn deep_nesting_prints_up_to_the_cap() {
        // A thread with room for the test's own values, whose drop recurses per level.
        let worker = std::thread::Builder::new().stack_size(256 << 20).spawn(|| {
            let nested = |levels: usize| {
                let mut value = Value::Nil;
                for _ in 0..levels {
                    value = Value::list(vec![value]);
                }
                value
            };
            let printed = marshal(&nested(MAX_DEPTH)).unwrap();
            assert!(
                printed.ends_with("- null\n"),
                "{}",
                &printed[printed.len() - 40..]
            );
            assert!(marshal(&nested(MAX_DEPTH + 2)).is_err());
        });
        worker.unwrap().join().unwrap();
    }
}
