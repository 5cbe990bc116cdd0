//! Printing [`Value`]s byte-for-byte the way `kubectl kustomize` prints resources.
//!
//! Kustomize prints each object by converting it to JSON and then to YAML with the go-yaml v2 emitter.
//! The observable rules this module reproduces (checked against kubectl v1.32 / kustomize v5.5.0):
//! mapping keys in go-yaml's "natural" order, block style with 2-space indentation and sequences not
//! indented under their key, empty collections as `{}`/`[]`, long plain/quoted scalars folded at spaces
//! once the column passes 80, literal block scalars for multi-line text, and quoting of strings that
//! would otherwise read back as another type.

use std::cmp::Ordering;

use super::value::Value;

/// Column after which a space in a scalar becomes a line break.
const BEST_WIDTH: usize = 80;
/// Keys longer than this are written as complex (`? key`) keys by the emitter.
const MAX_SIMPLE_KEY_LENGTH: usize = 128;

/// Renders one document (without a `---` separator). The result ends with a newline.
pub fn emit_document(value: &Value) -> String {
    let mut writer = Writer {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
    };
    match value {
        Value::Map(map) if !map.is_empty() => writer.block_mapping(value, 0),
        Value::Seq(items) if !items.is_empty() => writer.block_sequence(value, 0),
        other => {
            writer.scalar_or_empty(other, 0, false);
        }
    }
    // The document ends on a fresh line; a block scalar that ended in a line break already is on one.
    if !writer.indention || writer.column > 0 || !writer.whitespace {
        writer.out.push('\n');
    }
    writer.out
}

struct Writer {
    out: String,
    column: usize,
    /// The last written character was whitespace (or nothing has been written on the line yet).
    whitespace: bool,
    /// Only indentation has been written on the current line so far.
    indention: bool,
}

