//! `postBuild` variable substitution with bash-like `${…}` expressions.
//!
//! Supported: `${var}`, `${var:=default}` / `${var=default}` / `${var:-default}` / `${var-default}`,
//! `${var:offset}`, `${var:offset:length}`, `${var/find/replace}`; `$${var}` escapes to `${var}`;
//! `$var` without braces is left alone. In strict mode (Flux's default) an unset variable without a
//! default is an error naming it. No API calls here: the variables are gathered by the caller.

use std::collections::BTreeMap;

use eddy_api::kustomize::kustomization::{PostBuild, SubstituteStrategy};
use serde_json::Value;

/// The label/annotation that turns substitution off for one object.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Why substitution failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SubstituteError {
    #[error("variable not set (strict mode): \"{0}\"")]
    Unset(String),
    #[error("bad substitution: \"{0}\"")]
    Bad(String),
    #[error("{kind}/{name}: {message}")]
    Object {
        kind: String,
        name: String,
        message: String,
    },
}

/// Whether a variable name is valid (`^[_[:alpha:]][_[:alpha:][:digit:]]*$`).
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Replaces `${…}` expressions in `text`.
pub fn substitute(
    text: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<String, SubstituteError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            // `$${x}` → literal `${x}`.
            out.push_str("${");
            rest = escaped;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = matching_brace(body_start) else {
            return Err(SubstituteError::Bad(format!("${{{body_start}")));
        };
        let expression = &body_start[..end];
        out.push_str(&evaluate(expression, vars, strict)?);
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing an expression, allowing nested `${…}` in defaults.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(index),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn evaluate(
    expression: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<String, SubstituteError> {
    let name_end = expression
        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
        .unwrap_or(expression.len());
    let name = &expression[..name_end];
    if !is_valid_name(name) {
        return Err(SubstituteError::Bad(format!("${{{expression}}}")));
    }
    let operator = &expression[name_end..];
    let value = vars.get(name);
    if operator.is_empty() {
        return match value {
            Some(value) => Ok(value.clone()),
            None if strict => Err(SubstituteError::Unset(name.to_owned())),
            None => Ok(String::new()),
        };
    }
    for (prefix, use_default_when_empty) in [(":=", true), (":-", true), ("=", false), ("-", false)]
    {
        if let Some(default) = operator.strip_prefix(prefix) {
            return Ok(match value {
                Some(v) if !(use_default_when_empty && v.is_empty()) => v.clone(),
                _ => substitute(default, vars, strict)?,
            });
        }
    }
    let Some(value) = value else {
        return if strict {
            Err(SubstituteError::Unset(name.to_owned()))
        } else {
            Ok(String::new())
        };
    };
    if let Some(replacement) = operator.strip_prefix('/') {
        let (find, replace) = replacement.split_once('/').unwrap_or((replacement, ""));
        return Ok(if find.is_empty() {
            value.clone()
        } else {
            value.replacen(find, replace, 1)
        });
    }
    if let Some(range) = operator.strip_prefix(':') {
        let chars: Vec<char> = value.chars().collect();
        let (offset, length) = match range.split_once(':') {
            Some((offset, length)) => (offset, Some(length)),
            None => (range, None),
        };
        let bad = || SubstituteError::Bad(format!("${{{expression}}}"));
        let offset: i64 = offset.trim().parse().map_err(|_| bad())?;
        let len = i64::try_from(chars.len()).map_err(|_| bad())?;
        let start = if offset < 0 {
            (len + offset).max(0)
        } else {
            offset.min(len)
        };
        let end = match length {
            Some(length) => {
                let length: i64 = length.trim().parse().map_err(|_| bad())?;
                if length < 0 {
                    (len + length).max(start)
                } else {
                    (start + length).min(len)
                }
            }
            None => len,
        };
        let (start, end) = (
            usize::try_from(start).map_err(|_| bad())?,
            usize::try_from(end).map_err(|_| bad())?,
        );
        return Ok(chars[start..end].iter().collect());
    }
    Err(SubstituteError::Bad(format!("${{{expression}}}")))
}

/// Whether an object opted out with the `substitute: disabled` label or annotation.
fn opted_out(object: &Value) -> bool {
    ["labels", "annotations"].iter().any(|field| {
        object
            .pointer(&format!("/metadata/{field}"))
            .and_then(|m| m.get(SUBSTITUTE_KEY))
            .and_then(Value::as_str)
            == Some("disabled")
    })
}

/// `postBuild` substitution as the reconciler runs it: only when there are variables, or always
/// when the strategy says so (so that `${var:=default}` expressions resolve without variables).
pub fn substitute_post_build(
    objects: &mut [Value],
    post_build: &PostBuild,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<(), SubstituteError> {
    let always = matches!(
        post_build.substitute_strategy,
        Some(SubstituteStrategy::Always)
    );
    if vars.is_empty() && !always {
        return Ok(());
    }
    substitute_objects(objects, vars, strict)
}

/// Substitutes variables in every object that did not opt out. Each object is rendered to YAML,
/// substituted as text and parsed back, so variables work in keys and numbers too.
pub fn substitute_objects(
    objects: &mut [Value],
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<(), SubstituteError> {
    for object in objects.iter_mut() {
        if opted_out(object) {
            continue;
        }
        let describe = |message: String| SubstituteError::Object {
            kind: object["kind"].as_str().unwrap_or_default().to_owned(),
            name: object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            message,
        };
        let text = serde_yaml_ng::to_string(&*object).map_err(|e| describe(e.to_string()))?;
        if !text.contains("${") {
            continue;
        }
        let replaced = substitute(&text, vars, strict).map_err(|e| describe(e.to_string()))?;
        let parsed: Value =
            serde_yaml_ng::from_str(&replaced).map_err(|e| describe(e.to_string()))?;
        *object = parsed;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> BTreeMap<String, String> {
        [("name", "podinfo"), ("empty", ""), ("region", "eu-west-1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn expressions() {
        let v = vars();
        let s = |t| substitute(t, &v, true).unwrap();
        assert_eq!(s("app: ${name}"), "app: podinfo");
        assert_eq!(s("${missing:=fallback}"), "fallback");
        assert_eq!(s("${empty:=fallback}"), "fallback");
        assert_eq!(s("${empty=fallback}"), "");
        assert_eq!(s("${name:0:3}"), "pod");
        assert_eq!(s("${name:3}"), "info");
        assert_eq!(s("${region/west/east}"), "eu-east-1");
        assert_eq!(s("$name and $${name}"), "$name and ${name}");
        assert_eq!(s("${missing:=${name}-x}"), "podinfo-x");
    }

    #[test]
    fn strict_mode_names_the_variable() {
        assert_eq!(
            substitute("${nope}", &vars(), true),
            Err(SubstituteError::Unset("nope".into()))
        );
        assert_eq!(substitute("a${nope}b", &vars(), false).unwrap(), "ab");
    }

    #[test]
    fn objects_can_opt_out() {
        let mut objects = vec![
            json!({"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"n": "${name}", "r": "${replicas:=3}"}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "b", "annotations": {SUBSTITUTE_KEY: "disabled"}}, "data": {"n": "${name}"}}),
        ];
        substitute_objects(&mut objects, &vars(), true).unwrap();
        assert_eq!(objects[0]["data"]["n"], "podinfo");
        assert_eq!(objects[0]["data"]["r"], 3);
        assert_eq!(objects[1]["data"]["n"], "${name}");
    }

    #[test]
    fn names_are_validated() {
        assert!(is_valid_name("_a1"));
        assert!(!is_valid_name("1a"));
        assert!(!is_valid_name("a-b"));
    }
}
