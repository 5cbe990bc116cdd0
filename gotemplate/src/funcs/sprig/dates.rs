//! Sprig's date functions over a Go `time.Time` host value, formatting with Go's reference-time
//! layouts (`2006-01-02 15:04:05`).

use std::rc::Rc;

use jiff::{Timestamp, Zoned, tz::TimeZone};

use crate::error::FuncError;
use crate::funcs::{FuncMap, Function, Param, str_arg};
use crate::value::{HostObject, IntKind, Value};

/// A Go `time.Time`.
#[derive(Debug, Clone)]
pub struct GoTime(pub Zoned);

impl HostObject for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }

    fn method(&self, name: &str) -> Option<Function> {
        let t = self.0.clone();
        let f = match name {
            "Unix" => Function::local(&[], None, move |_, _| {
                Ok(Value::Int(t.timestamp().as_second(), IntKind::Int64))
            }),
            "UTC" => Function::local(&[], None, move |_, _| {
                Ok(time_value(t.with_time_zone(TimeZone::UTC)))
            }),
            "Year" => Function::local(&[], None, move |_, _| Ok(Value::int(i64::from(t.year())))),
            "Format" => Function::local(&[Param::String], None, move |_, a| {
                Ok(Value::string(format_go(&t, str_arg(&a, 0))))
            }),
            "String" => {
                Function::local(&[], None, move |_, _| Ok(Value::string(go_time_string(&t))))
            }
            _ => return None,
        };
        Some(f)
    }

    fn display(&self) -> Option<String> {
        Some(go_time_string(&self.0))
    }

    fn marshal_json(&self) -> Option<String> {
        let text = format_go(&self.0, "2006-01-02T15:04:05.999999999Z07:00");
        Some(format!("\"{text}\""))
    }
}

fn time_value(t: Zoned) -> Value {
    Value::Object(Rc::new(GoTime(t)))
}

fn as_time(v: &Value) -> Option<Zoned> {
    if let Value::Object(o) = v
        && o.type_name() == "time.Time"
    {
        let text = o.display()?;
        return parse_go_string(&text);
    }
    None
}

fn parse_go_string(text: &str) -> Option<Zoned> {
    // "2006-01-02 15:04:05.999999999 -0700 MST": the offset is enough to rebuild the instant.
    let mut parts = text.split(' ');
    let (date, clock, offset) = (parts.next()?, parts.next()?, parts.next()?);
    let stamp: Timestamp = format!("{date}T{clock}{offset}").parse().ok()?;
    let zone = if offset == "+0000" {
        TimeZone::UTC
    } else {
        TimeZone::system()
    };
    Some(stamp.to_zoned(zone))
}

/// Go's zero `time.Time`: January 1, year 1, 00:00:00 UTC.
fn go_zero_time() -> Zoned {
    jiff::civil::date(1, 1, 1)
        .to_datetime(jiff::civil::Time::midnight())
        .to_zoned(TimeZone::UTC)
        .unwrap_or_else(|_| Timestamp::UNIX_EPOCH.to_zoned(TimeZone::UTC))
}

fn now() -> Zoned {
    Zoned::now()
}

/// The time a date argument stands for (Sprig: time.Time, or Unix seconds; anything else is now).
fn date_arg(v: &Value) -> Zoned {
    if let Some(t) = as_time(v) {
        return t;
    }
    let seconds = match v {
        Value::Int(i, IntKind::Int | IntKind::Int64 | IntKind::Int32) => Some(*i),
        _ => None,
    };
    match seconds.and_then(|s| Timestamp::from_second(s).ok()) {
        Some(stamp) => stamp.to_zoned(TimeZone::system()),
        None => now(),
    }
}

fn zone(name: &str) -> TimeZone {
    match name {
        "Local" | "" => TimeZone::system(),
        "UTC" => TimeZone::UTC,
        other => TimeZone::get(other).unwrap_or(TimeZone::UTC),
    }
}

