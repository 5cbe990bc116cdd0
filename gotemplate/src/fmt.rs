//! Go's `fmt` for the values templates reach: `print`, `println`, `printf` with every verb and
//! flag, and the `%v` forms of maps (sorted keys), slices, nil and floats (shortest `%g`).

use std::fmt::Write;

use crate::value::Value;

/// `fmt.Sprint`: operands are separated by a space when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        print_value(&mut out, arg, 'v', &Flags::default(), 0);
    }
    out
}

/// `fmt.Sprintln`: always spaces, and a newline at the end.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_value(&mut out, arg, 'v', &Flags::default(), 0);
    }
    out.push('\n');
    out
}

/// What a template action prints for a value: `%v`, except that a pointer to a struct is
/// printed as the struct (text/template dereferences pointers before printing).
pub fn to_string_action(value: &Value) -> String {
    if let Value::Object(object) = value
        && object.type_name().starts_with('*')
        && !object.is_nil()
        && object.display().is_none()
    {
        let mut out = String::new();
        print_value(&mut out, value, 'v', &Flags::default(), 1);
        return out;
    }
    to_string_v(value)
}

/// `%v` of one value.
pub fn to_string_v(value: &Value) -> String {
    let mut out = String::new();
    print_value(&mut out, value, 'v', &Flags::default(), 0);
    out
}

#[derive(Debug, Clone, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
    /// `%+v` / `%#v`.
    plus_v: bool,
    sharp_v: bool,
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut good_arg_num = true;
    let bytes = format.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i] != b'%' {
            i += 1;
        }
        out.push_str(&format[start..i]);
        if i >= bytes.len() {
            break;
        }
        i += 1; // past '%'
        let mut flags = Flags::default();
        while i < bytes.len() {
            match bytes[i] {
                b'#' => flags.sharp = true,
                b'0' => flags.zero = true,
                b'+' => flags.plus = true,
                b'-' => flags.minus = true,
                b' ' => flags.space = true,
                _ => break,
            }
            i += 1;
        }
        // Argument index for the width.
        let (new_arg, new_i, found) = arg_index(format, i, arg_num, args.len());
        if found.is_some() {
            reordered = true;
            good_arg_num = found == Some(true);
        }
        arg_num = new_arg;
        i = new_i;
        if i < bytes.len() && bytes[i] == b'*' {
            i += 1;
            match int_from_arg(args, arg_num) {
                Some(w) => {
                    if w < 0 {
                        flags.minus = true;
                        flags.width = Some(w.unsigned_abs() as usize);
                    } else {
                        flags.width = Some(w as usize);
                    }
                    if flags.width.is_some_and(|w| w > 1_000_000) {
                        out.push_str("%!(BADWIDTH)");
                        flags.width = None;
                    }
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
            arg_num += 1;
            reordered = false;
        } else {
            let (n, ni) = parse_num(format, i);
            if ni > i {
                flags.width = Some(n);
                if reordered {
                    good_arg_num = false;
                }
            }
            i = ni;
        }
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            if reordered {
                good_arg_num = false;
            }
            let (new_arg, new_i, found) = arg_index(format, i, arg_num, args.len());
            if found.is_some() {
                reordered = true;
                good_arg_num = found == Some(true);
            }
            arg_num = new_arg;
            i = new_i;
            if i < bytes.len() && bytes[i] == b'*' {
                i += 1;
                match int_from_arg(args, arg_num) {
                    Some(p) if p >= 0 => flags.precision = Some(p as usize),
                    Some(_) => flags.precision = None,
                    None => out.push_str("%!(BADPREC)"),
                }
                arg_num += 1;
                reordered = false;
            } else {
                let (n, ni) = parse_num(format, i);
                flags.precision = Some(if ni > i { n } else { 0 });
                i = ni;
            }
        }
        if !reordered {
            let (new_arg, new_i, found) = arg_index(format, i, arg_num, args.len());
            if found.is_some() {
                reordered = true;
                good_arg_num = found == Some(true);
            }
            arg_num = new_arg;
            i = new_i;
        }
        let Some(verb) = format[i.min(format.len())..].chars().next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good_arg_num {
            let _ = write!(out, "%!{verb}(BADINDEX)");
            continue;
        }
        if arg_num >= args.len() {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        }
        if verb == 'w' {
            let _ = write!(out, "%!w(");
            print_arg_type_value(&mut out, &args[arg_num]);
            out.push(')');
            arg_num += 1;
            continue;
        }
        if verb == 'v' {
            flags.sharp_v = flags.sharp;
            flags.sharp = false;
            flags.plus_v = flags.plus;
            flags.plus = false;
        }
        print_arg(&mut out, &args[arg_num], verb, &flags);
        arg_num += 1;
    }
    if !reordered && arg_num < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, arg) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            if arg.is_nil() && matches!(arg, Value::Nil) {
                out.push_str("<nil>");
            } else {
                out.push_str(&arg.type_name());
                out.push('=');
                print_value(&mut out, arg, 'v', &Flags::default(), 0);
            }
        }
        out.push(')');
    }
    out
}

