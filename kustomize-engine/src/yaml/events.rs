//! Building [`Value`]s from YAML parser events (granit-parser), with kustomize's scalar resolution.
//!
//! kustomize reads YAML with go-yaml v3, whose resolution of *plain* scalars differs from YAML 1.2's
//! core schema in ways that show up in the output: `0644` is octal (420), `1_000` is 1000, `2001-12-14`
//! is a timestamp (printed `"2001-12-14T00:00:00Z"`). Those rules need the scalar's style, which the
//! event stream provides; quoted and block scalars are always strings.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Tag};

use super::value::{Mapping, Value};

/// What a completed document stream looks like.
pub fn parse(text: &str, last_key_wins: bool) -> Result<Vec<Value>, String> {
    let mut builder = Builder {
        last_key_wins,
        stack: Vec::new(),
        anchors: HashMap::new(),
        documents: Vec::new(),
        current: None,
        empty_node: false,
    };
    // A block scalar on the last line of a file with no final line break has no line break to
    // keep: go-yaml's value ends without one (so `|` prints back as `|-`).
    let unterminated = !text.ends_with('\n');
    let end_of_text = text.chars().count();
    for next in Parser::new_from_str(text) {
        let (mut event, span) = next.map_err(|e| e.to_string())?;
        // The parser reports an empty node as the text `~`; only its zero-width span tells them apart.
        builder.empty_node = span.start.index() == span.end.index();
        if unterminated
            && span.end.index() >= end_of_text
            && let Event::Scalar(value, ScalarStyle::Literal | ScalarStyle::Folded, ..) = &mut event
            && value.ends_with('\n')
        {
            value.to_mut().pop();
        }
        builder
            .event(event)
            .map_err(|message| format!("{message} (line {})", span.start.line()))?;
    }
    Ok(builder.documents)
}

enum Frame {
    Seq(Vec<Value>, usize),
    Map(Mapping, Option<String>, usize),
}

struct Builder {
    last_key_wins: bool,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    documents: Vec<Value>,
    /// The root node of the document being read.
    current: Option<Value>,
    /// The event being handled is a node with no text at all (`key:` with nothing after it).
    empty_node: bool,
}

impl Builder {
    fn event(&mut self, event: Event<'_>) -> Result<(), String> {
        match event {
            Event::DocumentStart(..) => self.current = None,
            Event::DocumentEnd => {
                let root = self.current.take().unwrap_or(Value::Null);
                self.documents.push(root);
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value =
                    if style == ScalarStyle::Plain && tag.is_none() && self.at_annotation_value() {
                        // kustomize prints annotation values as the text of their node.
                        let text = if self.empty_node { "" } else { &text };
                        Value::String(text.to_string())
                    } else {
                        resolve_scalar(&text, style, tag.as_deref())?
                    };
                self.complete(value, anchor)?;
            }
            Event::Alias(anchor) => {
                let value = self
                    .anchors
                    .get(&anchor)
                    .cloned()
                    .ok_or_else(|| "unknown anchor".to_string())?;
                self.complete(value, 0)?;
            }
            Event::SequenceStart(_, anchor, _) => self.stack.push(Frame::Seq(Vec::new(), anchor)),
            Event::MappingStart(_, anchor, _) => {
                self.stack.push(Frame::Map(Mapping::new(), None, anchor))
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq(items, anchor)) => self.complete(Value::Seq(items), anchor)?,
                _ => return Err("unbalanced sequence end".to_string()),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map(mut map, _, anchor)) => {
                    apply_merge_key(&mut map);
                    self.complete(Value::Map(map), anchor)?;
                }
                _ => return Err("unbalanced mapping end".to_string()),
            },
            _ => {}
        }
        Ok(())
    }

    /// Whether the next node is the value of an entry of the document's `metadata.annotations`.
    fn at_annotation_value(&self) -> bool {
        fn pending(frame: &Frame) -> Option<&str> {
            match frame {
                Frame::Map(_, pending, _) => pending.as_deref(),
                Frame::Seq(..) => None,
            }
        }
        match self.stack.as_slice() {
            [root, metadata, annotations] => {
                pending(root) == Some("metadata")
                    && pending(metadata) == Some("annotations")
                    && pending(annotations).is_some()
            }
            _ => false,
        }
    }

    /// Places a finished node into its parent (or as the document root).
    fn complete(&mut self, value: Value, anchor: usize) -> Result<(), String> {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.current = Some(value),
            Some(Frame::Seq(items, _)) => items.push(value),
            Some(Frame::Map(map, pending, _)) => match pending.take() {
                None => *pending = Some(key_text(&value)?),
                Some(key) => {
                    if map.contains_key(&key) && !self.last_key_wins {
                        return Err(format!("mapping key {key:?} already defined"));
                    }
                    map.insert(key, value);
                }
            },
        }
        Ok(())
    }
}

