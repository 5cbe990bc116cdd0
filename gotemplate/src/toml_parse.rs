//! `fromToml`: TOML documents read as BurntSushi/toml decodes them into `map[string]interface {}`
//! (integers int64, floats float64, tables maps, arrays `[]interface {}`, datetimes `time.Time`).
//! Error texts follow the decoder's `toml: line N: …` form for the common mistakes.

use crate::value::{IntKind, MapRef, Value};

type Parsed<T> = Result<T, String>;

/// Parses a document into its top-level table.
pub fn parse(text: &str) -> Parsed<Value> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        defined: std::collections::HashSet::new(),
    };
    let root = Value::empty_map();
    let Value::Map(root_map) = &root else {
        return Err("toml: internal error".to_string());
    };
    let mut current = root_map.clone();
    loop {
        parser.skip_blank_lines();
        let Some(c) = parser.peek() else {
            break;
        };
        if c == '[' {
            current = parser.header(root_map)?;
        } else {
            parser.key_value(&current)?;
        }
    }
    Ok(root)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    /// Tables named by a `[header]`, which may not be named again.
    defined: std::collections::HashSet<String>,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn error<T>(&self, message: impl AsRef<str>) -> Parsed<T> {
        Err(format!("toml: line {}: {}", self.line, message.as_ref()))
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    fn skip_comment(&mut self) {
        if self.peek() == Some('#') {
            while !matches!(self.peek(), None | Some('\n')) {
                self.pos += 1;
            }
        }
    }

    fn skip_blank_lines(&mut self) {
        loop {
            self.skip_spaces();
            self.skip_comment();
            match self.peek() {
                Some('\n') => {
                    self.next();
                }
                Some('\r') => self.pos += 1,
                _ => return,
            }
        }
    }

    fn end_of_line(&mut self) -> Parsed<()> {
        self.skip_spaces();
        self.skip_comment();
        match self.peek() {
            None => Ok(()),
            Some('\r' | '\n') => {
                self.skip_blank_lines();
                Ok(())
            }
            Some(c) => self.error(format!("expected a top-level item to end with a newline, comment, or EOF, but got '{c}' instead")),
        }
    }

    fn key(&mut self) -> Parsed<Vec<String>> {
        let mut parts = Vec::new();
        loop {
            self.skip_spaces();
            let part = match self.peek() {
                Some('"') => {
                    self.next();
                    self.basic_string()?
                }
                Some('\'') => {
                    self.next();
                    self.literal_string()?
                }
                _ => {
                    let start = self.pos;
                    while self
                        .peek()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    {
                        self.pos += 1;
                    }
                    if start == self.pos {
                        return match self.peek() {
                            None => self.error("unexpected EOF; expected key separator '='"),
                            Some(c) => {
                                self.error(format!("unexpected '{c}': key name appears blank"))
                            }
                        };
                    }
                    self.chars[start..self.pos].iter().collect()
                }
            };
            parts.push(part);
            self.skip_spaces();
            if self.peek() == Some('.') {
                self.pos += 1;
                continue;
            }
            return Ok(parts);
        }
    }

    fn header(&mut self, root: &MapRef) -> Parsed<MapRef> {
        self.pos += 1;
        let array = self.peek() == Some('[');
        if array {
            self.pos += 1;
        }
        let path = self.key()?;
        for _ in 0..(1 + usize::from(array)) {
            if self.next() != Some(']') {
                return self.error("expected ']' to close the table name");
            }
        }
        let line = self.line;
        self.end_of_line()?;
        if !array && !self.defined.insert(path.join("\u{0}")) {
            return Err(format!(
                "toml: line {line}: Key '{}' has already been defined.",
                path.join(".")
            ));
        }
        let (last, parents) = path.split_last().ok_or("toml: empty table name")?;
        let parent = self.descend(root, parents)?;
        let mut entries = parent.entries.borrow_mut();
        if array {
            let table = Value::empty_map();
            let list = match entries.get(last) {
                Some(Value::List(list)) => {
                    let mut items = list.items.clone();
                    items.push(table.clone());
                    items
                }
                Some(_) => return self.error(format!("Key '{last}' has already been defined.")),
                None => vec![table.clone()],
            };
            entries.insert(last.clone(), Value::list(list));
            return table
                .as_map()
                .ok_or_else(|| "toml: internal error".to_string());
        }
        match entries.get(last) {
            Some(existing) => existing.as_map().ok_or_else(|| {
                format!(
                    "toml: line {}: Key '{last}' has already been defined.",
                    self.line
                )
            }),
            None => {
                let table = Value::empty_map();
                entries.insert(last.clone(), table.clone());
                table
                    .as_map()
                    .ok_or_else(|| "toml: internal error".to_string())
            }
        }
    }

    /// The table at `path` below `table`, created as needed (the last element of an array of
    /// tables when the path goes through one).
    fn descend(&self, table: &MapRef, path: &[String]) -> Parsed<MapRef> {
        let mut current = table.clone();
        for part in path {
            let next = current.entries.borrow().get(part).cloned();
            current = match next {
                Some(Value::List(list)) => match list.items.last().and_then(Value::as_map) {
                    Some(map) => map,
                    None => return self.error(format!("Key '{part}' has already been defined.")),
                },
                Some(other) => match other.as_map() {
                    Some(map) => map,
                    None => return self.error(format!("Key '{part}' has already been defined.")),
                },
                None => {
                    let table = Value::empty_map();
                    current
                        .entries
                        .borrow_mut()
                        .insert(part.clone(), table.clone());
                    table.as_map().ok_or("toml: internal error")?
                }
            };
        }
        Ok(current)
    }

    fn key_value(&mut self, table: &MapRef) -> Parsed<()> {
        let path = self.key()?;
        self.skip_spaces();
        if self.next() != Some('=') {
            return self.error("unexpected EOF; expected key separator '='");
        }
        self.skip_spaces();
        let value = self.value(path.last().map(String::as_str).unwrap_or(""))?;
        let (last, parents) = path.split_last().ok_or("toml: empty key")?;
        let parent = self.descend(table, parents)?;
        if parent.entries.borrow().contains_key(last) {
            let key = path.join(".");
            return Err(format!(
                "toml: line {} (last key \"{key}\"): Key '{key}' has already been defined.",
                self.line
            ));
        }
        parent.entries.borrow_mut().insert(last.clone(), value);
        self.end_of_line()
    }

    fn value(&mut self, key: &str) -> Parsed<Value> {
        match self.peek() {
            None | Some('\n') => Err(format!(
                "toml: line {} (last key \"{key}\"): unexpected EOF; expected value",
                self.line
            )),
            Some('"') => {
                self.next();
                if self.peek() == Some('"') && self.chars.get(self.pos + 1) == Some(&'"') {
                    self.pos += 2;
                    return Ok(Value::string(self.multiline('"')?));
                }
                Ok(Value::string(self.basic_string()?))
            }
            Some('\'') => {
                self.next();
                if self.peek() == Some('\'') && self.chars.get(self.pos + 1) == Some(&'\'') {
                    self.pos += 2;
                    return Ok(Value::string(self.multiline('\'')?));
                }
                Ok(Value::string(self.literal_string()?))
            }
            Some('[') => {
                self.next();
                let mut items = Vec::new();
                loop {
                    self.skip_blank_lines();
                    if self.peek() == Some(']') {
                        self.next();
                        return Ok(Value::list(items));
                    }
                    items.push(self.value(key)?);
                    self.skip_blank_lines();
                    match self.next() {
                        Some(',') => {}
                        Some(']') => return Ok(Value::list(items)),
                        _ => return self.error("expected a comma (',') or array terminator (']')"),
                    }
                }
            }
            Some('{') => {
                self.next();
                let table = Value::empty_map();
                let map = table.as_map().ok_or("toml: internal error")?;
                loop {
                    self.skip_spaces();
                    if self.peek() == Some('}') {
                        self.next();
                        return Ok(table);
                    }
                    let path = self.key()?;
                    self.skip_spaces();
                    if self.next() != Some('=') {
                        return self.error("expected key separator '='");
                    }
                    self.skip_spaces();
                    let value = self.value(key)?;
                    let (last, parents) = path.split_last().ok_or("toml: empty key")?;
                    self.descend(&map, parents)?
                        .entries
                        .borrow_mut()
                        .insert(last.clone(), value);
                    self.skip_spaces();
                    match self.next() {
                        Some(',') => {}
                        Some('}') => return Ok(table),
                        _ => {
                            return self
                                .error("expected a comma or an inline table terminator '}'");
                        }
                    }
                }
            }
            Some(_) => self.bare_value(),
        }
    }

    fn bare_value(&mut self) -> Parsed<Value> {
        let start = self.pos;
        while self.peek().is_some_and(|c| {
            !matches!(c, ',' | ']' | '}' | '\n' | '\r' | '#')
                && (c != ' ' || self.in_datetime(start))
        }) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let text = text.trim_end();
        match text {
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            "inf" | "+inf" => return Ok(Value::float(f64::INFINITY)),
            "-inf" => return Ok(Value::float(f64::NEG_INFINITY)),
            "nan" | "+nan" | "-nan" => return Ok(Value::float(f64::NAN)),
            _ => {}
        }
        if let Some(i) = parse_toml_int(text) {
            return Ok(Value::Int(i, IntKind::Int64));
        }
        if text.contains(['.', 'e', 'E'])
            && !text.contains(':')
            && let Ok(f) = text.replace('_', "").parse::<f64>()
        {
            return Ok(Value::float(f));
        }
        if let Ok(stamp) = text.replace(' ', "T").parse::<jiff::Timestamp>() {
            let zoned = stamp.to_zoned(jiff::tz::TimeZone::UTC);
            return Ok(Value::Object(std::rc::Rc::new(
                crate::funcs::sprig::GoTime(zoned),
            )));
        }
        self.error(format!("expected value but found \"{text}\" instead"))
    }

    /// A space is part of a datetime between its date and time.
    fn in_datetime(&self, start: usize) -> bool {
        let so_far: String = self.chars[start..self.pos].iter().collect();
        so_far.len() == 10
            && so_far.as_bytes()[4] == b'-'
            && self
                .chars
                .get(self.pos + 1)
                .is_some_and(char::is_ascii_digit)
    }

    fn basic_string(&mut self) -> Parsed<String> {
        let mut out = String::new();
        loop {
            match self.next() {
                None | Some('\n') => return self.error("unexpected EOF; expected '\"'"),
                Some('"') => return Ok(out),
                Some('\\') => out.push(self.escape()?),
                Some(c) => out.push(c),
            }
        }
    }

    fn escape(&mut self) -> Parsed<char> {
        Ok(match self.next() {
            Some('b') => '\u{8}',
            Some('t') => '\t',
            Some('n') => '\n',
            Some('f') => '\u{c}',
            Some('r') => '\r',
            Some('"') => '"',
            Some('\\') => '\\',
            Some(kind @ ('u' | 'U')) => {
                let width = if kind == 'u' { 4 } else { 8 };
                let mut code = 0u32;
                for _ in 0..width {
                    let digit = self.next().and_then(|c| c.to_digit(16));
                    let Some(digit) = digit else {
                        return self.error("invalid escape in string");
                    };
                    code = code * 16 + digit;
                }
                char::from_u32(code).unwrap_or('\u{fffd}')
            }
            _ => return self.error("invalid escape in string"),
        })
    }

    fn literal_string(&mut self) -> Parsed<String> {
        let mut out = String::new();
        loop {
            match self.next() {
                None | Some('\n') => return self.error("unexpected EOF; expected \"'\""),
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn multiline(&mut self, quote: char) -> Parsed<String> {
        if self.peek() == Some('\n') {
            self.next();
        }
        let mut out = String::new();
        loop {
            if self.peek() == Some(quote)
                && self.chars.get(self.pos + 1) == Some(&quote)
                && self.chars.get(self.pos + 2) == Some(&quote)
            {
                self.pos += 3;
                return Ok(out);
            }
            match self.next() {
                None => return self.error("unexpected EOF in a multi-line string"),
                Some('\\') if quote == '"' => {
                    if matches!(self.peek(), Some('\n' | ' ' | '\t' | '\r')) {
                        while matches!(self.peek(), Some('\n' | ' ' | '\t' | '\r')) {
                            self.next();
                        }
                    } else {
                        out.push(self.escape()?);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }
}

fn parse_toml_int(text: &str) -> Option<i64> {
    let clean = text.replace('_', "");
    if clean.contains(['.', 'e', 'E', ':']) && !clean.starts_with("0x") {
        return None;
    }
    let (negative, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let magnitude = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = body.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if let Some(bin) = body.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else {
        if body.is_empty()
            || !body.bytes().all(|b| b.is_ascii_digit())
            || (body.len() > 1 && body.starts_with('0'))
        {
            return None;
        }
        body.parse().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}