fn print_arg_type_value(out: &mut String, arg: &Value) {
    if matches!(arg, Value::Nil) {
        out.push_str("<nil>");
        return;
    }
    out.push_str(&arg.type_name());
    out.push('=');
    print_value(out, arg, 'v', &Flags::default(), 0);
}

fn parse_num(format: &str, start: usize) -> (usize, usize) {
    let bytes = format.as_bytes();
    let mut i = start;
    let mut n = 0usize;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        if n > 1_000_000 {
            // Go gives up on an absurd number and skips the rest of the format.
            return (0, format.len());
        }
        n = n * 10 + usize::from(bytes[i] - b'0');
        i += 1;
    }
    (n, i)
}

/// Parses `[n]`; returns (new arg number, new position, Some(ok) when an index was present).
fn arg_index(
    format: &str,
    i: usize,
    arg_num: usize,
    num_args: usize,
) -> (usize, usize, Option<bool>) {
    let bytes = format.as_bytes();
    if i >= bytes.len() || bytes[i] != b'[' {
        return (arg_num, i, None);
    }
    let Some(close) = format[i + 1..].find(']') else {
        return (arg_num, format.len().min(i + 1), Some(false));
    };
    let inner = &format[i + 1..i + 1 + close];
    let (n, end) = parse_num(inner, 0);
    if end != inner.len() || inner.is_empty() {
        return (arg_num, i + 1 + close + 1, Some(false));
    }
    if n >= 1 && n <= num_args {
        (n - 1, i + 1 + close + 1, Some(true))
    } else {
        (arg_num, i + 1 + close + 1, Some(false))
    }
}

fn int_from_arg(args: &[Value], n: usize) -> Option<i64> {
    match args.get(n)? {
        Value::Int(i, _) => Some(*i),
        Value::Uint(u, _) => i64::try_from(*u).ok(),
        _ => None,
    }
}

fn print_arg(out: &mut String, arg: &Value, verb: char, flags: &Flags) {
    if matches!(arg, Value::Nil) {
        match verb {
            'T' | 'v' => pad(out, "<nil>", flags),
            _ => bad_verb_flags(out, arg, verb, flags),
        }
        return;
    }
    if verb == 'T' {
        pad(out, &arg.type_name(), flags);
        return;
    }
    if verb == 'p' {
        bad_verb_flags(out, arg, verb, flags);
        return;
    }
    print_value(out, arg, verb, flags, 0);
}

/// `%!verb(type=value)`: the value is printed with `%v` under the same flags, as Go does.
fn bad_verb_flags(out: &mut String, arg: &Value, verb: char, flags: &Flags) {
    let _ = write!(out, "%!{verb}(");
    if matches!(arg, Value::Nil) {
        out.push_str("<nil>");
    } else {
        out.push_str(&arg.type_name());
        out.push('=');
        let mut inner = flags.clone();
        inner.plus_v = false;
        inner.sharp_v = false;
        print_value(out, arg, 'v', &inner, 0);
    }
    out.push(')');
}

fn bad_verb(out: &mut String, arg: &Value, verb: char) {
    bad_verb_flags(out, arg, verb, &Flags::default());
}

