//! Go's literal syntax: integer/float constants as `strconv.ParseInt(s, 0, 64)`,
//! `ParseUint` and `ParseFloat` read them, and `strconv.Unquote` for string and rune literals.

use crate::ast::Number;

/// Builds a number constant with Go's rules for which kinds it may be used as.
pub fn parse_number(text: &str, is_char: bool) -> Result<Number, String> {
    let mut number = Number {
        text: text.to_string(),
        is_int: false,
        is_uint: false,
        is_float: false,
        int: 0,
        uint: 0,
        float: 0.0,
    };
    if is_char {
        let Some(value) = unquote(text).and_then(|s| {
            let mut chars = s.chars();
            let c = chars.next()?;
            chars.next().is_none().then_some(c)
        }) else {
            return Err(format!("malformed character constant: {text}"));
        };
        number.int = i64::from(u32::from(value));
        number.is_int = true;
        number.uint = u64::from(u32::from(value));
        number.is_uint = true;
        number.float = f64::from(u32::from(value));
        number.is_float = true;
        return Ok(number);
    }
    if text.ends_with('i') {
        return Err(format!("complex constants are not supported: {text}"));
    }
    if let Some(u) = parse_uint(text) {
        number.is_uint = true;
        number.uint = u;
    }
    if let Some(i) = parse_int(text) {
        number.is_int = true;
        number.int = i;
        if i == 0 {
            number.is_uint = true;
            number.uint = 0;
        }
    }
    if number.is_int {
        number.is_float = true;
        number.float = number.int as f64;
    } else if number.is_uint {
        number.is_float = true;
        number.float = number.uint as f64;
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", crate::fmt::quote_go(text)));
        }
        number.is_float = true;
        number.float = f;
        if !number.is_int
            && f.fract() == 0.0
            && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
        {
            number.is_int = true;
            number.int = f as i64;
        }
        if !number.is_uint && f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f) {
            number.is_uint = true;
            number.uint = f as u64;
        }
    }
    if !number.is_int && !number.is_uint && !number.is_float {
        return Err(format!(
            "illegal number syntax: {}",
            crate::fmt::quote_go(text)
        ));
    }
    Ok(number)
}

/// Splits a Go integer literal into its radix and digits, checking `_` placement.
fn radix_digits(text: &str) -> Option<(u32, String)> {
    let lower = text.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest.to_string(), true)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest.to_string(), true)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower, false)
    };
    if !underscores_ok(&digits, prefixed) {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    Some((radix, clean))
}

/// Go allows `_` only between digits, or right after a base prefix.
fn underscores_ok(digits: &str, prefixed: bool) -> bool {
    if !digits.contains('_') {
        return true;
    }
    let bytes = digits.as_bytes();
    let mut previous_digit = prefixed;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            if !(previous_digit || prefixed && i == 0) {
                return false;
            }
            previous_digit = false;
        } else {
            previous_digit = true;
        }
    }
    previous_digit
}

pub fn parse_uint(text: &str) -> Option<u64> {
    if text.starts_with(['+', '-']) {
        return None;
    }
    let (radix, digits) = radix_digits(text)?;
    u64::from_str_radix(&digits, radix).ok()
}

pub fn parse_int(text: &str) -> Option<i64> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = parse_uint(body)?;
    if negative {
        if magnitude <= 1u64 << 63 {
            Some((magnitude as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's rule for `_` in number literals: only between digits, or after a base prefix.
fn go_underscores_ok(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut saw = b'^';
    let hex = bytes.len() >= 2 && bytes[0] == b'0' && matches!(bytes[1] | 0x20, b'x');
    if bytes.len() >= 2 && bytes[0] == b'0' && matches!(bytes[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
    }
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseFloat(text, 64)` for the literal forms the lexer produces.
pub fn parse_float(text: &str) -> Option<f64> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let value = if body.len() > 2 && body.as_bytes()[..2].eq_ignore_ascii_case(b"0x") {
        parse_hex_float(&body[2..])?
    } else {
        if body.contains('_') && !go_underscores_ok(body) {
            return None;
        }
        let clean: String = body.chars().filter(|&c| c != '_').collect();
        if clean.is_empty() || !clean.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return None;
        }
        clean.parse::<f64>().ok()?
    };
    Some(if negative { -value } else { value })
}

fn parse_hex_float(body: &str) -> Option<f64> {
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    // Go requires the binary exponent of a hexadecimal float.
    let i = clean.find(['p', 'P'])?;
    let (mantissa, exponent) = (&clean[..i], clean[i + 1..].parse::<i32>().ok()?);
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exponent))
}

/// Go's `strconv.Unquote` for `"…"`, `` `…` `` and `'…'` literals.
pub fn unquote(text: &str) -> Option<String> {
    let quote = text.chars().next()?;
    if text.len() < 2 || !text.ends_with(quote) {
        return None;
    }
    let body = &text[1..text.len() - 1];
    match quote {
        '`' => {
            if body.contains('`') {
                return None;
            }
            Some(body.replace('\r', ""))
        }
        '"' | '\'' => unescape(body, quote),
        _ => None,
    }
}

fn unescape(body: &str, quote: char) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == quote || c == '\n' {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = chars.next()?;
        match escaped {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '\'' if quote == '\'' => out.push('\''),
            '"' if quote == '"' => out.push('"'),
            '0'..='7' => {
                let mut value = escaped.to_digit(8)?;
                for _ in 0..2 {
                    value = value * 8 + chars.next()?.to_digit(8)?;
                }
                if value > 255 {
                    return None;
                }
                // Octal and \x escapes are bytes; templates hold text, so a byte above 0x7f
                // becomes the replacement character, as an invalid UTF-8 byte prints.
                out.push(
                    char::from_u32(value)
                        .filter(|c| c.is_ascii())
                        .unwrap_or('\u{fffd}'),
                );
            }
            'x' | 'u' | 'U' => {
                let width = match escaped {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut value = 0u32;
                for _ in 0..width {
                    value = value * 16 + chars.next()?.to_digit(16)?;
                }
                if escaped == 'x' {
                    out.push(
                        char::from_u32(value)
                            .filter(|c| c.is_ascii())
                            .unwrap_or('\u{fffd}'),
                    );
                } else {
                    out.push(char::from_u32(value)?);
                }
            }
            _ => return None,
        }
    }
    Some(out)
}
