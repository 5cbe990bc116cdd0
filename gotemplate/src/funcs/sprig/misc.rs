//! Sprig's defaults, JSON, reflection, encoding, path, regex, semver, URL and OS functions.

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine;

use crate::error::FuncError;
use crate::fmt::sprintf;
use crate::funcs::convert::{JsonStyle, from_json, is_empty, to_json};
use crate::funcs::{FuncMap, Function, Param, int_arg, str_arg};
use crate::value::{HostObject, Value};

const COMPACT: JsonStyle = JsonStyle {
    escape_html: true,
    indent: None,
};

pub fn register(map: &mut FuncMap) {
    use Param::{Any, Bool, Int, Map, String as Str};
    map.add_variadic("default", &[Any], Any, |_, a| match a.get(1) {
        Some(given) if !is_empty(given) => Ok(given.clone()),
        _ => Ok(a[0].clone()),
    });
    map.add("empty", &[Any], |_, a| Ok(Value::Bool(is_empty(&a[0]))));
    map.add_variadic("coalesce", &[], Any, |_, a| {
        Ok(a.into_iter().find(|v| !is_empty(v)).unwrap_or_default())
    });
    map.add_variadic("all", &[], Any, |_, a| {
        Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
    });
    map.add_variadic("any", &[], Any, |_, a| {
        Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
    });
    map.add("ternary", &[Any, Any, Bool], |_, a| {
        Ok(if a[2].truth() {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    map.add("fail", &[Str], |_, a| Err(FuncError::msg(str_arg(&a, 0))));

    map.add("fromJson", &[Str], |_, a| {
        Ok(from_json(str_arg(&a, 0)).unwrap_or_default())
    });
    map.add("mustFromJson", &[Str], |_, a| {
        from_json(str_arg(&a, 0)).map_err(FuncError::msg)
    });
    map.add("toJson", &[Any], |_, a| {
        Ok(Value::string(to_json(&a[0], COMPACT).unwrap_or_default()))
    });
    map.add("mustToJson", &[Any], |_, a| {
        to_json(&a[0], COMPACT)
            .map(Value::string)
            .map_err(FuncError::msg)
    });
    let pretty = JsonStyle {
        escape_html: true,
        indent: Some("  "),
    };
    map.add("toPrettyJson", &[Any], move |_, a| {
        Ok(Value::string(to_json(&a[0], pretty).unwrap_or_default()))
    });
    map.add("mustToPrettyJson", &[Any], move |_, a| {
        to_json(&a[0], pretty)
            .map(Value::string)
            .map_err(FuncError::msg)
    });
    let raw = JsonStyle {
        escape_html: false,
        indent: None,
    };
    map.add("toRawJson", &[Any], move |_, a| {
        Ok(Value::string(to_json(&a[0], raw).unwrap_or_default()))
    });
    map.add("mustToRawJson", &[Any], move |_, a| {
        to_json(&a[0], raw)
            .map(Value::string)
            .map_err(FuncError::msg)
    });

    map.add("typeOf", &[Any], |_, a| {
        Ok(Value::string(sprintf("%T", &a)))
    });
    map.add("typeIs", &[Str, Any], |_, a| {
        Ok(Value::Bool(str_arg(&a, 0) == sprintf("%T", &a[1..])))
    });
    map.add("typeIsLike", &[Str, Any], |_, a| {
        let t = sprintf("%T", &a[1..]);
        let target = str_arg(&a, 0);
        Ok(Value::Bool(target == t || format!("*{target}") == t))
    });
    map.add("kindOf", &[Any], |_, a| Ok(Value::string(a[0].kind_name())));
    map.add("kindIs", &[Str, Any], |_, a| {
        Ok(Value::Bool(str_arg(&a, 0) == a[1].kind_name()))
    });
    map.add("deepEqual", &[Any, Any], |_, a| {
        Ok(Value::Bool(crate::value::deep_equal(&a[0], &a[1])))
    });

    map.add("b64enc", &[Str], |_, a| {
        Ok(Value::string(
            base64::engine::general_purpose::STANDARD.encode(str_arg(&a, 0)),
        ))
    });
    map.add("b64dec", &[Str], |_, a| {
        let text = str_arg(&a, 0);
        Ok(Value::string(
            match base64::engine::general_purpose::STANDARD.decode(text) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) => base64_error(text, &e),
            },
        ))
    });
    map.add("b32enc", &[Str], |_, a| {
        Ok(Value::string(base32_encode(str_arg(&a, 0).as_bytes())))
    });
    map.add("b32dec", &[Str], |_, a| {
        Ok(Value::string(match base32_decode(str_arg(&a, 0)) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(at) => format!("illegal base32 data at input byte {at}"),
        }))
    });

    for (name, f) in [
        ("base", path_base as fn(&str) -> String),
        ("osBase", path_base),
        ("dir", path_dir),
        ("osDir", path_dir),
        ("clean", path_clean),
        ("osClean", path_clean),
        ("ext", path_ext),
        ("osExt", path_ext),
    ] {
        map.add(name, &[Str], move |_, a| {
            Ok(Value::string(f(str_arg(&a, 0))))
        });
    }
    map.add("isAbs", &[Str], |_, a| {
        Ok(Value::Bool(str_arg(&a, 0).starts_with('/')))
    });
    map.add("osIsAbs", &[Str], |_, a| {
        Ok(Value::Bool(str_arg(&a, 0).starts_with('/')))
    });

    for must in [false, true] {
        let prefix = |name: &str| {
            if must {
                format!("must{}{}", name[..1].to_uppercase(), &name[1..])
            } else {
                name.to_string()
            }
        };
        map.add(
            &prefix("regexMatch"),
            &[Str, Str],
            move |_, a| match compile(str_arg(&a, 0)) {
                Ok(re) => Ok(Value::Bool(re.is_match(str_arg(&a, 1)))),
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::Bool(false)),
            },
        );
        map.add(
            &prefix("regexFindAll"),
            &[Str, Str, Int],
            move |_, a| match compile(str_arg(&a, 0)) {
                Ok(re) => {
                    let n = int_arg(&a, 2);
                    let limit = if n < 0 { usize::MAX } else { n as usize };
                    Ok(Value::string_list(
                        re.find_iter(str_arg(&a, 1))
                            .take(limit)
                            .map(|m| m.as_str().to_string()),
                    ))
                }
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::string_list(Vec::new())),
            },
        );
        map.add(
            &prefix("regexFind"),
            &[Str, Str],
            move |_, a| match compile(str_arg(&a, 0)) {
                Ok(re) => Ok(Value::string(
                    re.find(str_arg(&a, 1)).map_or("", |m| m.as_str()),
                )),
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::string("")),
            },
        );
        map.add(
            &prefix("regexReplaceAll"),
            &[Str, Str, Str],
            move |_, a| match compile(str_arg(&a, 0)) {
                Ok(re) => Ok(Value::string(
                    re.replace_all(str_arg(&a, 1), str_arg(&a, 2)).into_owned(),
                )),
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::string("")),
            },
        );
        map.add(
            &prefix("regexReplaceAllLiteral"),
            &[Str, Str, Str],
            move |_, a| match compile(str_arg(&a, 0)) {
                Ok(re) => Ok(Value::string(
                    re.replace_all(str_arg(&a, 1), regex::NoExpand(str_arg(&a, 2)))
                        .into_owned(),
                )),
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::string("")),
            },
        );
        map.add(
            &prefix("regexSplit"),
            &[Str, Str, Int],
            move |_, a| match compile(str_arg(&a, 0)) {
                Ok(re) => Ok(Value::string_list(regex_split(
                    &re,
                    str_arg(&a, 1),
                    int_arg(&a, 2),
                ))),
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::string_list(Vec::new())),
            },
        );
    }
    map.add("regexQuoteMeta", &[Str], |_, a| {
        Ok(Value::string(quote_meta(str_arg(&a, 0))))
    });

    map.add("semver", &[Str], |_, a| {
        let version = eddy_semver::Version::parse(str_arg(&a, 0))
            .map_err(|e| FuncError::msg(e.to_string()))?;
        Ok(Value::Object(Rc::new(SemverVersion(version))))
    });
    map.add("semverCompare", &[Str, Str], |_, a| {
        eddy_semver::semver_compare(str_arg(&a, 0), str_arg(&a, 1))
            .map(Value::Bool)
            .map_err(|e| FuncError::msg(e.to_string()))
    });

    map.add("urlParse", &[Str], |_, a| url_parse(str_arg(&a, 0)));
    map.add("urlJoin", &[Map], |_, a| Ok(Value::string(url_join(&a[0]))));
    map.add("getHostByName", &[Str], |_, _| Ok(Value::string("")));
    map.add("env", &[Str], |_, a| {
        Ok(Value::string(
            std::env::var(str_arg(&a, 0)).unwrap_or_default(),
        ))
    });
    map.add("expandenv", &[Str], |_, a| {
        Ok(Value::string(expand_env(str_arg(&a, 0))))
    });
}