fn print_value(out: &mut String, value: &Value, verb: char, flags: &Flags, depth: usize) {
    match value {
        Value::Nil => {
            if depth == 0 && verb == 'v' {
                pad(out, "<nil>", flags);
            } else if verb == 'v' || depth > 0 {
                if flags.sharp_v {
                    out.push_str("interface {}(nil)");
                } else {
                    out.push_str("<nil>");
                }
            } else {
                bad_verb(out, value, verb);
            }
        }
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, flags),
            _ => bad_verb_flags(out, value, verb, flags),
        },
        Value::Int(i, kind) => {
            let _ = kind;
            fmt_integer(out, i.unsigned_abs(), *i < 0, *i as u64, verb, flags, value)
        }
        Value::Uint(u, _) => {
            if verb == 'v' && flags.sharp_v {
                let _ = write!(out, "0x{u:x}");
                return;
            }
            fmt_integer(out, *u, false, *u, verb, flags, value)
        }
        Value::Float(f, is32) => fmt_float(out, *f, *is32, verb, flags, value),
        Value::String(s) => fmt_string(out, s, verb, flags, value),
        Value::Bytes(bytes) => match verb {
            's' | 'q' | 'x' | 'X' => {
                let text = String::from_utf8_lossy(bytes);
                fmt_string(out, &text, verb, flags, value)
            }
            _ => {
                let items: Vec<Value> = bytes
                    .iter()
                    .map(|b| Value::Uint(u64::from(*b), crate::value::UintKind::Uint8))
                    .collect();
                print_list(out, &items, "[]uint8", verb, flags, depth);
            }
        },
        Value::List(list) => {
            print_list(out, &list.items, &value.type_name(), verb, flags, depth);
        }
        Value::Map(map) => {
            let entries = map.entries.borrow();
            print_map(out, entries.iter(), &value.type_name(), verb, flags, depth);
        }
        Value::Object(object) => {
            if let Some(text) = object.display()
                && matches!(verb, 'v' | 's' | 'q' | 'x' | 'X')
                && !flags.sharp_v
            {
                fmt_string(out, &text, verb, flags, value);
                return;
            }
            if object.is_nil() {
                if flags.sharp_v {
                    let _ = write!(out, "({})(nil)", object.type_name());
                } else {
                    pad(out, "<nil>", flags);
                }
                return;
            }
            if let Some(map) = object.map_view() {
                let entries = map.entries.borrow();
                print_map(out, entries.iter(), object.type_name(), verb, flags, depth);
            } else if let Some(list) = object.list_view() {
                print_list(out, &list.items, object.type_name(), verb, flags, depth);
            } else {
                let prefix = if object.type_name().starts_with('*') && depth == 0 {
                    "&"
                } else {
                    ""
                };
                out.push_str(prefix);
                out.push('{');
                for (i, (name, field)) in object.fields().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    if flags.plus_v {
                        out.push_str(name);
                        out.push(':');
                    }
                    print_value(out, field, verb, flags, depth + 1);
                }
                out.push('}');
            }
        }
    }
}

fn print_list(
    out: &mut String,
    items: &[Value],
    type_name: &str,
    verb: char,
    flags: &Flags,
    depth: usize,
) {
    if flags.sharp_v {
        out.push_str(type_name);
        out.push('{');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            print_value(out, item, verb, flags, depth + 1);
        }
        out.push('}');
        return;
    }
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_value(out, item, verb, flags, depth + 1);
    }
    out.push(']');
}

fn print_map<'a>(
    out: &mut String,
    entries: impl Iterator<Item = (&'a String, &'a Value)>,
    type_name: &str,
    verb: char,
    flags: &Flags,
    depth: usize,
) {
    if flags.sharp_v {
        out.push_str(type_name);
        out.push('{');
        for (i, (key, item)) in entries.enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&quote_go(key));
            out.push(':');
            print_value(out, item, verb, flags, depth + 1);
        }
        out.push('}');
        return;
    }
    out.push_str("map[");
    for (i, (key, item)) in entries.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        fmt_string(out, key, verb, flags, &Value::string(key.as_str()));
        out.push(':');
        print_value(out, item, verb, flags, depth + 1);
    }
    out.push(']');
}

