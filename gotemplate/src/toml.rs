//! `toToml`: BurntSushi/toml v1.6's encoder as Helm calls it (sorted keys, plain values before
//! tables, `[table]` headers indented by depth, a blank line before top-level tables and before
//! every `[[array-of-tables]]` entry, nil values left out).

use std::fmt::Write;

use crate::value::Value;

/// Encodes `value`; Helm returns the error text in place of the document on failure.
pub fn encode(value: &Value) -> Result<String, String> {
    let mut encoder = Encoder {
        out: String::new(),
        written: false,
    };
    match value.as_map() {
        Some(map) => {
            let entries: Vec<(String, Value)> = map
                .entries
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            encoder.map(&[], &entries)?;
        }
        None => {
            let text = inline(value)?;
            encoder.out.push_str(&text);
        }
    }
    Ok(encoder.out)
}

struct Encoder {
    out: String,
    written: bool,
}

fn is_table(v: &Value) -> bool {
    v.as_map().is_some()
}

fn is_table_array(v: &Value) -> bool {
    v.as_list()
        .is_some_and(|l| !l.items.is_empty() && l.items.iter().all(is_table))
}

fn entries_of(v: &Value) -> Vec<(String, Value)> {
    v.as_map()
        .map(|m| {
            m.entries
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

impl Encoder {
    fn newline(&mut self) {
        if self.written {
            self.out.push('\n');
        }
    }

    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
        self.written = true;
    }

    fn map(&mut self, path: &[String], entries: &[(String, Value)]) -> Result<(), String> {
        let indent = "  ".repeat(path.len());
        for (key, value) in entries {
            if matches!(value, Value::Nil) || is_table(value) || is_table_array(value) {
                continue;
            }
            let text = format!("{indent}{} = {}", quote_key(key), inline(value)?);
            self.line(&text);
        }
        for (key, value) in entries {
            let mut child = path.to_vec();
            child.push(key.clone());
            let header = child
                .iter()
                .map(|k| quote_key(k))
                .collect::<Vec<_>>()
                .join(".");
            let header_indent = "  ".repeat(child.len() - 1);
            if is_table(value) {
                if child.len() == 1 {
                    self.newline();
                }
                self.line(&format!("{header_indent}[{header}]"));
                self.map(&child, &entries_of(value))?;
            } else if is_table_array(value) {
                for item in value.as_list().map(|l| l.items.clone()).unwrap_or_default() {
                    self.newline();
                    self.line(&format!("{header_indent}[[{header}]]"));
                    self.map(&child, &entries_of(&item))?;
                }
            }
        }
        Ok(())
    }
}

fn quote_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        quote(key)
    }
}

fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn float(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let text = crate::fmt::format_float(f, 'g', None, false);
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        format!("{text}.0")
    } else {
        text
    }
}

/// A value written on one line: scalars and arrays.
fn inline(value: &Value) -> Result<String, String> {
    Ok(match value {
        Value::Nil => return Err("toml: cannot encode a nil value".to_string()),
        Value::Bool(b) => b.to_string(),
        Value::Int(i, _) => i.to_string(),
        Value::Uint(u, _) => u.to_string(),
        Value::Float(f, _) => float(*f),
        Value::String(s) => quote(s),
        Value::Bytes(b) => quote(&String::from_utf8_lossy(b)),
        other => {
            if let Some(list) = other.as_list() {
                let items: Result<Vec<String>, String> = list
                    .items
                    .iter()
                    .filter(|v| !matches!(v, Value::Nil))
                    .map(inline)
                    .collect();
                format!("[{}]", items?.join(", "))
            } else if let Some(map) = other.as_map() {
                let mut parts = Vec::new();
                for (k, v) in map.entries.borrow().iter() {
                    if !matches!(v, Value::Nil) {
                        parts.push(format!("{} = {}", quote_key(k), inline(v)?));
                    }
                }
                format!("{{{}}}", parts.join(", "))
            } else {
                quote(&crate::funcs::convert::strval(other))
            }
        }
    })
}
