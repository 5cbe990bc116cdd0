//! Whether go-yaml v3 may print a string unquoted: only when the same text, read back as a plain
//! scalar, is a string again. v3 reads YAML 1.2-style values (`true`/`false` in three casings,
//! `null`/`~`/empty, ints in any Go base, floats, `.inf`/`.nan`, timestamps), and still quotes
//! what YAML 1.1 readers would take for a bool (`yes`, `on`, `n`, …) or a base-60 number (`1:20`).

use std::sync::LazyLock;

use regex::Regex;

/// v3 prints the string plain when this holds (and the text's characters allow it).
pub(super) fn plain_reads_back_as_string(text: &str) -> bool {
    !resolves_to_other_type(text) && !is_yaml11_bool(text) && !is_base60_float(text)
}

const SPECIAL_WORDS: &[&str] = &[
    "true", "True", "TRUE", "false", "False", "FALSE", "", "~", "null", "Null", "NULL", ".nan",
    ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
];

fn resolves_to_other_type(text: &str) -> bool {
    let Some(&first) = text.as_bytes().first() else {
        return true; // the empty string is null
    };
    let could_be_special = first.is_ascii_digit() || b"+-.yYnNtTfFoO~".contains(&first);
    if !could_be_special {
        return false;
    }
    if SPECIAL_WORDS.contains(&text) {
        return true;
    }
    match first {
        b'.' => go_float_in_range(text) && is_decimal_float(text),
        b'+' | b'-' | b'0'..=b'9' => is_timestamp(text) || is_number(&text.replace('_', "")),
        _ => false,
    }
}

/// Ints (any base Go's `ParseInt(s, 0, 64)` or `ParseUint` reads, in range), YAML-style
/// floats in range, and the `0b`/`0o` forms whose digits carry their own sign.
fn is_number(plain: &str) -> bool {
    if go_int(plain) {
        return true;
    }
    if is_decimal_float(plain) && go_float_in_range(plain) {
        return true;
    }
    for (prefix, base) in [("0b", 2), ("0o", 8)] {
        if let Some(digits) = plain.strip_prefix(prefix) {
            return signed_in_base(digits, base);
        }
        if let Some(digits) = plain.strip_prefix('-').and_then(|p| p.strip_prefix(prefix)) {
            return signed_in_base(&format!("-{digits}"), base);
        }
    }
    false
}

/// `strconv.ParseInt(s, 0, 64)` or `strconv.ParseUint(s, 0, 64)` succeeds.
fn go_int(text: &str) -> bool {
    let (sign, rest) = split_sign(text);
    let (base, digits) = if let Some(d) = strip_prefix_ci(rest, "0x") {
        (16, d)
    } else if let Some(d) = strip_prefix_ci(rest, "0o") {
        (8, d)
    } else if let Some(d) = strip_prefix_ci(rest, "0b") {
        (2, d)
    } else if rest.len() > 1 && rest.starts_with('0') {
        (8, &rest[1..])
    } else {
        (10, rest)
    };
    let Some(magnitude) = magnitude(digits, base) else {
        return false;
    };
    match sign {
        Some('-') => magnitude <= 1u128 << 63,
        Some(_) => magnitude <= i64::MAX as u128,
        None => magnitude <= u128::from(u64::MAX),
    }
}

/// `strconv.ParseInt(s, base, 64)` or, unsigned, `ParseUint` succeeds.
fn signed_in_base(text: &str, base: u32) -> bool {
    let (sign, digits) = split_sign(text);
    let Some(magnitude) = magnitude(digits, base) else {
        return false;
    };
    match sign {
        Some('-') => magnitude <= 1u128 << 63,
        Some(_) => magnitude <= i64::MAX as u128,
        None => magnitude <= u128::from(u64::MAX),
    }
}

