//! Printing a [`Node`] the way go-yaml v3's emitter lays it out with an indent of 2: block
//! mappings and sequences, each nesting two columns deeper (sequences too), `{}`/`[]` for empty
//! collections, complex keys (`? key`) for keys longer than 128 bytes or spanning lines, and no
//! line folding (v3's width is unlimited).

use super::Node;
use super::resolve::plain_reads_back_as_string;
use crate::exec::grow_stack;

const INDENT: usize = 2;
/// Keys longer than this many bytes are written as complex keys.
const MAX_SIMPLE_KEY_BYTES: usize = 128;

/// The document for `node`, ending with a newline.
pub(super) fn document(node: &Node) -> String {
    let mut writer = Writer {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
    };
    match node {
        Node::Map(entries) if !entries.is_empty() => writer.block_mapping(entries, 0),
        Node::Seq(items) if !items.is_empty() => writer.block_sequence(items, 0),
        // A scalar document: its continuation lines go one step in.
        other => writer.leaf(other, INDENT, false),
    }
    writer.write_indent(0);
    writer.out
}

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// The output and the cursor state the layout decisions depend on.
struct Writer {
    out: String,
    column: usize,
    /// The last thing written was whitespace (or an indicator that counts as such).
    whitespace: bool,
    /// Nothing but indentation (and `-`/`?`/`:` indicators) is on the current line.
    indention: bool,
}

