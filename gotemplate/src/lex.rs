//! The lexer: template text to tokens, following Go's `text/template/parse` scanner, including
//! its trim markers (`{{- ` / ` -}}`), comment rules and error texts.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Error,
    Eof,
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Assign,
    Declare,
    Pipe,
    LeftParen,
    RightParen,
    Char,
    Bool,
    CharConstant,
    Complex,
    Number,
    String,
    RawString,
    Identifier,
    Field,
    Variable,
    // Keywords.
    Dot,
    Nil,
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

impl TokenKind {
    fn is_keyword(self) -> bool {
        self as u8 >= TokenKind::Dot as u8
    }
}

#[derive(Debug, Clone)]
pub struct Token {
    pub kind: TokenKind,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

impl Token {
    /// How Go's parser names a token in "unexpected …" errors.
    pub fn describe(&self) -> String {
        match self.kind {
            TokenKind::Eof => "EOF".to_string(),
            TokenKind::Error => self.val.clone(),
            kind if kind.is_keyword() => format!("<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                format!("{}...", crate::fmt::quote_go(&head))
            }
            _ => crate::fmt::quote_go(&self.val),
        }
    }
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

pub fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: i32,
    tokens: Vec<Token>,
}

/// Scans the whole text. The token list always ends with `Eof` or `Error`.
pub fn lex(input: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        input,
        pos: 0,
        start: 0,
        line: 1,
        start_line: 1,
        paren_depth: 0,
        tokens: Vec::new(),
    };
    lexer.run();
    lexer.tokens
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    fn emit(&mut self, kind: TokenKind) {
        self.tokens.push(Token {
            kind,
            pos: self.start,
            val: self.input[self.start..self.pos].to_string(),
            line: self.start_line,
        });
        self.ignore();
    }

