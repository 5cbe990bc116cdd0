//! The syntax-error texts of Go's `encoding/json` scanner, for `fromJson`'s `Error` entry.

/// Scans `text` as Go's decoder would and returns its first syntax error, if any.
pub fn syntax_error(text: &str) -> Option<String> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        pos: 0,
    };
    scanner.skip_space();
    if let Err(e) = scanner.value("looking for beginning of value", 0) {
        return Some(e);
    }
    scanner.skip_space();
    if let Some(&c) = scanner.bytes.get(scanner.pos) {
        return Some(format!(
            "invalid character {} after top-level value",
            quote_char(c)
        ));
    }
    None
}

fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        c if c.is_ascii() => {
            let quoted = crate::fmt::quote_go(&(c as char).to_string());
            format!("'{}'", &quoted[1..quoted.len() - 1])
        }
        c => format!("'\\x{c:02x}'"),
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

type Scan = Result<(), String>;

const END: &str = "unexpected end of JSON input";

impl Scanner<'_> {
    fn skip_space(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn next(&mut self) -> Result<u8, String> {
        let c = *self.bytes.get(self.pos).ok_or(END)?;
        self.pos += 1;
        Ok(c)
    }

    fn value(&mut self, context: &str, depth: usize) -> Scan {
        if depth > 10_000 {
            return Err("exceeded max depth".to_string());
        }
        let c = self.next()?;
        match c {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(c),
            b't' => self.literal(b"rue", "true"),
            b'f' => self.literal(b"alse", "false"),
            b'n' => self.literal(b"ull", "null"),
            other => Err(format!("invalid character {} {context}", quote_char(other))),
        }
    }

    fn literal(&mut self, rest: &[u8], word: &str) -> Scan {
        for &expected in rest {
            let c = self.next()?;
            if c != expected {
                return Err(format!(
                    "invalid character {} in literal {word} (expecting {})",
                    quote_char(c),
                    quote_char(expected)
                ));
            }
        }
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Scan {
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_space();
            match self.next()? {
                b'"' => self.string()?,
                other => {
                    return Err(format!(
                        "invalid character {} looking for beginning of object key string",
                        quote_char(other)
                    ));
                }
            }
            self.skip_space();
            match self.next()? {
                b':' => {}
                other => {
                    return Err(format!(
                        "invalid character {} after object key",
                        quote_char(other)
                    ));
                }
            }
            self.skip_space();
            self.value("looking for beginning of value", depth + 1)?;
            self.skip_space();
            match self.next()? {
                b',' => {}
                b'}' => return Ok(()),
                other => {
                    return Err(format!(
                        "invalid character {} after object key:value pair",
                        quote_char(other)
                    ));
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Scan {
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_space();
            self.value("looking for beginning of value", depth + 1)?;
            self.skip_space();
            match self.next()? {
                b',' => {}
                b']' => return Ok(()),
                other => {
                    return Err(format!(
                        "invalid character {} after array element",
                        quote_char(other)
                    ));
                }
            }
        }
    }

    fn string(&mut self) -> Scan {
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let c = self.next()?;
                            if !c.is_ascii_hexdigit() {
                                return Err(format!(
                                    "invalid character {} in \\u hexadecimal character escape",
                                    quote_char(c)
                                ));
                            }
                        }
                    }
                    other => {
                        return Err(format!(
                            "invalid character {} in string escape code",
                            quote_char(other)
                        ));
                    }
                },
                c if c < 0x20 => {
                    return Err(format!(
                        "invalid character {} in string literal",
                        quote_char(c)
                    ));
                }
                _ => {}
            }
        }
    }

    fn number(&mut self, first: u8) -> Scan {
        let mut c = first;
        if c == b'-' {
            c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(format!(
                    "invalid character {} in numeric literal",
                    quote_char(c)
                ));
            }
        }
        if c != b'0' {
            while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            let c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(format!(
                    "invalid character {} after decimal point in numeric literal",
                    quote_char(c)
                ));
            }
            while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            let mut c = self.next()?;
            if c == b'+' || c == b'-' {
                c = self.next()?;
            }
            if !c.is_ascii_digit() {
                return Err(format!(
                    "invalid character {} in exponent of numeric literal",
                    quote_char(c)
                ));
            }
            while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::syntax_error;

    #[test]
    fn go_texts() {
        assert_eq!(
            syntax_error("bad").unwrap(),
            "invalid character 'b' looking for beginning of value"
        );
        assert_eq!(
            syntax_error("{\"a\":1").unwrap(),
            "unexpected end of JSON input"
        );
        assert_eq!(
            syntax_error("{\"a\" 1}").unwrap(),
            "invalid character '1' after object key"
        );
        assert_eq!(
            syntax_error("[1] x").unwrap(),
            "invalid character 'x' after top-level value"
        );
        assert_eq!(syntax_error("tru").unwrap(), "unexpected end of JSON input");
        assert!(syntax_error("{\"a\":[1,2.5e3,true,null,\"x\\n\"]}").is_none());
    }
}