impl Writer {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    /// A line break character of the scalar itself: `\n` is written as a newline, the others
    /// (U+2028, U+2029) as they are; either way a new line starts.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
            self.indention = true;
        }
    }

    /// Moves to column `indent`, starting a new line unless the cursor sits in the indentation
    /// before it.
    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
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
        for c in text.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn block_mapping(&mut self, entries: &[(String, Node)], indent: usize) {
        for (key, value) in entries {
            self.write_indent(indent);
            let analysis = analyze(key);
            if key.len() <= MAX_SIMPLE_KEY_BYTES && !analysis.multiline {
                self.string(key, indent + INDENT, true);
                self.indicator(":", false, false, false);
            } else {
                self.indicator("?", true, false, true);
                self.string(key, indent + INDENT, false);
                self.write_indent(indent);
                self.indicator(":", true, false, true);
            }
            self.node(value, indent + INDENT);
        }
    }

    fn block_sequence(&mut self, items: &[Node], indent: usize) {
        for item in items {
            self.write_indent(indent);
            self.indicator("-", true, false, true);
            self.node(item, indent + INDENT);
        }
    }

    /// A value after `key:` or `- `; `indent` is where its own lines start.
    fn node(&mut self, node: &Node, indent: usize) {
        grow_stack(|| match node {
            Node::Map(entries) if !entries.is_empty() => self.block_mapping(entries, indent),
            Node::Seq(items) if !items.is_empty() => self.block_sequence(items, indent),
            other => self.leaf(other, indent, false),
        });
    }

    /// A scalar or an empty collection.
    fn leaf(&mut self, node: &Node, indent: usize, simple_key: bool) {
        match node {
            Node::Map(_) => self.indicator("{}", true, false, false),
            Node::Seq(_) => self.indicator("[]", true, false, false),
            Node::Plain(text) => self.plain(text),
            Node::Str(text) => self.string(text, indent, simple_key),
        }
    }

    fn string(&mut self, text: &str, indent: usize, simple_key: bool) {
        match choose_style(text, simple_key) {
            Style::Plain => self.plain(text),
            Style::SingleQuoted => self.single_quoted(text, indent),
            Style::DoubleQuoted => self.double_quoted(text),
            Style::Literal => self.literal(text, indent),
        }
    }

    fn plain(&mut self, text: &str) {
        if !text.is_empty() && !self.whitespace {
            self.put(' ');
        }
        for c in text.chars() {
            self.put(c);
        }
        if !text.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
    }

    fn single_quoted(&mut self, text: &str, indent: usize) {
        self.indicator("'", true, false, false);
        let mut after_break = false;
        for c in text.chars() {
            if is_break(c) {
                if !after_break && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                after_break = true;
            } else {
                if after_break {
                    self.write_indent(indent);
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                if c != ' ' {
                    self.indention = false;
                }
                after_break = false;
            }
        }
        self.indicator("'", false, false, false);
    }

    fn double_quoted(&mut self, text: &str) {
        self.indicator("\"", true, false, false);
        // go-yaml tests for a byte-order mark at the start of the text, not at each character,
        // so one leading BOM escapes everything.
        let escape_all = text.starts_with('\u{feff}');
        for c in text.chars() {
            if escape_all || !is_printable(c) || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                for e in escape(c).chars() {
                    self.put(e);
                }
            } else {
                self.put(c);
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
        self.put_break();
        self.whitespace = true;
        let mut after_break = true;
        for &c in &chars {
            if is_break(c) {
                self.write_break(c);
                after_break = true;
            } else {
                if after_break {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                after_break = false;
            }
        }
    }
}

/// The style go-yaml v3 ends up with for a string: what the encoder asks for (a literal block
/// for text with `\n`, double quotes for text that would read back as another type, plain
/// otherwise), downgraded by what the characters allow.
fn choose_style(text: &str, simple_key: bool) -> Style {
    let wanted = if text.contains('\n') {
        Style::Literal
    } else if plain_reads_back_as_string(text) {
        Style::Plain
    } else {
        Style::DoubleQuoted
    };
    let analysis = analyze(text);
    let mut style = wanted;
    if simple_key && analysis.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain && (!analysis.plain_allowed || (text.is_empty() && simple_key)) {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!analysis.literal_allowed || simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

/// Which styles a text can be written in without changing what it reads back as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Analysis {
    multiline: bool,
    plain_allowed: bool,
    single_quoted_allowed: bool,
    literal_allowed: bool,
}

fn analyze(text: &str) -> Analysis {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Analysis {
            multiline: false,
            plain_allowed: true,
            single_quoted_allowed: true,
            literal_allowed: false,
        };
    }
    let mut indicators = text.starts_with("---") || text.starts_with("...");
    let (mut tabs, mut special) = (false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_then_space, mut space_then_break) = (false, false);
    let mut line_breaks = false;
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let last = chars.len() - 1;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = chars.get(i + 1).is_none_or(|&n| n == ' ' || n == '\t');
        indicators |= if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => true,
                '?' | ':' | '-' => followed_by_whitespace,
                _ => false,
            }
        } else {
            (c == ':' && followed_by_whitespace) || (c == '#' && preceded_by_whitespace)
        };
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i == last;
            break_then_space |= previous_break;
            (previous_space, previous_break) = (true, false);
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= i == last;
            space_then_break |= previous_space;
            (previous_space, previous_break) = (false, true);
        } else {
            (previous_space, previous_break) = (false, false);
        }
        preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }
    let edges = leading_space || leading_break || trailing_space || trailing_break;
    let awkward_spacing = break_then_space || space_then_break;
    Analysis {
        multiline: line_breaks,
        plain_allowed: !(edges || awkward_spacing || tabs || special || line_breaks || indicators),
        single_quoted_allowed: !(awkward_spacing || tabs || special),
        literal_allowed: !(trailing_space || space_then_break || special),
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// The characters go-yaml writes as they are (with `unicode` on): no C0/C1 controls, no
/// surrogates, no BOM, no U+FFFE/U+FFFF, and nothing outside the Basic Multilingual Plane.
fn is_printable(c: char) -> bool {
    let code = u32::from(c);
    c == '\n'
        || (0x20..=0x7E).contains(&code)
        || (0xA0..=0xD7FF).contains(&code)
        || ((0xE000..=0xFFFD).contains(&code) && code != 0xFEFF)
}

/// The escape sequence (after the backslash) of a character in a double-quoted scalar.
fn escape(c: char) -> String {
    let letter = match c {
        '\0' => '0',
        '\u{7}' => 'a',
        '\u{8}' => 'b',
        '\t' => 't',
        '\n' => 'n',
        '\u{b}' => 'v',
        '\u{c}' => 'f',
        '\r' => 'r',
        '\u{1b}' => 'e',
        '"' => '"',
        '\\' => '\\',
        '\u{85}' => 'N',
        '\u{a0}' => '_',
        '\u{2028}' => 'L',
        '\u{2029}' => 'P',
        _ => {
            let code = u32::from(c);
            return if code <= 0xFF {
                format!("x{code:02X}")
            } else if code <= 0xFFFF {
                format!("u{code:04X}")
            } else {
                format!("U{code:08X}")
            };
        }
    };
    letter.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> String {
        document(&Node::Seq(
            items.iter().map(|s| Node::Str(s.to_string())).collect(),
        ))
    }

    #[test]
    fn styles_as_go_chose_them() {
        // Go's toYamlPretty output for these strings (through the oracle).
        assert_eq!(
            strings(&["a\nb", " lead\nx", "tail \nx", "x\n\n", "\n", "tab\there"]),
            "- |-\n  a\n  b\n- |2-\n   lead\n  x\n- \"tail \\nx\"\n- |+\n  x\n\n- |2+\n\n- \"tab\\there\"\n"
        );
        assert_eq!(
            strings(&[
                "nel\u{85}x",
                "#c",
                "a #b",
                "a#b",
                "x:",
                ":x",
                "- x",
                "-x",
                "---"
            ]),
            "- \"nel\\Nx\"\n- '#c'\n- 'a #b'\n- a#b\n- 'x:'\n- :x\n- '- x'\n- -x\n- '---'\n"
        );
        assert_eq!(
            strings(&["", "😀", "\u{feff}ab"]),
            "- \"\"\n- \"\\U0001F600\"\n- \"\\uFEFF\\x61\\x62\"\n"
        );
    }

    #[test]
    fn long_and_multi_line_keys_are_complex() {
        let long = "k".repeat(129);
        let node = Node::Map(vec![
            (
                long.clone(),
                Node::Map(vec![("x".into(), Node::Plain("1".into()))]),
            ),
            ("k\nl".into(), Node::Seq(vec![Node::Plain("1".into())])),
        ]);
        assert_eq!(
            document(&node),
            format!("? {long}\n: x: 1\n? |-\n  k\n  l\n: - 1\n")
        );
    }

    #[test]
    fn scalar_documents() {
        assert_eq!(document(&Node::Str("a\nb\n".into())), "|\n  a\n  b\n");
        assert_eq!(document(&Node::Plain("null".into())), "null\n");
        assert_eq!(document(&Node::Map(Vec::new())), "{}\n");
        assert_eq!(document(&Node::Seq(Vec::new())), "[]\n");
    }
}