fn base64_error(text: &str, error: &base64::DecodeError) -> String {
    let at = match error {
        base64::DecodeError::InvalidByte(at, _) => *at,
        base64::DecodeError::InvalidLength(at) => *at,
        base64::DecodeError::InvalidLastSymbol(at, _) => *at,
        base64::DecodeError::InvalidPadding => text.len(),
    };
    format!("illegal base64 data at input byte {at}")
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buffer = [0u8; 5];
        buffer[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([
            0, 0, 0, buffer[0], buffer[1], buffer[2], buffer[3], buffer[4],
        ]);
        let symbols = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < symbols {
                out.push(BASE32[((bits >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base32_decode(text: &str) -> Result<Vec<u8>, usize> {
    let trimmed = text.trim_end_matches('=');
    let mut out = Vec::new();
    let mut bits = 0u64;
    let mut count = 0;
    for (i, c) in trimmed.bytes().enumerate() {
        let value = BASE32.iter().position(|&b| b == c).ok_or(i)?;
        bits = (bits << 5) | value as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    if !text.len().is_multiple_of(8) {
        return Err(text.len() / 8 * 8);
    }
    Ok(out)
}

/// Go's `path.Clean`.
pub fn path_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn path_base(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

fn path_dir(path: &str) -> String {
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    path_clean(dir)
}

fn path_ext(path: &str) -> String {
    for (i, c) in path.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return path[i..].to_string();
        }
    }
    String::new()
}

fn compile(pattern: &str) -> Result<regex::Regex, FuncError> {
    regex::Regex::new(pattern)
        .map_err(|e| FuncError::msg(format!("error parsing regexp: {}", regex_error_text(&e))))
}

fn regex_error_text(error: &regex::Error) -> String {
    error
        .to_string()
        .lines()
        .last()
        .unwrap_or("invalid pattern")
        .trim()
        .to_string()
}

fn regex_split(re: &regex::Regex, text: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if re.as_str().is_empty() && !text.is_empty() {
        // Go splits an empty pattern into characters.
        let chars: Vec<String> = text.chars().map(String::from).collect();
        return chars;
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let mut out = Vec::new();
    let mut begin = 0;
    for m in re.find_iter(text) {
        if out.len() + 1 >= limit {
            break;
        }
        if m.end() == 0 {
            continue;
        }
        out.push(text[begin..m.start()].to_string());
        begin = m.end();
    }
    out.push(text[begin..].to_string());
    out
}

fn quote_meta(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `*semver.Version` as `semver "1.2.3"` returns it.
#[derive(Debug)]
struct SemverVersion(eddy_semver::Version);

impl HostObject for SemverVersion {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }

    fn method(&self, name: &str) -> Option<Function> {
        let v = self.0.clone();
        let f = match name {
            "Major" => Function::local(&[], None, move |_, _| {
                Ok(Value::Uint(v.major(), crate::value::UintKind::Uint64))
            }),
            "Minor" => Function::local(&[], None, move |_, _| {
                Ok(Value::Uint(v.minor(), crate::value::UintKind::Uint64))
            }),
            "Patch" => Function::local(&[], None, move |_, _| {
                Ok(Value::Uint(v.patch(), crate::value::UintKind::Uint64))
            }),
            "Prerelease" => {
                Function::local(&[], None, move |_, _| Ok(Value::string(v.prerelease())))
            }
            "Metadata" => Function::local(&[], None, move |_, _| Ok(Value::string(v.metadata()))),
            "Original" => Function::local(&[], None, move |_, _| Ok(Value::string(v.original()))),
            "String" => Function::local(&[], None, move |_, _| Ok(Value::string(v.to_string()))),
            "Compare" | "LessThan" | "GreaterThan" | "Equal" => {
                let method = name.to_string();
                Function::local(&[Param::Any], None, move |_, a| {
                    let Value::Object(other) = &a[0] else {
                        return Err(FuncError::msg("expected a *semver.Version"));
                    };
                    let other = eddy_semver::Version::parse(&other.display().unwrap_or_default())
                        .map_err(|e| FuncError::msg(e.to_string()))?;
                    let order = v.compare(&other);
                    Ok(match method.as_str() {
                        "Compare" => Value::int(order as i64),
                        "LessThan" => Value::Bool(order.is_lt()),
                        "GreaterThan" => Value::Bool(order.is_gt()),
                        _ => Value::Bool(order.is_eq()),
                    })
                })
            }
            _ => return None,
        };
        Some(f)
    }

    fn display(&self) -> Option<String> {
        Some(self.0.to_string())
    }
}

fn url_parse(text: &str) -> Result<Value, FuncError> {
    let parsed = url::Url::parse(text).map_err(|e| {
        FuncError::msg(format!(
            "unable to parse url: parse {}: {e}",
            crate::fmt::quote_go(text)
        ))
    })?;
    let mut entries = BTreeMap::new();
    let userinfo = match (parsed.username(), parsed.password()) {
        ("", None) => String::new(),
        (user, None) => user.to_string(),
        (user, Some(pass)) => format!("{user}:{pass}"),
    };
    let host = match parsed.port() {
        Some(port) => format!("{}:{port}", parsed.host_str().unwrap_or("")),
        None => parsed.host_str().unwrap_or("").to_string(),
    };
    entries.insert("scheme".to_string(), Value::string(parsed.scheme()));
    entries.insert("host".to_string(), Value::string(host));
    entries.insert(
        "hostname".to_string(),
        Value::string(parsed.host_str().unwrap_or("")),
    );
    entries.insert("path".to_string(), Value::string(parsed.path()));
    entries.insert(
        "query".to_string(),
        Value::string(parsed.query().unwrap_or("")),
    );
    entries.insert("opaque".to_string(), Value::string(""));
    entries.insert(
        "fragment".to_string(),
        Value::string(parsed.fragment().unwrap_or("")),
    );
    entries.insert("userinfo".to_string(), Value::string(userinfo));
    Ok(Value::map(entries))
}

fn url_join(dict: &Value) -> String {
    let get = |key: &str| -> String {
        dict.as_map()
            .and_then(|m| m.entries.borrow().get(key).cloned())
            .map(|v| crate::funcs::convert::strval(&v))
            .unwrap_or_default()
    };
    let mut out = String::new();
    let scheme = get("scheme");
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    let opaque = get("opaque");
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        let host = get("host");
        let userinfo = get("userinfo");
        if !scheme.is_empty() || !host.is_empty() || !userinfo.is_empty() {
            out.push_str("//");
            if !userinfo.is_empty() {
                out.push_str(&userinfo);
                out.push('@');
            }
            out.push_str(&host);
        }
        let path = get("path");
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&path);
    }
    let query = get("query");
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    let fragment = get("fragment");
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&fragment);
    }
    out
}

fn expand_env(text: &str) -> String {
    let re = regex::Regex::new(r"\$(\{([^}]*)\}|[A-Za-z0-9_]+)").ok();
    match re {
        Some(re) => re
            .replace_all(text, |caps: &regex::Captures<'_>| {
                let name = caps
                    .get(2)
                    .or_else(|| caps.get(1))
                    .map_or("", |m| m.as_str());
                std::env::var(name).unwrap_or_default()
            })
            .into_owned(),
        None => text.to_string(),
    }
}