impl Writer {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_str(&mut self, s: &str) {
        self.out.push_str(s);
        self.column += s.chars().count();
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Moves to `indent` on a fresh line unless the cursor already sits there after indentation.
    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.newline();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn indicator(
        &mut self,
        text: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.put_str(text);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn block_mapping(&mut self, value: &Value, indent: usize) {
        let Value::Map(map) = value else { return };
        let keys = sorted_keys(map.keys().collect());
        for key in keys {
            let Some(child) = map.get(key.as_str()) else {
                continue;
            };
            self.write_indent(indent);
            if key.chars().count() > MAX_SIMPLE_KEY_LENGTH {
                self.indicator("?", true, false, true);
                self.string_scalar(key, indent + 2, false);
                self.write_indent(indent);
                self.indicator(":", true, false, true);
            } else {
                self.string_scalar(key, indent + 2, true);
                self.indicator(":", false, false, false);
            }
            self.node(child, indent, true);
        }
    }

    fn block_sequence(&mut self, value: &Value, indent: usize) {
        let Value::Seq(items) = value else { return };
        for item in items {
            self.write_indent(indent);
            self.indicator("-", true, false, true);
            self.node(item, indent + 2, false);
        }
    }

    /// Writes a node that follows a `key:` (when `in_mapping`) or a `- ` (otherwise).
    /// `indent` is the column of the key, or the column just after the dash.
    fn node(&mut self, value: &Value, indent: usize, in_mapping: bool) {
        match value {
            Value::Map(map) if !map.is_empty() => {
                let child_indent = if in_mapping { indent + 2 } else { indent };
                self.block_mapping(value, child_indent);
            }
            Value::Seq(items) if !items.is_empty() => {
                // Sequences under a mapping key are not indented; nested sequences are.
                self.block_sequence(value, indent);
            }
            other => {
                let scalar_indent = if in_mapping { indent + 2 } else { indent };
                self.scalar_or_empty(other, scalar_indent, false);
            }
        }
    }

    fn scalar_or_empty(&mut self, value: &Value, indent: usize, is_key: bool) {
        match value {
            Value::Map(_) => self.indicator("{}", true, false, false),
            Value::Seq(_) => self.indicator("[]", true, false, false),
            Value::Null => self.plain("null", indent, false),
            Value::Bool(b) => self.plain(if *b { "true" } else { "false" }, indent, false),
            Value::Int(i) => self.plain(&i.to_string(), indent, false),
            Value::Float(f) => self.plain(&format_float(*f), indent, false),
            Value::String(s) => self.string_scalar(s, indent, is_key),
        }
    }

    fn string_scalar(&mut self, text: &str, indent: usize, is_key: bool) {
        let wanted = if text.contains('\n') {
            Style::Literal
        } else if resolves_to_non_string(text) || is_base60_float(text) {
            Style::DoubleQuoted
        } else {
            Style::Plain
        };
        let analysis = analyze(text);
        let mut style = wanted;
        if style == Style::Plain && (!analysis.block_plain_allowed || (text.is_empty() && is_key)) {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!analysis.block_allowed || is_key) {
            style = Style::DoubleQuoted;
        }
        let allow_breaks = !is_key;
        match style {
            Style::Plain => self.plain(text, indent, allow_breaks),
            Style::SingleQuoted => self.single_quoted(text, indent, allow_breaks),
            Style::DoubleQuoted => self.double_quoted(text, indent, allow_breaks),
            Style::Literal => self.literal(text, indent),
        }
    }

    fn plain(&mut self, text: &str, indent: usize, allow_breaks: bool) {
        if !self.whitespace && !text.is_empty() {
            self.put(' ');
        }
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_is_space {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn single_quoted(&mut self, text: &str, indent: usize, allow_breaks: bool) {
        self.indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i + 1 != chars.len()
                    && !next_is_space
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.indicator("'", false, false, false);
    }

    fn double_quoted(&mut self, text: &str, indent: usize, allow_breaks: bool) {
        self.indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match escape_letter(c) {
                    Some(letter) => self.put(letter),
                    None => {
                        let code = c as u32;
                        let escaped = if code <= 0xFF {
                            format!("x{code:02X}")
                        } else if code <= 0xFFFF {
                            format!("u{code:04X}")
                        } else {
                            format!("U{code:08X}")
                        };
                        self.put_str(&escaped);
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i + 1 != chars.len()
                {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.indicator("\"", false, false, false);
    }

    fn literal(&mut self, text: &str, indent: usize) {
        self.indicator("|", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.indicator("2", false, false, false);
        }
        let chomp = match chars.as_slice() {
            [] => Some("-"),
            [.., last] if !is_break(*last) => Some("-"),
            [_] => Some("+"),
            [.., before, _] if is_break(*before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.indicator(chomp, false, false, false);
        }
        self.newline();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.newline();
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

struct Analysis {
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c) || c == '\0',
    }
}

/// The emitter's notion of a printable character (it deliberately excludes characters outside the BMP).
fn is_printable(c: char) -> bool {
    let code = c as u32;
    code == 0x0A
        || (0x20..=0x7E).contains(&code)
        || (0xA0..=0xD7FF).contains(&code)
        || ((0xE000..=0xFFFD).contains(&code) && code != 0xFEFF)
}

fn escape_letter(c: char) -> Option<char> {
    Some(match c {
        '\0' => '0',
        '\u{07}' => 'a',
        '\u{08}' => 'b',
        '\t' => 't',
        '\n' => 'n',
        '\u{0B}' => 'v',
        '\u{0C}' => 'f',
        '\r' => 'r',
        '\u{1B}' => 'e',
        '"' => '"',
        '\\' => '\\',
        '\u{85}' => 'N',
        '\u{A0}' => '_',
        '\u{2028}' => 'L',
        '\u{2029}' => 'P',
        _ => return None,
    })
}

/// Decides which scalar styles can represent `text` in block context.
fn analyze(text: &str) -> Analysis {
    if text.is_empty() {
        return Analysis {
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = text.chars().collect();
    let mut block_indicators = text.starts_with("---") || text.starts_with("...");
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;
    let mut preceded_by_whitespace = true;
    let last = chars.len() - 1;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = is_blank_or_end(chars.get(i + 1).copied());
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special_characters = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i == last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_break = true;
            previous_space = false;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank_or_end(Some(c));
    }
    let mut analysis = Analysis {
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        analysis.block_plain_allowed = false;
    }
    if trailing_space {
        analysis.block_allowed = false;
    }
    if break_space {
        analysis.block_plain_allowed = false;
        analysis.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        analysis.block_plain_allowed = false;
        analysis.single_quoted_allowed = false;
        analysis.block_allowed = false;
    }
    if line_breaks || block_indicators {
        analysis.block_plain_allowed = false;
    }
    analysis
}

/// Whether go-yaml v2 would read `text`, written plain, as something other than a string.
fn resolves_to_non_string(text: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true",
        "True", "TRUE", "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    if SPECIAL.contains(&text) {
        return true;
    }
    let Some(first) = text.chars().next() else {
        return true;
    };
    match first {
        '.' => is_yaml_float(text),
        '+' | '-' | '0'..='9' => {
            if is_timestamp(text) {
                return true;
            }
            let plain: String = text.chars().filter(|&c| c != '_').collect();
            parses_as_go_int(&plain) || is_yaml_float(&plain) || is_binary_int(&plain)
        }
        _ => false,
    }
}

fn is_binary_int(text: &str) -> bool {
    let digits = text
        .strip_prefix("-0b")
        .or_else(|| text.strip_prefix("0b"))
        .unwrap_or("");
    !digits.is_empty() && digits.chars().all(|c| c == '0' || c == '1')
}

/// Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint` acceptance (prefixes 0x, 0o, 0b and leading-0 octal).
fn parses_as_go_int(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if unsigned.is_empty() {
        return false;
    }
    let lower = unsigned.to_ascii_lowercase();
    let (digits, radix) = if let Some(rest) = lower.strip_prefix("0x") {
        (rest, 16)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (rest, 8)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (rest, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    !digits.is_empty() && u64::from_str_radix(digits, radix).is_ok()
}

/// go-yaml v2's float pattern: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
pub(crate) fn is_yaml_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits_from = |start: usize| {
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        end
    };
    if bytes.get(i) == Some(&b'.') {
        let end = digits_from(i + 1);
        if end == i + 1 {
            return false;
        }
        i = end;
    } else {
        let end = digits_from(i);
        if end == i {
            return false;
        }
        i = end;
        if bytes.get(i) == Some(&b'.') {
            i = digits_from(i + 1);
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits_from(i);
        if end == i {
            return false;
        }
        i = end;
    }
    i == bytes.len()
}

/// Sexagesimal numbers like `1:20`, which YAML 1.1 reads as floats.
fn is_base60_float(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let mut parts = body.split(':');
    let Some(head) = parts.next() else {
        return false;
    };
    if !head.starts_with(|c: char| c.is_ascii_digit())
        || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    let rest: Vec<&str> = parts.collect();
    if rest.is_empty() {
        return false;
    }
    for (index, part) in rest.iter().enumerate() {
        let (sexagesimal, fraction) = if index + 1 == rest.len() {
            match part.split_once('.') {
                Some((s, f)) => (s, Some(f)),
                None => (*part, None),
            }
        } else {
            (*part, None)
        };
        let valid_digits = match sexagesimal.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
            _ => false,
        };
        if !valid_digits {
            return false;
        }
        if let Some(fraction) = fraction
            && !fraction.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return false;
        }
    }
    true
}

/// YAML timestamps as go-yaml v2 recognises them (the same layouts go-yaml v3 reads).
fn is_timestamp(text: &str) -> bool {
    super::events::timestamp(text).is_some()
}

/// Formats a float the way it comes out of kustomize's JSON round trip: integral values as integers,
/// the rest in Go's shortest `%g` form (exponent form below 1e-4 and from 1e6 on).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+.inf" } else { "-.inf" }.to_string();
    }
    if f.fract() == 0.0 && f.abs() < 1e21 {
        let as_int = f as i128;
        if as_int >= i128::from(i64::MIN) && as_int <= i128::from(u64::MAX) {
            return as_int.to_string();
        }
    }
    go_shortest_g(f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
fn go_shortest_g(f: f64) -> String {
    let scientific = format!("{f:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    // Go's shortest %g switches to exponent form from 1e6 on.
    if !(-4..6).contains(&exponent) {
        let (head, tail) = digits.split_at(1);
        let fraction = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{head}{fraction}e{exp_sign}{:02}", exponent.abs());
    }
    if exponent < 0 {
        let zeros = "0".repeat(usize::try_from(-exponent - 1).unwrap_or(0));
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = usize::try_from(exponent + 1).unwrap_or(0);
    if digits.len() <= point {
        let zeros = "0".repeat(point - digits.len());
        format!("{sign}{digits}{zeros}")
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

/// Orders mapping keys. go-yaml's comparison is not a strict weak order for some digit mixes
/// ("a2", "a10", "a01"); kubectl's own output is then not deterministic (Go map iteration feeds the
/// sort), so any consistent order is as good as another.
fn sorted_keys(mut keys: Vec<&String>) -> Vec<&String> {
    keys.sort_by(|a, b| natural_cmp(a, b));
    keys
}

/// go-yaml v2's ordering of mapping keys: letters after non-letters, digit runs compared as numbers.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    if natural_less(a, b) {
        Ordering::Less
    } else if natural_less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn natural_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let a_letter = ar[i].is_alphabetic();
        let b_letter = br[i].is_alphabetic();
        if a_letter && b_letter {
            return ar[i] < br[i];
        }
        if a_letter || b_letter {
            return b_letter;
        }
        let mut a_number: i64 = 0;
        let mut b_number: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            // A zero inside a longer number (e.g. "10" vs "1a") compares as part of that number.
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    a_number = 1;
                    b_number = 1;
                    break;
                }
            }
        }
        let mut a_end = i;
        while a_end < ar.len() && ar[a_end].is_ascii_digit() {
            a_number = a_number
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[a_end] as u8 - b'0'));
            a_end += 1;
        }
        let mut b_end = i;
        while b_end < br.len() && br[b_end].is_ascii_digit() {
            b_number = b_number
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[b_end] as u8 - b'0'));
            b_end += 1;
        }
        if a_number != b_number {
            return a_number < b_number;
        }
        if a_end != b_end {
            return a_end < b_end;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_like_go_yaml() {
        // go-yaml's comparison is not transitive for mixes like "a2"/"a10"/"a01"; those are left out.
        let mut keys = vec![
            "a", "A", "_a", "1", "10", "9", "-a", "a1", "a10", "a-b", "a_b", "ab", "a.b", "x9",
            "x09", "x010",
        ];
        keys.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            keys,
            vec![
                "-a", "_a", "1", "9", "10", "A", "a", "a-b", "a.b", "a_b", "a1", "a10", "ab", "x9",
                "x09", "x010"
            ]
        );
    }

    #[test]
    fn floats_format_like_go() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(1234567.5), "1.2345675e+06");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(format_float(3e-10), "3e-10");
        assert_eq!(format_float(1e21), "1e+21");
    }

    #[test]
    fn strings_that_look_like_other_types_are_double_quoted() {
        for text in [
            "yes",
            "1:20",
            "2001-12-14",
            "",
            "0x1F",
            "1e3",
            "null",
            "~",
            ".5",
            "+1",
            "1_000",
            "Y",
        ] {
            assert!(
                resolves_to_non_string(text) || is_base60_float(text),
                "{text} should need quotes"
            );
        }
        for text in ["a'b", "=x", "abc", "-", "1.2.3"] {
            assert!(
                !resolves_to_non_string(text) && !is_base60_float(text),
                "{text}"
            );
        }
    }
}