pub fn register(map: &mut FuncMap) {
    use Param::{Any, String as Str};
    map.add("now", &[], |_, _| Ok(time_value(now())));
    map.add("date", &[Str, Any], |_, a| {
        Ok(Value::string(format_go(
            &date_arg(&a[1]).with_time_zone(TimeZone::system()),
            str_arg(&a, 0),
        )))
    });
    for name in ["dateInZone", "date_in_zone"] {
        map.add(name, &[Str, Any, Str], |_, a| {
            Ok(Value::string(format_go(
                &date_arg(&a[1]).with_time_zone(zone(str_arg(&a, 2))),
                str_arg(&a, 0),
            )))
        });
    }
    map.add("htmlDate", &[Any], |_, a| {
        Ok(Value::string(format_go(
            &date_arg(&a[0]).with_time_zone(TimeZone::system()),
            "2006-01-02",
        )))
    });
    map.add("htmlDateInZone", &[Any, Str], |_, a| {
        Ok(Value::string(format_go(
            &date_arg(&a[0]).with_time_zone(zone(str_arg(&a, 1))),
            "2006-01-02",
        )))
    });
    for (name, must) in [
        ("dateModify", false),
        ("date_modify", false),
        ("mustDateModify", true),
        ("must_date_modify", true),
    ] {
        map.add(name, &[Str, Any], move |_, a| {
            let t = as_time(&a[1])
                .ok_or_else(|| FuncError::msg("wrong type for value; expected time.Time"))?;
            match parse_go_duration(str_arg(&a, 0)) {
                Some(nanos) => Ok(time_value(
                    t.checked_add(jiff::SignedDuration::from_nanos(nanos as i64))
                        .unwrap_or(t),
                )),
                None if must => Err(FuncError::msg(format!(
                    "time: invalid duration {}",
                    crate::fmt::quote_go(str_arg(&a, 0))
                ))),
                None => Ok(time_value(t)),
            }
        });
    }
    map.add("ago", &[Any], |_, a| {
        let t = date_arg(&a[0]);
        let nanos = now().timestamp().as_nanosecond() - t.timestamp().as_nanosecond();
        let rounded = ((nanos
            + if nanos >= 0 {
                500_000_000
            } else {
                -500_000_000
            })
            / 1_000_000_000)
            * 1_000_000_000;
        Ok(Value::string(go_duration_string(rounded)))
    });
    map.add("duration", &[Any], |_, a| {
        let seconds: i64 = match &a[0] {
            Value::String(s) => s.parse().unwrap_or(0),
            Value::Int(i, IntKind::Int64) => *i,
            _ => 0,
        };
        Ok(Value::string(go_duration_string(
            i128::from(seconds) * 1_000_000_000,
        )))
    });
    map.add("durationRound", &[Any], |_, a| {
        let nanos: i128 = match &a[0] {
            Value::String(s) => parse_go_duration(s).unwrap_or(0),
            Value::Int(i, IntKind::Int64) => i128::from(*i),
            other => match as_time(other) {
                Some(t) => now().timestamp().as_nanosecond() - t.timestamp().as_nanosecond(),
                None => 0,
            },
        };
        Ok(Value::string(duration_round(nanos.unsigned_abs())))
    });
    for (name, must) in [("toDate", false), ("mustToDate", true)] {
        map.add(name, &[Str, Str], move |_, a| {
            match parse_go_layout(str_arg(&a, 0), str_arg(&a, 1)) {
                Some(t) => Ok(time_value(t)),
                None if must => Err(FuncError::msg(format!(
                    "parsing time {} as {}: cannot parse",
                    crate::fmt::quote_go(str_arg(&a, 1)),
                    crate::fmt::quote_go(str_arg(&a, 0))
                ))),
                None => Ok(time_value(go_zero_time())),
            }
        });
    }
    map.add("unixEpoch", &[Any], |_, a| {
        let t = as_time(&a[0])
            .ok_or_else(|| FuncError::msg("wrong type for value; expected time.Time"))?;
        Ok(Value::string(t.timestamp().as_second().to_string()))
    });
}

fn duration_round(u: u128) -> String {
    let second = 1_000_000_000u128;
    let (minute, hour) = (60 * second, 3600 * second);
    let (day, month, year) = (24 * hour, 30 * 24 * hour, 365 * 24 * hour);
    for (unit, suffix) in [
        (year, "y"),
        (month, "mo"),
        (day, "d"),
        (hour, "h"),
        (minute, "m"),
        (second, "s"),
    ] {
        if u > unit {
            return format!("{}{suffix}", u / unit);
        }
    }
    "0s".to_string()
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_go_duration(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_end == 0 {
            return None;
        }
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * scale;
    }
    let nanos = total.round() as i128;
    Some(if negative { -nanos } else { nanos })
}