fn split_sign(text: &str) -> (Option<char>, &str) {
    match text.as_bytes().first() {
        Some(b'+') => (Some('+'), &text[1..]),
        Some(b'-') => (Some('-'), &text[1..]),
        _ => (None, text),
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// The value of `digits` in `base`, saturating above u64's range; `None` when not a number.
fn magnitude(digits: &str, base: u32) -> Option<u128> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u128 = 0;
    for c in digits.chars() {
        let digit = c.to_digit(base)?;
        value = (value * u128::from(base) + u128::from(digit)).min(u128::from(u64::MAX) + 1);
    }
    Some(value)
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_decimal_float(text: &str) -> bool {
    static FLOAT: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").ok());
    FLOAT.as_ref().is_some_and(|re| re.is_match(text))
}

/// A decimal float text Go's `ParseFloat` reads without a range error (underflow to zero is fine).
fn go_float_in_range(text: &str) -> bool {
    text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// YAML 1.1's base-60 floats (`190:20:30.15`), which v3 no longer reads but still quotes.
fn is_base60_float(text: &str) -> bool {
    static BASE60: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").ok());
    BASE60.as_ref().is_some_and(|re| re.is_match(text))
}

fn is_yaml11_bool(text: &str) -> bool {
    matches!(
        text,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// A timestamp in one of the layouts go-yaml v3 tries with Go's `time.Parse`:
/// `2006-1-2T15:4:5.999999999Z07:00` (also with a lower-case `t`), `2006-1-2 15:4:5.999999999`
/// and `2006-1-2`, with Go's range checks (a February 30th is not a date, so it stays a string).
fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 5 || !bytes[..4].iter().all(u8::is_ascii_digit) || bytes[4] != b'-' {
        return false;
    }
    let mut cursor = Cursor { rest: bytes };
    let Some(date_ok) = cursor.date() else {
        return false;
    };
    if !date_ok {
        return false;
    }
    if cursor.rest.is_empty() {
        return true;
    }
    let with_zone = match cursor.rest[0] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    cursor.rest = &cursor.rest[1..];
    if !with_zone {
        // A space in a Go layout matches any run of spaces.
        while cursor.rest.first() == Some(&b' ') {
            cursor.rest = &cursor.rest[1..];
        }
    }
    if !cursor.clock() {
        return false;
    }
    if with_zone {
        cursor.zone() && cursor.rest.is_empty()
    } else {
        cursor.rest.is_empty()
    }
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    /// One or two digits, as Go reads a `1`, `2`, `15`, `4` or `5` layout element.
    fn short_number(&mut self) -> Option<u32> {
        let first = *self.rest.first().filter(|b| b.is_ascii_digit())?;
        let mut value = u32::from(first - b'0');
        let mut used = 1;
        if let Some(second) = self.rest.get(1).filter(|b| b.is_ascii_digit()) {
            value = value * 10 + u32::from(second - b'0');
            used = 2;
        }
        self.rest = &self.rest[used..];
        Some(value)
    }

    fn literal(&mut self, byte: u8) -> Option<()> {
        (self.rest.first() == Some(&byte)).then(|| self.rest = &self.rest[1..])
    }

    /// `2006-1-2`: `Some(false)` when it is shaped like a date but out of range.
    fn date(&mut self) -> Option<bool> {
        let year: u32 = std::str::from_utf8(&self.rest[..4]).ok()?.parse().ok()?;
        self.rest = &self.rest[4..];
        self.literal(b'-')?;
        let month = self.short_number()?;
        self.literal(b'-')?;
        let day = self.short_number()?;
        Some((1..=12).contains(&month) && day >= 1 && day <= days_in_month(month, year))
    }

    /// `15:4:5` with an optional fraction (`.` or `,` and digits).
    fn clock(&mut self) -> bool {
        let parsed = (|| {
            let hour = self.short_number()?;
            self.literal(b':')?;
            let minute = self.short_number()?;
            self.literal(b':')?;
            let second = self.short_number()?;
            Some(hour < 24 && minute < 60 && second < 60)
        })();
        if parsed != Some(true) {
            return false;
        }
        if self.rest.len() >= 2
            && matches!(self.rest[0], b'.' | b',')
            && self.rest[1].is_ascii_digit()
        {
            let digits = self.rest[1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            self.rest = &self.rest[1 + digits..];
        }
        true
    }

    /// `Z07:00`: `Z`, or a sign, two-digit hours (at most 24), `:` and two-digit minutes (at
    /// most 60).
    fn zone(&mut self) -> bool {
        if self.literal(b'Z').is_some() {
            return true;
        }
        let r = self.rest;
        if r.len() < 6 || !matches!(r[0], b'+' | b'-') || r[3] != b':' {
            return false;
        }
        let two = |a: u8, b: u8| {
            (a.is_ascii_digit() && b.is_ascii_digit())
                .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        };
        match (two(r[1], r[2]), two(r[4], r[5])) {
            (Some(hours), Some(minutes)) if hours <= 24 && minutes <= 60 => {
                self.rest = &r[6..];
                true
            }
            _ => false,
        }
    }
}

fn days_in_month(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_go_prints_plain() {
        // Each of these came back unquoted from Go's toYamlPretty.
        for text in [
            "tRue",
            "nUll",
            ".",
            "1e999",
            "-",
            "+",
            "1.2.3",
            "2021-02-30",
            "12021-01-01",
            "<<",
            "=",
            "0x",
            "0b",
            "0o8",
            "foo",
            "v1.2.3",
        ] {
            assert!(plain_reads_back_as_string(text), "{text}");
        }
    }

    #[test]
    fn strings_go_quotes() {
        for text in [
            "",
            "true",
            "True",
            "TRUE",
            "null",
            "~",
            "Null",
            "NULL",
            ".nan",
            ".inf",
            "-.inf",
            "+.INF",
            ".5",
            ".5e3",
            "1e-400",
            "0x1F",
            "0o17",
            "0b101",
            "-0b101",
            "0777",
            "1_000",
            "+1",
            "1:20",
            "-1:20:30.5",
            "2021-1-2",
            "2021-01-01T10:00:00Z",
            "2021-01-01 10:00:00",
            "2021-01-01t1:2:3.5+01:00",
            "y",
            "Y",
            "on",
            "Off",
            "NO",
            "1e5",
            "1E+5",
            "-0",
            "-0.0",
            "99999999999999999999",
            "18446744073709551615",
            "-9223372036854775809",
            "0.",
            "1.",
            "+.5",
            "00",
            "09.5",
            "1_0.5",
            "08",
        ] {
            assert!(!plain_reads_back_as_string(text), "{text}");
        }
    }
}
