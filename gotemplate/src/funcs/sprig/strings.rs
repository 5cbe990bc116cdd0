//! Sprig's string functions.

use crate::error::FuncError;
use crate::fmt::{quote_go, sprintf};
use crate::funcs::convert::{strslice, strval};
use crate::funcs::{FuncMap, Param, int_arg, str_arg};
use crate::value::{ElemType, Value};
use std::collections::BTreeMap;

fn s(text: impl Into<std::rc::Rc<str>>) -> Result<Value, FuncError> {
    Ok(Value::String(text.into()))
}

pub fn register(map: &mut FuncMap) {
    use Param::{Any, Int, String as Str};
    map.add("hello", &[], |_, _| s("Hello!"));
    map.add("abbrev", &[Int, Str], |_, a| {
        s(abbrev(int_arg(&a, 0), str_arg(&a, 1)))
    });
    map.add("abbrevboth", &[Int, Int, Str], |_, a| {
        s(abbrevboth(int_arg(&a, 0), int_arg(&a, 1), str_arg(&a, 2)))
    });
    map.add("trunc", &[Int, Str], |_, a| {
        s(trunc(int_arg(&a, 0), str_arg(&a, 1)))
    });
    map.add("trim", &[Str], |_, a| {
        s(str_arg(&a, 0).trim_matches(go_space))
    });
    map.add("upper", &[Str], |_, a| s(str_arg(&a, 0).to_uppercase()));
    map.add("lower", &[Str], |_, a| s(str_arg(&a, 0).to_lowercase()));
    map.add("title", &[Str], |_, a| s(title(str_arg(&a, 0))));
    map.add("untitle", &[Str], |_, a| s(untitle(str_arg(&a, 0))));
    map.add("substr", &[Int, Int, Str], |_, a| {
        substr(int_arg(&a, 0), int_arg(&a, 1), str_arg(&a, 2))
    });
    map.add("repeat", &[Int, Str], |_, a| {
        let count = int_arg(&a, 0);
        if count < 0 {
            return Err(FuncError::msg("strings: negative Repeat count"));
        }
        let text = str_arg(&a, 1);
        if text.len().saturating_mul(count as usize) > 64 << 20 {
            return Err(FuncError::msg("strings: Repeat output length overflow"));
        }
        s(text.repeat(count as usize))
    });
    map.add("trimall", &[Str, Str], |_, a| {
        s(trim_set(str_arg(&a, 1), str_arg(&a, 0)))
    });
    map.add("trimAll", &[Str, Str], |_, a| {
        s(trim_set(str_arg(&a, 1), str_arg(&a, 0)))
    });
    map.add("trimSuffix", &[Str, Str], |_, a| {
        let (suffix, text) = (str_arg(&a, 0), str_arg(&a, 1));
        s(text.strip_suffix(suffix).unwrap_or(text))
    });
    map.add("trimPrefix", &[Str, Str], |_, a| {
        let (prefix, text) = (str_arg(&a, 0), str_arg(&a, 1));
        s(text.strip_prefix(prefix).unwrap_or(text))
    });
    map.add("nospace", &[Str], |_, a| {
        s(str_arg(&a, 0)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>())
    });
    map.add("initials", &[Str], |_, a| s(initials(str_arg(&a, 0))));
    map.add("swapcase", &[Str], |_, a| s(swapcase(str_arg(&a, 0))));
    map.add("snakecase", &[Str], |_, a| {
        s(delimited_case(str_arg(&a, 0), '_'))
    });
    map.add("kebabcase", &[Str], |_, a| {
        s(delimited_case(str_arg(&a, 0), '-'))
    });
    map.add("camelcase", &[Str], |_, a| s(pascal_case(str_arg(&a, 0))));
    map.add("wrap", &[Int, Str], |_, a| {
        s(wrap(str_arg(&a, 1), int_arg(&a, 0), "\n", true))
    });
    map.add("wrapWith", &[Int, Str, Str], |_, a| {
        s(wrap(str_arg(&a, 2), int_arg(&a, 0), str_arg(&a, 1), true))
    });
    map.add("contains", &[Str, Str], |_, a| {
        Ok(Value::Bool(str_arg(&a, 1).contains(str_arg(&a, 0))))
    });
    map.add("hasPrefix", &[Str, Str], |_, a| {
        Ok(Value::Bool(str_arg(&a, 1).starts_with(str_arg(&a, 0))))
    });
    map.add("hasSuffix", &[Str, Str], |_, a| {
        Ok(Value::Bool(str_arg(&a, 1).ends_with(str_arg(&a, 0))))
    });
    map.add_variadic("quote", &[], Any, |_, a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| quote_go(&strval(v)))
            .collect();
        s(parts.join(" "))
    });
    map.add_variadic("squote", &[], Any, |_, a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format!("'{}'", sprintf("%v", std::slice::from_ref(v))))
            .collect();
        s(parts.join(" "))
    });
    map.add_variadic("cat", &[], Any, |_, a| {
        let parts: Vec<Value> = a.into_iter().filter(|v| !matches!(v, Value::Nil)).collect();
        let format = "%v ".repeat(parts.len());
        s(sprintf(format.trim_matches(go_space), &parts))
    });
    map.add("indent", &[Int, Str], |_, a| {
        s(indent(int_arg(&a, 0), str_arg(&a, 1)))
    });
    map.add("nindent", &[Int, Str], |_, a| {
        s(format!("\n{}", indent(int_arg(&a, 0), str_arg(&a, 1))))
    });
    map.add("replace", &[Str, Str, Str], |_, a| {
        s(str_arg(&a, 2).replace(str_arg(&a, 0), str_arg(&a, 1)))
    });
    map.add("plural", &[Str, Str, Int], |_, a| {
        s(if int_arg(&a, 2) == 1 {
            str_arg(&a, 0)
        } else {
            str_arg(&a, 1)
        })
    });
    map.add("toString", &[Any], |_, a| s(strval(&a[0])));
    map.add("split", &[Str, Str], |_, a| {
        Ok(split_map(str_arg(&a, 1), str_arg(&a, 0), -1))
    });
    map.add("splitList", &[Str, Str], |_, a| {
        Ok(Value::string_list(go_split(
            str_arg(&a, 1),
            str_arg(&a, 0),
            -1,
        )))
    });
    map.add("splitn", &[Str, Int, Str], |_, a| {
        Ok(split_map(str_arg(&a, 2), str_arg(&a, 0), int_arg(&a, 1)))
    });
    map.add("toStrings", &[Any], |_, a| {
        Ok(Value::string_list(strslice(&a[0])))
    });
    map.add("join", &[Str, Any], |_, a| {
        s(strslice(&a[1]).join(str_arg(&a, 0)))
    });
    map.add("sortAlpha", &[Any], |_, a| {
        let mut items = match a[0].as_list() {
            Some(_) => strslice(&a[0]),
            None => vec![strval(&a[0])],
        };
        items.sort();
        Ok(Value::string_list(items))
    });
}