/// Pads to the width with spaces (left or right).
fn pad(out: &mut String, text: &str, flags: &Flags) {
    let Some(width) = flags.width else {
        out.push_str(text);
        return;
    };
    let len = text.chars().count();
    if len >= width {
        out.push_str(text);
        return;
    }
    let padding = width - len;
    if flags.minus {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', padding));
    } else {
        let fill = if flags.zero { '0' } else { ' ' };
        out.extend(std::iter::repeat_n(fill, padding));
        out.push_str(text);
    }
}

/// Pads with zeros after the sign when the `0` flag is set (numbers).
fn pad_number(out: &mut String, text: &str, flags: &Flags) {
    let Some(width) = flags.width else {
        out.push_str(text);
        return;
    };
    if !flags.zero || flags.minus {
        pad(out, text, flags);
        return;
    }
    let len = text.chars().count();
    if len >= width {
        out.push_str(text);
        return;
    }
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'+' | b'-' | b' ') => text.split_at(1),
        _ => ("", text),
    };
    out.push_str(sign);
    out.extend(std::iter::repeat_n('0', width - len));
    out.push_str(digits);
}

/// `bits` is the value as Go's `uint64(v)` sees it (for `%c`, `%q`, `%U`).
fn fmt_integer(
    out: &mut String,
    magnitude: u64,
    negative: bool,
    bits: u64,
    verb: char,
    flags: &Flags,
    value: &Value,
) {
    let digits = match verb {
        'v' | 'd' => magnitude.to_string(),
        'b' => format!("{magnitude:b}"),
        'o' | 'O' => format!("{magnitude:o}"),
        'x' => format!("{magnitude:x}"),
        'X' => format!("{magnitude:X}"),
        'c' => {
            let c = u32::try_from(bits)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad(out, &c.to_string(), flags);
            return;
        }
        'q' => {
            let c = u32::try_from(bits)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad(out, &quote_rune(c, flags.plus), flags);
            return;
        }
        'U' => {
            let mut text = format!("U+{bits:04X}");
            if flags.sharp
                && let Some(c) = u32::try_from(bits).ok().and_then(char::from_u32)
                && is_go_printable(c)
            {
                let _ = write!(text, " '{c}'");
            }
            pad(out, &text, flags);
            return;
        }
        _ => {
            bad_verb_flags(out, value, verb, flags);
            return;
        }
    };
    let mut digits = digits;
    if let Some(precision) = flags.precision {
        if precision == 0 && magnitude == 0 {
            digits.clear();
        } else if digits.len() < precision {
            digits = format!("{}{digits}", "0".repeat(precision - digits.len()));
        }
    }
    let prefix = if flags.sharp {
        match verb {
            'b' => "0b",
            'o' if !digits.starts_with('0') => "0",
            'x' => "0x",
            'X' => "0X",
            _ => "",
        }
    } else if verb == 'O' {
        "0o"
    } else {
        ""
    };
    let sign = if negative {
        "-"
    } else if flags.plus {
        "+"
    } else if flags.space {
        " "
    } else {
        ""
    };
    let text = format!("{sign}{prefix}{digits}");
    let mut spaces = flags.clone();
    spaces.zero = false;
    if flags.precision.is_some() {
        pad(out, &text, &spaces);
    } else if flags.zero && !flags.minus && flags.width.is_some() {
        let width = flags.width.unwrap_or(0);
        let body = format!("{prefix}{digits}");
        let len = sign.len() + body.len();
        out.push_str(sign);
        if len < width {
            out.extend(std::iter::repeat_n('0', width - len));
        }
        out.push_str(&body);
    } else {
        pad(out, &text, &spaces);
    }
}