fn key_text(key: &Value) -> Result<String, String> {
    match key {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(super::scalar::format_float(*f)),
        Value::Null => Ok(String::new()),
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

fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag
        && let Some(core) = tag.core_suffix()
    {
        return match core {
            "str" | "binary" => Ok(Value::String(text.to_string())),
            "null" => Ok(Value::Null),
            "bool" => match resolve_plain(text) {
                value @ Value::Bool(_) => Ok(value),
                _ => Err(format!("cannot decode {text:?} as a !!bool")),
            },
            "int" => match resolve_plain(text) {
                value @ Value::Int(_) => Ok(value),
                _ => Err(format!("cannot decode {text:?} as an !!int")),
            },
            "float" => match resolve_plain(text) {
                Value::Int(i) => Ok(Value::Float(i as f64)),
                value @ Value::Float(_) => Ok(value),
                _ => Err(format!("cannot decode {text:?} as a !!float")),
            },
            _ => Ok(resolve_plain(text)),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    Ok(resolve_plain(text))
}

/// go-yaml v3's resolution of an untagged plain scalar.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let Some(first) = text.chars().next() else {
        return Value::Null;
    };
    if !(first.is_ascii_digit() || matches!(first, '+' | '-' | '.')) {
        return Value::String(text.to_string());
    }
    if let Some(date) = timestamp(text) {
        return Value::String(date);
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(int) = parse_go_int(&plain) {
        return Value::Int(int);
    }
    if super::scalar::is_yaml_float(&plain)
        && let Ok(float) = plain.parse::<f64>()
    {
        return Value::Float(float);
    }
    Value::String(text.to_string())
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint`: optional sign, then `0x`, `0o`,
/// `0b` or a leading `0` (octal) prefix.
fn parse_go_int(text: &str) -> Option<i128> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if unsigned.is_empty() {
        return None;
    }
    let lower = unsigned.to_ascii_lowercase();
    let (digits, radix) = if let Some(rest) = lower.strip_prefix("0x") {
        (rest.to_string(), 16)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (rest.to_string(), 8)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (rest.to_string(), 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (lower[1..].to_string(), 8)
    } else {
        (lower, 10)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(&digits, radix).ok()?;
    let value = if negative {
        -i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    if value < i128::from(i64::MIN) {
        return None;
    }
    Some(value)
}

/// A plain timestamp as go-yaml v3 reads it (`2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00` with `T` or
/// `t`, or `2006-1-2 15:4:5.999999999` in UTC), rendered the way kustomize prints the resulting time:
/// RFC 3339 with nanoseconds, trailing zeros trimmed, `Z` for a zero offset.
pub(super) fn timestamp(text: &str) -> Option<String> {
    let (date, rest) = match text.find(['T', 't', ' ']) {
        Some(at) => (&text[..at], Some((text.as_bytes()[at], &text[at + 1..]))),
        None => (text, None),
    };
    let (year, month, day) = parse_date(date)?;
    let date_text = format!("{year}-{month:02}-{day:02}");
    let Some((separator, rest)) = rest else {
        return Some(format!("{date_text}T00:00:00Z"));
    };
    let (clock, zone) = if separator == b' ' {
        (rest, "Z".to_string())
    } else if let Some(clock) = rest.strip_suffix('Z') {
        (clock, "Z".to_string())
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (clock, offset) = rest.split_at(at);
        let digits = &offset[1..];
        let valid = digits.len() == 5
            && digits.as_bytes()[2] == b':'
            && digits[..2].chars().all(|c| c.is_ascii_digit())
            && digits[3..].chars().all(|c| c.is_ascii_digit());
        if !valid {
            return None;
        }
        let zone = if &digits[..2] == "00" && &digits[3..] == "00" {
            "Z".to_string()
        } else {
            offset.to_string()
        };
        (clock, zone)
    };
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (clock, None),
    };
    let mut fields = hms.split(':');
    let (hour, minute, second) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    let number = |field: &str, max: u32| -> Option<u32> {
        if !(1..=2).contains(&field.len()) || !field.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        field.parse().ok().filter(|v| *v <= max)
    };
    let (hour, minute, second) = (number(hour, 23)?, number(minute, 59)?, number(second, 59)?);
    let mut fraction_text = String::new();
    if let Some(fraction) = fraction {
        if fraction.is_empty() || !fraction.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let kept: String = fraction.chars().take(9).collect();
        let trimmed = kept.trim_end_matches('0');
        if !trimmed.is_empty() {
            fraction_text = format!(".{trimmed}");
        }
    }
    Some(format!(
        "{date_text}T{hour:02}:{minute:02}:{second:02}{fraction_text}{zone}"
    ))
}

/// `YYYY-M-D` with a real calendar date.
fn parse_date(date: &str) -> Option<(String, u32, u32)> {
    let mut parts = date.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || year.len() != 4
        || !(1..=2).contains(&month.len())
        || !(1..=2).contains(&day.len())
        || ![year, month, day]
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let year_number: u32 = year.parse().ok()?;
    let month: u32 = month.parse().ok()?;
    let day: u32 = day.parse().ok()?;
    let leap = (year_number.is_multiple_of(4) && !year_number.is_multiple_of(100))
        || year_number.is_multiple_of(400);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    Some((year.to_string(), month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_like_go_yaml_v3() {
        assert_eq!(resolve_plain("0644"), Value::Int(420));
        assert_eq!(resolve_plain("1_000"), Value::Int(1000));
        assert_eq!(resolve_plain("0x10"), Value::Int(16));
        assert_eq!(resolve_plain("yes"), Value::String("yes".to_string()));
        assert_eq!(
            resolve_plain("2001-12-14"),
            Value::String("2001-12-14T00:00:00Z".to_string())
        );
        assert_eq!(resolve_plain("1.5"), Value::Float(1.5));
        assert_eq!(resolve_plain("1.2.3"), Value::String("1.2.3".to_string()));
        assert_eq!(resolve_plain("~"), Value::Null);
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let docs = parse("a: '0644'\nb: \"2001-12-14\"\nc: 0644\n", false).unwrap();
        let map = docs[0].as_map().unwrap();
        assert_eq!(map["a"], Value::String("0644".to_string()));
        assert_eq!(map["b"], Value::String("2001-12-14".to_string()));
        assert_eq!(map["c"], Value::Int(420));
    }
}
