//! Reading YAML the way `sigs.k8s.io/yaml.Unmarshal` does for `fromYaml`: go-yaml v2's YAML 1.1
//! scalar rules (`yes`/`no`/`on`/`off`/`y`/`n` are booleans, `0777` is octal, `1_000` is 1000;
//! dates stay strings, as go-yaml v2 keeps them when decoding into an interface), then a JSON
//! round trip (every number a float64, every key a string).

use std::collections::{BTreeMap, HashMap};

use granit_parser::{Event, Parser, ScalarStyle};

use crate::value::Value;

enum Frame {
    Seq(Vec<Value>, usize),
    Map(BTreeMap<String, Value>, Option<String>, usize, Vec<Value>),
}

/// Parses the first document of `text`; an empty stream is nil.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut root: Option<Value> = None;
    for next in Parser::new_from_str(text) {
        let (event, _) = next.map_err(|e| format!("error converting YAML to JSON: yaml: {e}"))?;
        let (value, anchor) = match event {
            Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
                continue;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = if style == ScalarStyle::Plain && tag.is_none() {
                    resolve_plain(&text)
                } else {
                    Value::string(text.as_ref())
                };
                (value, anchor)
            }
            Event::Alias(id) => (
                anchors
                    .get(&id)
                    .cloned()
                    .ok_or("error converting YAML to JSON: yaml: unknown anchor")?,
                0,
            ),
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), anchor));
                continue;
            }
            Event::MappingStart(_, anchor, _) => {
                stack.push(Frame::Map(BTreeMap::new(), None, anchor, Vec::new()));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor)) => (Value::list(items), anchor),
                _ => return Err("unbalanced sequence".to_string()),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(mut map, _, anchor, merges)) => {
                    for merged in merges {
                        if let Some(source) = merged.as_map() {
                            for (k, v) in source.entries.borrow().iter() {
                                map.entry(k.clone()).or_insert_with(|| v.clone());
                            }
                        }
                    }
                    (Value::map(map), anchor)
                }
                _ => return Err("unbalanced mapping".to_string()),
            },
            _ => continue,
        };
        if anchor != 0 {
            anchors.insert(anchor, value.clone());
        }
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq(items, _)) => items.push(value),
            Some(Frame::Map(map, pending, _, merges)) => match pending.take() {
                None => *pending = Some(key_text(&value)),
                Some(key) if key == "<<" => match &value {
                    Value::List(list) => merges.extend(list.items.iter().cloned()),
                    other => merges.push(other.clone()),
                },
                Some(key) => {
                    map.insert(key, value);
                }
            },
        }
    }
    Ok(root.unwrap_or(Value::Nil))
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.to_string(),
        Value::Nil => "null".to_string(),
        Value::Float(f, _) => crate::fmt::format_float(*f, 'g', None, false),
        other => crate::fmt::to_string_v(other),
    }
}

/// go-yaml v2's resolution of an untagged plain scalar, as JSON then sees it.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Nil,
        "true" | "True" | "TRUE" | "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "false" | "False" | "FALSE" | "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.') {
        let plain = text.replace('_', "");
        if let Some(i) = parse_yaml_int(&plain) {
            return Value::float(i);
        }
        if is_yaml_float(&plain)
            && let Ok(f) = plain.parse::<f64>()
        {
            return Value::float(f);
        }
    }
    Value::string(text)
}

fn parse_yaml_int(plain: &str) -> Option<f64> {
    let (negative, body) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, plain),
    };
    let magnitude = if let Some(bin) = body.strip_prefix("0b") {
        u64::from_str_radix(bin, 2).ok()?
    } else {
        crate::number::parse_uint(body)?
    };
    let value = magnitude as f64;
    Some(if negative { -value } else { value })
}

/// go-yaml's float pattern: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml_float(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.is_empty() && !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()))
                || (!int.is_empty()
                    && int.bytes().all(|b| b.is_ascii_digit())
                    && frac.bytes().all(|b| b.is_ascii_digit()))
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_one_one_scalars() {
        let v = parse("a: yes\nb: [x, y, n]\nc: 0777\nd: 1_000\ne: '1'\nf: 2024-01-02\ng: 1.5e3\n")
            .unwrap();
        assert_eq!(
            crate::fmt::to_string_v(&v),
            "map[a:true b:[x true false] c:511 d:1000 e:1 f:2024-01-02 g:1500]"
        );
    }
}