/// Go's `unicode.IsSpace` (what `strings.TrimSpace` trims).
pub(crate) fn go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

fn trim_set<'a>(text: &'a str, set: &str) -> &'a str {
    text.trim_matches(|c| set.contains(c))
}

/// Bytes of a string slice that may split a character: Go keeps the raw bytes; text here must be
/// UTF-8, so a split character becomes U+FFFD.
fn byte_slice(text: &str, start: usize, end: usize) -> String {
    match text.get(start..end) {
        Some(part) => part.to_string(),
        None => String::from_utf8_lossy(&text.as_bytes()[start..end]).into_owned(),
    }
}

fn trunc(c: i64, text: &str) -> String {
    let len = text.len() as i64;
    if c < 0 && len + c > 0 {
        return byte_slice(text, (len + c) as usize, text.len());
    }
    if c >= 0 && len > c {
        return byte_slice(text, 0, c as usize);
    }
    text.to_string()
}

fn substr(start: i64, end: i64, text: &str) -> Result<Value, FuncError> {
    let len = text.len() as i64;
    let (from, to) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if to < 0 || to > len {
        return Err(FuncError::msg(format!(
            "runtime error: slice bounds out of range [:{to}] with length {len}"
        )));
    }
    if from > to {
        return Err(FuncError::msg(format!(
            "runtime error: slice bounds out of range [{from}:{to}]"
        )));
    }
    s(byte_slice(text, from as usize, to as usize))
}

fn indent(spaces: i64, text: &str) -> String {
    // Beyond this the result could not be written within any sensible output limit.
    let spaces = spaces.clamp(0, 1 << 20);
    let pad = " ".repeat(spaces as usize);
    format!("{pad}{}", text.replace('\n', &format!("\n{pad}")))
}

/// Go's `strings.Split`/`SplitN` (n < 0: all).
pub(crate) fn go_split(text: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = text.chars().map(String::from).collect();
        if n > 0 && chars.len() > n as usize {
            let mut head: Vec<String> = chars[..n as usize - 1].to_vec();
            let consumed: usize = head.iter().map(String::len).sum();
            head.push(text[consumed..].to_string());
            return head;
        }
        return chars;
    }
    if n < 0 {
        return text.split(sep).map(str::to_string).collect();
    }
    text.splitn(n as usize, sep).map(str::to_string).collect()
}

fn split_map(text: &str, sep: &str, n: i64) -> Value {
    let entries: BTreeMap<String, Value> = go_split(text, sep, n)
        .into_iter()
        .enumerate()
        .map(|(i, part)| (format!("_{i}"), Value::string(part)))
        .collect();
    Value::typed_map(ElemType::String, entries)
}