    fn ignore(&mut self) {
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn error(&mut self, message: String) {
        self.tokens.push(Token {
            kind: TokenKind::Error,
            pos: self.start,
            val: message,
            line: self.start_line,
        });
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn run(&mut self) {
        loop {
            if !self.lex_text() {
                return;
            }
            if !self.lex_left_delim() {
                return;
            }
        }
    }

    /// Returns false at the end of input.
    fn lex_text(&mut self) -> bool {
        let Some(x) = self.rest().find(LEFT) else {
            self.pos = self.input.len();
            self.line += self.input[self.start..].matches('\n').count();
            if self.pos > self.start {
                self.emit(TokenKind::Text);
            }
            self.emit(TokenKind::Eof);
            return false;
        };
        if x > 0 {
            let delim_pos = self.pos + x;
            let text = &self.input[self.start..delim_pos];
            let end = if has_left_trim(&self.input[delim_pos + LEFT.len()..]) {
                self.start + text.trim_end_matches(is_space).len()
            } else {
                delim_pos
            };
            self.pos = end;
            self.line += self.input[self.start..self.pos].matches('\n').count();
            if end > self.start {
                self.emit(TokenKind::Text);
            }
            self.line += self.input[end..delim_pos].matches('\n').count();
            self.pos = delim_pos;
            self.start = delim_pos;
            self.start_line = self.line;
        }
        true
    }

    fn lex_left_delim(&mut self) -> bool {
        self.pos += LEFT.len();
        let trim = has_left_trim(self.rest());
        let after_marker = if trim { 2 } else { 0 };
        if self.input[self.pos + after_marker..].starts_with("/*") {
            self.pos += after_marker;
            self.start = self.pos;
            return self.lex_comment();
        }
        self.emit(TokenKind::LeftDelim);
        self.pos += after_marker;
        self.line += self.input[self.start..self.pos].matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn lex_comment(&mut self) -> bool {
        self.pos += 2;
        let Some(x) = self.rest().find("*/") else {
            self.error("unclosed comment".to_string());
            return false;
        };
        self.pos += x + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".to_string());
            return false;
        }
        self.line += self.input[self.start..self.pos].matches('\n').count();
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT.len();
        if trim {
            self.skip_leading_space();
        }
        self.start = self.pos;
        self.start_line = self.line;
        true
    }

    fn skip_leading_space(&mut self) {
        let rest = self.rest();
        let skipped = rest.len() - rest.trim_start_matches(is_space).len();
        let newlines = rest[..skipped].matches('\n').count();
        self.line += newlines;
        self.pos += skipped;
    }

    fn lex_right_delim(&mut self) {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.start = self.pos;
        }
        self.pos += RIGHT.len();
        self.emit(TokenKind::RightDelim);
        if trim {
            self.skip_leading_space();
            self.start = self.pos;
            self.start_line = self.line;
        }
    }

    /// Scans one action; returns false when lexing must stop (error).
    fn lex_inside_action(&mut self) -> bool {
        loop {
            let (delim, _) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.lex_right_delim();
                    return true;
                }
                self.error("unclosed left paren".to_string());
                return false;
            }
            let Some(c) = self.next() else {
                self.error("unclosed action".to_string());
                return false;
            };
            let ok = match c {
                c if is_space(c) => {
                    self.backup(c);
                    self.lex_space()
                }
                '=' => {
                    self.emit(TokenKind::Assign);
                    true
                }
                ':' => {
                    if self.next() != Some('=') {
                        self.error("expected :=".to_string());
                        return false;
                    }
                    self.emit(TokenKind::Declare);
                    true
                }
                '|' => {
                    self.emit(TokenKind::Pipe);
                    true
                }
                '"' => self.lex_quote(),
                '`' => self.lex_raw_quote(),
                '$' => self.lex_field_or_variable(TokenKind::Variable),
                '\'' => self.lex_char(),
                '.' if !self.peek().is_some_and(|d| d.is_ascii_digit()) => {
                    self.lex_field_or_variable(TokenKind::Field)
                }
                '.' | '+' | '-' | '0'..='9' => {
                    self.backup(c);
                    self.lex_number()
                }
                c if is_alphanumeric(c) => {
                    self.backup(c);
                    self.lex_identifier()
                }
                '(' => {
                    self.paren_depth += 1;
                    self.emit(TokenKind::LeftParen);
                    true
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        self.error("unexpected right paren".to_string());
                        return false;
                    }
                    self.emit(TokenKind::RightParen);
                    true
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.emit(TokenKind::Char);
                    true
                }
                c => {
                    self.error(format!(
                        "unrecognized character in action: {}",
                        crate::fmt::format_unicode(c)
                    ));
                    false
                }
            };
            if !ok {
                return false;
            }
            if self
                .tokens
                .last()
                .is_some_and(|t| t.kind == TokenKind::RightDelim)
            {
                return true;
            }
        }
    }

    fn lex_space(&mut self) -> bool {
        let mut count = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.next();
            count += 1;
        }
        let before = self.pos - 1;
        if has_right_trim(&self.input[before..]) && self.input[before + 2..].starts_with(RIGHT) {
            let last = self.input[before..].chars().next().unwrap_or(' ');
            self.backup(last);
            if count == 1 {
                self.lex_right_delim();
                return true;
            }
        }
        self.emit(TokenKind::Space);
        true
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    fn lex_identifier(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if !is_alphanumeric(c) {
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            self.error(format!("bad character {}", crate::fmt::format_unicode(c)));
            return false;
        }
        let word = &self.input[self.start..self.pos];
        let kind = match word {
            "block" => TokenKind::Block,
            "break" => TokenKind::Break,
            "continue" => TokenKind::Continue,
            "define" => TokenKind::Define,
            "else" => TokenKind::Else,
            "end" => TokenKind::End,
            "if" => TokenKind::If,
            "range" => TokenKind::Range,
            "nil" => TokenKind::Nil,
            "template" => TokenKind::Template,
            "with" => TokenKind::With,
            "true" | "false" => TokenKind::Bool,
            _ => TokenKind::Identifier,
        };
        self.emit(kind);
        true
    }

    fn lex_field_or_variable(&mut self, kind: TokenKind) -> bool {
        if self.at_terminator() {
            self.emit(if kind == TokenKind::Variable {
                TokenKind::Variable
            } else {
                TokenKind::Dot
            });
            return true;
        }
        while let Some(c) = self.peek() {
            if !is_alphanumeric(c) {
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            self.error(format!("bad character {}", crate::fmt::format_unicode(c)));
            return false;
        }
        self.emit(kind);
        true
    }

    fn lex_char(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => {
                        self.error("unterminated character constant".to_string());
                        return false;
                    }
                },
                None | Some('\n') => {
                    self.error("unterminated character constant".to_string());
                    return false;
                }
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(TokenKind::CharConstant);
        true
    }

    fn lex_quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => {
                        self.error("unterminated quoted string".to_string());
                        return false;
                    }
                },
                None | Some('\n') => {
                    self.error("unterminated quoted string".to_string());
                    return false;
                }
                Some('"') => break,
                Some(_) => {}
            }
        }
        self.emit(TokenKind::String);
        true
    }

    fn lex_raw_quote(&mut self) -> bool {
        loop {
            match self.next() {
                None => {
                    self.error("unterminated raw quoted string".to_string());
                    return false;
                }
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(TokenKind::RawString);
        true
    }

    fn lex_number(&mut self) -> bool {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            self.error(format!(
                "bad number syntax: {}",
                crate::fmt::quote_go(&text)
            ));
            return false;
        }
        if let Some(sign @ ('+' | '-')) = self.peek() {
            let _ = sign;
            let ok = self.scan_number() && self.input[..self.pos].ends_with('i');
            if !ok {
                let text = self.input[self.start..self.pos].to_string();
                self.error(format!(
                    "bad number syntax: {}",
                    crate::fmt::quote_go(&text)
                ));
                return false;
            }
            self.emit(TokenKind::Complex);
            return true;
        }
        self.emit(TokenKind::Number);
        true
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alphanumeric) {
            self.next();
            return false;
        }
        true
    }
}
