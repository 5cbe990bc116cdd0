//! Printing [`Value`]s byte-for-byte the way `kubectl kustomize` prints resources.
//!
//! Kustomize prints each object by converting it to JSON and then to YAML with the go-yaml v2 emitter.
//! The observable rules this module reproduces (checked against kubectl v1.32 / kustomize v5.5.0):
//! mapping keys in go-yaml's "natural" order, block style with 2-space indentation and sequences not
//! indented under their key, empty collections as `{}`/`[]`, long plain/quoted scalars folded at spaces
//! once the column passes 80, literal block scalars for multi-line text, and quoting of strings that
//! would otherwise read back as another type.

use super::keys::sorted_keys;
use super::scalar::{
    Style, analyze, escape_letter, format_float, is_base60_float, is_break, is_printable,
    resolves_to_non_string,
};
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
            // A document that is only a scalar: continuation and block-scalar lines go two columns
            // in, since at column 0 a `...` or `---` line would end the document. Kubernetes
            // objects are mappings, so this never changes what a build prints.
            writer.scalar_or_empty(other, 2, false);
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