/// Go's deprecated `strings.Title`: the first letter of each word upper-cased.
fn title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous = ' ';
    for c in text.chars() {
        if is_separator(previous) {
            out.extend(title_case(c));
        } else {
            out.push(c);
        }
        previous = c;
    }
    out
}

fn title_case(c: char) -> impl Iterator<Item = char> {
    // Title case equals upper case except for a few digraphs, which are rare in charts.
    c.to_uppercase()
}

fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    c.is_whitespace()
}

/// goutils `Uncapitalize`: the first letter of every whitespace-separated word lower-cased.
fn untitle(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if c.is_whitespace() {
            at_word_start = true;
            out.push(c);
        } else if at_word_start {
            out.extend(c.to_lowercase());
            at_word_start = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn initials(text: &str) -> String {
    let mut out = String::new();
    let mut previous_space = true;
    for c in text.chars() {
        if c.is_whitespace() {
            previous_space = true;
        } else {
            if previous_space {
                out.push(c);
            }
            previous_space = false;
        }
    }
    out
}

fn swapcase(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else if c.is_lowercase() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// commons-lang style abbreviation (goutils `Abbreviate`).
fn abbrev(width: i64, text: &str) -> String {
    if width < 4 {
        return text.to_string();
    }
    abbreviate_full(text, 0, width)
}

fn abbrevboth(left: i64, right: i64, text: &str) -> String {
    if right < 4 || (left > 0 && right < 7) {
        return text.to_string();
    }
    abbreviate_full(text, left, right)
}

fn abbreviate_full(text: &str, offset: i64, max_width: i64) -> String {
    let chars: Vec<char> = text.chars().collect();
    let len = chars.len() as i64;
    if len <= max_width {
        return text.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let collect = |from: i64, to: i64| -> String {
        chars[from.clamp(0, len) as usize..to.clamp(0, len) as usize]
            .iter()
            .collect()
    };
    if offset <= 4 {
        return format!("{}...", collect(0, max_width - 3));
    }
    if offset + max_width - 3 < len {
        return format!(
            "...{}",
            abbreviate_full(&collect(offset, len), 0, max_width - 3)
        );
    }
    format!("...{}", collect(len - (max_width - 3), len))
}

/// goutils `WrapCustom`: breaks lines longer than `width` at spaces.
fn wrap(text: &str, width: i64, newline: &str, wrap_long: bool) -> String {
    let width = width.max(1) as usize;
    let chars: Vec<char> = text.chars().collect();
    let len = chars.len();
    let mut out = String::new();
    let mut offset = 0usize;
    while len - offset > width {
        if chars[offset] == ' ' {
            offset += 1;
            continue;
        }
        let window_end = (offset + width + 1).min(len);
        let space = chars[offset..window_end].iter().rposition(|&c| c == ' ');
        match space {
            Some(relative) if relative > 0 => {
                out.extend(&chars[offset..offset + relative]);
                out.push_str(newline);
                offset += relative + 1;
            }
            _ => {
                if wrap_long {
                    out.extend(&chars[offset..offset + width]);
                    out.push_str(newline);
                    offset += width;
                } else {
                    match chars[offset + width..].iter().position(|&c| c == ' ') {
                        Some(p) => {
                            out.extend(&chars[offset..offset + width + p]);
                            out.push_str(newline);
                            offset += width + p + 1;
                        }
                        None => {
                            out.extend(&chars[offset..]);
                            offset = len;
                        }
                    }
                }
            }
        }
    }
    out.extend(&chars[offset..]);
    out
}

fn is_connector(c: char) -> bool {
    matches!(c, '-' | '_') || c.is_whitespace()
}

/// xstrings `ToPascalCase`.
fn pascal_case(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    let mut r0;
    let mut first_upper;
    loop {
        let Some(c) = chars.next() else {
            return out;
        };
        if !is_connector(c) {
            first_upper = c.is_uppercase();
            r0 = c.to_uppercase().next().unwrap_or(c);
            break;
        }
        out.push(c);
    }
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = r0.is_uppercase();
            r0 = r0.to_uppercase().next().unwrap_or(r0);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = r0.to_lowercase().next().unwrap_or(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

/// xstrings `ToSnakeCase`/`ToKebabCase` for the common shapes: words split at case changes,
/// connectors and spaces, joined by `connector` in lower case.
fn delimited_case(text: &str, connector: char) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if is_connector(c) {
            if !out.is_empty() && !out.ends_with(connector) {
                out.push(connector);
            }
            continue;
        }
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if (previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_lower))
                && !out.ends_with(connector)
            {
                out.push(connector);
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}
