//! Conversions as Sprig performs them: spf13/cast v1.7.0 (`int`, `int64`, `float64`, sprig's
//! arithmetic), sprig's `strval`/`strslice`, and Go's `encoding/json` for `toJson`.

use std::fmt::Write;

use crate::fmt::to_string_v;
use crate::value::Value;

/// `cast.ToInt64`: numbers truncate, strings parse with Go's base prefixes (a bad string is 0).
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i, _) => *i,
        Value::Uint(u, _) => *u as i64,
        Value::Float(f, _) => float_to_int(*f),
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_cast_int(s),
        _ => 0,
    }
}

/// Go's float64→int64 conversion for in-range values; out-of-range gives the minimum, as amd64 does.
fn float_to_int(f: f64) -> i64 {
    if f.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

fn parse_cast_int(s: &str) -> i64 {
    let trimmed = trim_zero_decimal(s);
    crate::number::parse_int(trimmed).unwrap_or(0)
}

/// cast's `trimZeroDecimal`: "3.00" → "3".
fn trim_zero_decimal(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=bytes.len()).rev() {
        match bytes[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// `cast.ToFloat64`.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i, _) => *i as f64,
        Value::Uint(u, _) => *u as f64,
        Value::Float(f, _) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => crate::number::parse_float(s)
            .or_else(|| parse_special_float(s))
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

/// `strconv.ParseFloat`'s words: `inf`, `infinity` and `nan` in any case, with a sign.
fn parse_special_float(s: &str) -> Option<f64> {
    let (negative, word) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let value = match word.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => return None,
    };
    Some(if negative { -value } else { value })
}

/// Sprig's `strval`: strings as they are, `[]byte` as text, stringers via their method,
/// everything else with `%v`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Object(o) => o.display().unwrap_or_else(|| to_string_v(v)),
        other => to_string_v(other),
    }
}

/// Sprig's `strslice` (`toStrings`, `join`'s input): nil elements are dropped.
pub fn strslice(v: &Value) -> Vec<String> {
    if let Some(list) = v.as_list() {
        return list
            .items
            .iter()
            .filter(|item| !matches!(item, Value::Nil))
            .map(strval)
            .collect();
    }
    match v {
        Value::Nil => Vec::new(),
        Value::Bytes(b) => b.iter().map(|b| b.to_string()).collect(),
        other => vec![strval(other)],
    }
}

/// Sprig's `empty`: zero values, empty collections and nil.
pub fn is_empty(v: &Value) -> bool {
    !v.truth()
}

/// Options for Go's `encoding/json` encoder.
#[derive(Clone, Copy)]
pub struct JsonStyle {
    pub escape_html: bool,
    /// Indentation for `MarshalIndent` (None: compact).
    pub indent: Option<&'static str>,
}

/// Go's `json.Marshal`. Errors carry Go's texts (`json: unsupported value: NaN`).
pub fn to_json(v: &Value, style: JsonStyle) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, v, style, 0)?;
    Ok(out)
}

fn newline(out: &mut String, style: JsonStyle, depth: usize) {
    if let Some(indent) = style.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    }
}

fn write_json(out: &mut String, v: &Value, style: JsonStyle, depth: usize) -> Result<(), String> {
    if depth > 1000 {
        return Err("json: unsupported value: encountered a cycle".to_string());
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i, _) => {
            let _ = write!(out, "{i}");
        }
        Value::Uint(u, _) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f, is32) => out.push_str(&json_float(*f, *is32)?),
        Value::String(s) => json_string(out, s, style.escape_html),
        Value::Bytes(b) => {
            use base64::Engine;
            out.push('"');
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
            out.push('"');
        }
        Value::List(list) => write_json_list(out, &list.items, style, depth)?,
        Value::Map(map) => write_json_map(out, map.entries.borrow().iter(), style, depth)?,
        Value::Object(object) => {
            if let Some(json) = object.marshal_json() {
                out.push_str(&json);
            } else if object.is_nil() {
                out.push_str("null");
            } else if let Some(map) = object.map_view() {
                write_json_map(out, map.entries.borrow().iter(), style, depth)?;
            } else if let Some(list) = object.list_view() {
                write_json_list(out, &list.items, style, depth)?;
            } else {
                let fields = object.fields();
                write_json_map(out, fields.iter().map(|(k, v)| (k, v)), style, depth)?;
            }
        }
    }
    Ok(())
}

fn write_json_list(
    out: &mut String,
    items: &[Value],
    style: JsonStyle,
    depth: usize,
) -> Result<(), String> {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, style, depth + 1);
        write_json(out, item, style, depth + 1)?;
    }
    if !items.is_empty() {
        newline(out, style, depth);
    }
    out.push(']');
    Ok(())
}

fn write_json_map<'a>(
    out: &mut String,
    entries: impl Iterator<Item = (&'a String, &'a Value)>,
    style: JsonStyle,
    depth: usize,
) -> Result<(), String> {
    out.push('{');
    let mut any = false;
    for (i, (key, item)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        any = true;
        newline(out, style, depth + 1);
        json_string(out, key, style.escape_html);
        out.push(':');
        if style.indent.is_some() {
            out.push(' ');
        }
        write_json(out, item, style, depth + 1)?;
    }
    if any {
        newline(out, style, depth);
    }
    out.push('}');
    Ok(())
}

/// How `encoding/json` writes a float: shortest form, exponent only below 1e-6 or from 1e21.
pub fn json_float(f: f64, is32: bool) -> Result<String, String> {
    if f.is_nan() || f.is_infinite() {
        return Err(format!(
            "json: unsupported value: {}",
            crate::fmt::format_float(f, 'g', None, is32)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = crate::fmt::format_float(f, 'e', None, is32);
        // Go trims "e-07" to "e-7".
        if let Some(pos) = text.find("e-0") {
            return Ok(format!("{}e-{}", &text[..pos], &text[pos + 3..]));
        }
        if let Some(pos) = text.find("e+0") {
            return Ok(format!("{}e+{}", &text[..pos], &text[pos + 3..]));
        }
        return Ok(text);
    }
    Ok(crate::fmt::format_float(f, 'f', None, is32))
}

/// `encoding/json` string escaping (HTML-safe unless disabled).
pub fn json_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Decodes JSON as `encoding/json` does into `interface {}` (numbers are float64).
pub fn from_json(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => Ok(Value::from_json(&json)),
        Err(e) => Err(json_error_text(text, &e)),
    }
}

/// Go's decode error text: the scanner's syntax error when there is one.
fn json_error_text(text: &str, error: &serde_json::Error) -> String {
    super::json_errors::syntax_error(text).unwrap_or_else(|| error.to_string())
}