fn fmt_float(out: &mut String, f: f64, is32: bool, verb: char, flags: &Flags, value: &Value) {
    let (verb, precision) = match verb {
        'v' => ('g', flags.precision),
        'b' | 'g' | 'G' | 'x' | 'X' => (verb, flags.precision),
        'e' | 'E' | 'f' | 'F' => (verb, Some(flags.precision.unwrap_or(6))),
        _ => {
            bad_verb_flags(out, value, verb, flags);
            return;
        }
    };
    let mut text = match verb {
        'x' | 'X' => format_hex_float(f, is32, verb == 'X'),
        'b' => format_binary_float(f, is32),
        _ => format_float(f, verb, precision, is32),
    };
    if flags.sharp && verb != 'b' && f.is_finite() {
        text = sharp_float(&text, verb, precision);
    }
    if flags.plus && !text.starts_with(['-', '+']) {
        text.insert(0, '+');
    } else if flags.space && !text.starts_with(['-', '+']) {
        text.insert(0, ' ');
    }
    if f.is_infinite() || f.is_nan() {
        let mut no_zero = flags.clone();
        no_zero.zero = false;
        pad(out, &text, &no_zero);
        return;
    }
    pad_number(out, &text, flags);
}

/// The `#` flag on floats: a decimal point always, and `%g`/`%v` keep trailing zeros up to the
/// precision (6 by default).
fn sharp_float(text: &str, verb: char, precision: Option<usize>) -> String {
    let (sign, body) = match text.as_bytes().first() {
        Some(b'-' | b'+') => text.split_at(1),
        _ => ("", text),
    };
    let mut digits: i64 = match verb {
        'g' | 'G' | 'x' => precision.map_or(6, |p| p as i64),
        _ => 0,
    };
    let tail_at = match verb {
        'x' | 'X' => body.find(['p', 'P']),
        _ => body.find(['e', 'E', 'p', 'P']),
    }
    .unwrap_or(body.len());
    let (mut num, tail) = (body[..tail_at].to_string(), &body[tail_at..]);
    let has_point = num.contains('.');
    let mut seen_nonzero = false;
    for c in num.chars() {
        if c == '.' {
            continue;
        }
        if c != '0' {
            seen_nonzero = true;
        }
        if seen_nonzero {
            digits -= 1;
        }
    }
    if !has_point {
        if num == "0" {
            digits -= 1;
        }
        num.push('.');
    }
    while digits > 0 {
        num.push('0');
        digits -= 1;
    }
    format!("{sign}{num}{tail}")
}