/// Go's `Duration.String`.
pub fn go_duration_string(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let negative = nanos < 0;
    let u = nanos.unsigned_abs();
    let sign = if negative { "-" } else { "" };
    if u < 1_000_000_000 {
        let (value, unit, scale) = if u < 1_000 {
            return format!("{sign}{u}ns");
        } else if u < 1_000_000 {
            (u, "µs", 1_000u128)
        } else {
            (u, "ms", 1_000_000u128)
        };
        return format!("{sign}{}{unit}", fraction(value, scale));
    }
    let hours = u / 3_600_000_000_000;
    let minutes = (u / 60_000_000_000) % 60;
    let seconds_nanos = u % 60_000_000_000;
    let mut out = String::from(sign);
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", fraction(seconds_nanos, 1_000_000_000)));
    out
}

fn fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let mut frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let mut digits = String::new();
    let mut s = scale / 10;
    while s > 0 {
        digits.push(char::from(b'0' + (frac / s) as u8));
        frac %= s;
        s /= 10;
    }
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `time.Time.String()`.
fn go_time_string(t: &Zoned) -> String {
    let mut out = format_go(t, "2006-01-02 15:04:05.999999999 -0700 MST");
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Turns a Go layout into strftime directives (jiff's), chunk by chunk as Go's `nextStdChunk`.
/// For parsing, a seconds field the layout gives no fraction accepts one anyway, as Go's
/// `time.Parse` does (`05` reads `07.25`).
fn layout_to_strftime(layout: &str, for_parse: bool) -> String {
    const CHUNKS: &[(&str, &str)] = &[
        ("January", "%B"),
        ("Jan", "%b"),
        ("Monday", "%A"),
        ("Mon", "%a"),
        ("MST", "%Z"),
        ("2006", "%Y"),
        ("Z07:00", "%:z"),
        ("Z0700", "%z"),
        ("-07:00", "%:z"),
        ("-0700", "%z"),
        ("-07", "%z"),
        (".000000000", "%.9f"),
        (".999999999", "%.f"),
        (".000000", "%.6f"),
        (".000", "%.3f"),
        ("002", "%j"),
        ("01", "%m"),
        ("02", "%d"),
        ("_2", "%e"),
        ("06", "%y"),
        ("15", "%H"),
        ("03", "%I"),
        ("04", "%M"),
        ("05", "%S"),
        ("PM", "%p"),
        ("pm", "%P"),
        ("1", "%-m"),
        ("2", "%-d"),
        ("3", "%-I"),
        ("4", "%-M"),
        ("5", "%-S"),
    ];
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (chunk, directive) in CHUNKS {
            if let Some(after) = rest.strip_prefix(chunk) {
                out.push_str(directive);
                rest = after;
                let is_seconds = matches!(*chunk, "05" | "5");
                if for_parse && is_seconds && !rest.starts_with([',', '.']) {
                    out.push_str("%.f");
                }
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Formats with a Go layout.
pub fn format_go(t: &Zoned, layout: &str) -> String {
    let format = layout_to_strftime(layout, false);
    let text = jiff::fmt::strtime::format(&format, t).unwrap_or_default();
    if layout.contains("Z07:00") && t.offset().seconds() == 0 {
        return text.replace("+00:00", "Z");
    }
    text
}

fn parse_go_layout(layout: &str, text: &str) -> Option<Zoned> {
    let format = layout_to_strftime(layout, true);
    let text = if layout.contains("Z07:00") {
        text.replacen('Z', "+00:00", 1)
    } else {
        text.to_string()
    };
    let parsed = jiff::fmt::strtime::parse(&format, &text).ok()?;
    if let Ok(z) = parsed.to_zoned() {
        return Some(z);
    }
    let datetime = parsed
        .to_datetime()
        .or_else(|_| {
            parsed
                .to_date()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .ok()?;
    datetime.to_zoned(TimeZone::system()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go() {
        assert_eq!(go_duration_string(90 * 1_000_000_000), "1m30s");
        assert_eq!(go_duration_string(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration_string(1_500_000), "1.5ms");
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(duration_round(3 * 86_400_000_000_000 + 1), "3d");
    }

    #[test]
    fn go_layouts_format() {
        let t: Zoned = "2024-03-05T07:08:09+00:00[UTC]".parse().unwrap();
        assert_eq!(format_go(&t, "2006-01-02 15:04:05"), "2024-03-05 07:08:09");
        assert_eq!(format_go(&t, "Jan 2, 2006"), "Mar 5, 2024");
    }
}