/// `strconv.FormatFloat(f, 'x', -1, size)`: `0x1.921fp+01`.
fn format_hex_float(f: f64, is32: bool, upper: bool) -> String {
    if !f.is_finite() {
        return format_float(f, 'g', None, is32);
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let text = if f == 0.0 {
        "0x0p+00".to_string()
    } else {
        let (mut mantissa, mut exponent, fraction_bits) = if is32 {
            let bits = (f as f32).to_bits();
            let exp = ((bits >> 23) & 0xff) as i32;
            let frac = u64::from(bits & 0x7f_ffff);
            if exp == 0 {
                (frac, -126, 23u32)
            } else {
                (frac | 1 << 23, exp - 127, 23u32)
            }
        } else {
            let bits = f.to_bits();
            let exp = ((bits >> 52) & 0x7ff) as i32;
            let frac = bits & 0xf_ffff_ffff_ffff;
            if exp == 0 {
                (frac, -1022, 52u32)
            } else {
                (frac | 1 << 52, exp - 1023, 52u32)
            }
        };
        // Normalise subnormals so the leading bit is set.
        while mantissa & (1 << fraction_bits) == 0 {
            mantissa <<= 1;
            exponent -= 1;
        }
        let fraction = mantissa & ((1 << fraction_bits) - 1);
        // Align the fraction to whole hex digits.
        let hex_digits = fraction_bits.div_ceil(4);
        let shifted = fraction << (hex_digits * 4 - fraction_bits);
        let mut hex = format!("{shifted:0width$x}", width = hex_digits as usize);
        while hex.ends_with('0') {
            hex.pop();
        }
        let point = if hex.is_empty() {
            String::new()
        } else {
            format!(".{hex}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("0x1{point}p{exp_sign}{:02}", exponent.unsigned_abs())
    };
    let text = format!("{sign}{text}");
    if upper { text.to_uppercase() } else { text }
}

/// `strconv.FormatFloat(f, 'b', -1, size)`: `4503599627370496p-52`.
fn format_binary_float(f: f64, is32: bool) -> String {
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let (mantissa, exponent) = if is32 {
        let bits = (f as f32).to_bits();
        let exp = ((bits >> 23) & 0xff) as i64;
        let frac = u64::from(bits & 0x7f_ffff);
        if exp == 0 {
            (frac, -149)
        } else {
            (frac | 1 << 23, exp - 150)
        }
    } else {
        let bits = f.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & 0xf_ffff_ffff_ffff;
        if exp == 0 {
            (frac, -1074)
        } else {
            (frac | 1 << 52, exp - 1075)
        }
    };
    let exp_sign = if exponent < 0 { '-' } else { '+' };
    format!("{sign}{mantissa}p{exp_sign}{}", exponent.unsigned_abs())
}

/// `strconv.FormatFloat(f, verb, precision, 64)` (precision `None` is Go's -1: shortest).
pub fn format_float(f: f64, verb: char, precision: Option<usize>, is32: bool) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let (digits, exp) = decimal_digits(f, verb, precision, is32);
    let negative = f.is_sign_negative();
    let sign = if negative { "-" } else { "" };
    match verb {
        'e' | 'E' => format!("{sign}{}", format_e(&digits, exp, precision, verb)),
        'f' | 'F' => {
            let precision = precision.or(Some((digits.len() as i32 - exp).max(0) as usize));
            format!("{sign}{}", format_f(&digits, exp, precision))
        }
        'g' | 'G' => {
            let shortest = precision.is_none();
            let mut eprec = precision.map_or(6, |p| if p == 0 { 1 } else { p }) as i32;
            if shortest {
                eprec = 6;
            } else if eprec > digits.len() as i32 && digits.len() as i32 >= exp {
                eprec = digits.len() as i32;
            }
            let e = exp - 1;
            let e_verb = if verb == 'g' { 'e' } else { 'E' };
            if e < -4 || e >= eprec {
                let p = if shortest {
                    None
                } else {
                    Some(digits.len().saturating_sub(1))
                };
                format!(
                    "{sign}{}",
                    format_e(
                        &digits,
                        exp,
                        p.or(Some(digits.len().saturating_sub(1))),
                        e_verb
                    )
                )
            } else {
                let p = (digits.len() as i32 - exp).max(0) as usize;
                format!("{sign}{}", format_f(&digits, exp, Some(p)))
            }
        }
        'x' | 'X' | 'b' => format!("{sign}{}", f.abs()),
        _ => format!("%!{verb}(float64={f})"),
    }
}

/// The decimal digits (without leading/trailing zeros for shortest) and the decimal point
/// position: value = 0.DIGITS × 10^exp.
fn decimal_digits(f: f64, verb: char, precision: Option<usize>, is32: bool) -> (String, i32) {
    let abs = f.abs();
    if abs == 0.0 {
        let n = match (verb, precision) {
            (_, None) => 1,
            ('e' | 'E', Some(p)) => p + 1,
            ('f' | 'F', Some(_)) => 1,
            (_, Some(p)) => p.max(1),
        };
        return ("0".repeat(n.max(1)), 1);
    }
    let scientific = match (verb, precision) {
        (_, None) => {
            if is32 {
                format!("{:e}", abs as f32)
            } else {
                format!("{abs:e}")
            }
        }
        ('e' | 'E', Some(p)) => format!("{abs:.p$e}"),
        ('g' | 'G', Some(p)) => {
            let p = p.max(1) - 1;
            format!("{abs:.p$e}")
        }
        (_, Some(p)) => {
            // %f: round at a fixed number of decimals.
            let fixed = format!("{abs:.p$}");
            return fixed_to_digits(&fixed);
        }
    };
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if precision.is_none() {
        while digits.len() > 1 && digits.ends_with('0') {
            digits.pop();
        }
    }
    if matches!(verb, 'g' | 'G') && precision.is_some() {
        while digits.len() > 1 && digits.ends_with('0') {
            digits.pop();
        }
    }
    (digits, exponent + 1)
}

fn fixed_to_digits(fixed: &str) -> (String, i32) {
    let (int_part, frac) = fixed.split_once('.').unwrap_or((fixed, ""));
    let all = format!("{int_part}{frac}");
    let trimmed = all.trim_start_matches('0');
    let leading = all.len() - trimmed.len();
    if trimmed.is_empty() {
        return ("0".to_string(), 1);
    }
    (trimmed.to_string(), int_part.len() as i32 - leading as i32)
}

fn format_e(digits: &str, exp: i32, precision: Option<usize>, verb: char) -> String {
    let mut out = String::new();
    out.push_str(&digits[..1]);
    let rest = &digits[1..];
    let frac_len = precision.unwrap_or(rest.len());
    if frac_len > 0 {
        out.push('.');
        out.push_str(&rest[..rest.len().min(frac_len)]);
        for _ in rest.len()..frac_len {
            out.push('0');
        }
    }
    let e = if digits.starts_with('0') { 0 } else { exp - 1 };
    out.push(verb);
    out.push(if e < 0 { '-' } else { '+' });
    let magnitude = e.unsigned_abs();
    if magnitude < 10 {
        out.push('0');
    }
    let _ = write!(out, "{magnitude}");
    out
}

fn format_f(digits: &str, exp: i32, precision: Option<usize>) -> String {
    let mut out = String::new();
    if exp > 0 {
        let exp = exp as usize;
        if digits.len() >= exp {
            out.push_str(&digits[..exp]);
        } else {
            out.push_str(digits);
            out.extend(std::iter::repeat_n('0', exp - digits.len()));
        }
    } else {
        out.push('0');
    }
    let precision = precision.unwrap_or(0);
    if precision > 0 {
        out.push('.');
        for i in 0..precision {
            let index = exp + i as i32;
            let c = if index < 0 || index as usize >= digits.len() {
                '0'
            } else {
                digits.as_bytes()[index as usize] as char
            };
            out.push(c);
        }
    }
    out
}

fn fmt_string(out: &mut String, s: &str, verb: char, flags: &Flags, value: &Value) {
    let truncated: String;
    let s = match flags.precision {
        Some(p) if matches!(verb, 's' | 'v' | 'q') => {
            truncated = s.chars().take(p).collect();
            truncated.as_str()
        }
        _ => s,
    };
    match verb {
        'v' if flags.sharp_v => pad(out, &quote_go(s), flags),
        'v' | 's' => {
            if flags.zero && !flags.minus {
                pad_number(out, s, flags)
            } else {
                pad(out, s, flags)
            }
        }
        'q' => {
            if flags.sharp && !s.contains('`') && s.chars().all(|c| c == '\t' || !c.is_control()) {
                pad(out, &format!("`{s}`"), flags)
            } else if flags.plus {
                pad(out, &quote_ascii(s), flags)
            } else {
                pad(out, &quote_go(s), flags)
            }
        }
        'x' | 'X' => {
            let bytes = s.as_bytes();
            let bytes = match flags.precision {
                Some(p) => &bytes[..p.min(bytes.len())],
                None => bytes,
            };
            let mut text = String::new();
            for (i, b) in bytes.iter().enumerate() {
                if flags.space && i > 0 {
                    text.push(' ');
                }
                if flags.sharp && (flags.space || i == 0) {
                    text.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    let _ = write!(text, "{b:02x}");
                } else {
                    let _ = write!(text, "{b:02X}");
                }
            }
            pad(out, &text, flags)
        }
        _ => bad_verb_flags(out, value, verb, flags),
    }
}

/// `strconv.Quote`.
pub fn quote_go(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', false);
    }
    out.push('"');
    out
}

/// `strconv.QuoteToASCII`.
fn quote_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', true);
    }
    out.push('"');
    out
}

fn quote_rune(c: char, ascii_only: bool) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

fn push_escaped(out: &mut String, c: char, quote: char, ascii_only: bool) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        '\u{fffd}' if !ascii_only => out.push('\u{fffd}'),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if ascii_only && !c.is_ascii() || !is_go_printable(c) => {
            if (c as u32) < 0x10000 {
                let _ = write!(out, "\\u{:04x}", c as u32);
            } else {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
        c => out.push(c),
    }
}

/// Go's `strconv.IsPrint`, approximated by Unicode categories Rust exposes.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff | 0xd800..=0xdfff)
}

/// `%#U` of a rune: `U+0041 'A'`.
pub fn format_unicode(c: char) -> String {
    if is_go_printable(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}
