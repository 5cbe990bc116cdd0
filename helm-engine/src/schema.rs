//! `values.schema.json` validation: each chart's schema against its own section of the
//! coalesced values (Helm's `ValidateAgainstSchema`). The JSON Schema keywords charts use are
//! asserted (types, properties, required, items, enum/const, bounds, lengths, patterns,
//! combinators, if/then/else, local `$ref`s); `format` is not asserted (as in Helm's
//! validator) and references outside the document are treated as permissive.

use serde_json::{Map, Value as Json};

use crate::chart::Chart;
use crate::error::Error;
use crate::values::Table;

/// Validates `values` against the schemas of `chart` and its subcharts.
pub fn validate_values(chart: &Chart, values: &Table) -> Result<(), Error> {
    let mut report = String::new();
    collect_violations(chart, values, &mut report);
    if report.is_empty() {
        Ok(())
    } else {
        Err(Error::Schema(report))
    }
}

fn collect_violations(chart: &Chart, values: &Table, report: &mut String) {
    if let Some(raw) = &chart.schema {
        match serde_json::from_slice::<Json>(raw) {
            Err(e) => report.push_str(&format!(
                "{}:\ninvalid values.schema.json: {e}\n",
                chart.name()
            )),
            Ok(schema) => {
                let mut violations = Vec::new();
                let values = Json::Object(values.clone());
                Validator { root: &schema }.check(&schema, &values, "", &mut violations);
                if !violations.is_empty() {
                    report.push_str(&format!("{}:\n", chart.name()));
                    for v in violations {
                        report.push_str(&format!("- {v}\n"));
                    }
                }
            }
        }
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Json::Null) => {}
            Some(Json::Object(sub_values)) => collect_violations(sub, sub_values, report),
            Some(_) => report.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map)\n",
                sub.name()
            )),
        }
    }
}

struct Validator<'a> {
    root: &'a Json,
}

impl Validator<'_> {
    fn check(&self, schema: &Json, value: &Json, at: &str, out: &mut Vec<String>) {
        let schema = match schema {
            Json::Bool(true) => return,
            Json::Bool(false) => {
                out.push(format!("at '{at}': false schema"));
                return;
            }
            Json::Object(s) => s,
            _ => return,
        };
        if let Some(Json::String(reference)) = schema.get("$ref")
            && let Some(target) = self.resolve(reference)
        {
            self.check(target, value, at, out);
        }
        self.check_type(schema, value, at, out);
        self.check_values(schema, value, at, out);
        self.check_combinators(schema, value, at, out);
        match value {
            Json::Object(map) => self.check_object(schema, map, at, out),
            Json::Array(items) => self.check_array(schema, items, at, out),
            Json::String(s) => check_string(schema, s, at, out),
            Json::Number(n) => check_number(schema, n.as_f64().unwrap_or(0.0), at, out),
            _ => {}
        }
    }

    fn resolve(&self, reference: &str) -> Option<&Json> {
        let pointer = reference.strip_prefix('#')?;
        self.root
            .pointer(&pointer.replace("~1", "/").replace("~0", "~"))
    }

    fn check_type(
        &self,
        schema: &Map<String, Json>,
        value: &Json,
        at: &str,
        out: &mut Vec<String>,
    ) {
        let allowed: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => return,
        };
        if !allowed.iter().any(|t| has_type(value, t)) {
            out.push(format!(
                "at '{at}': got {}, want {}",
                type_name(value),
                allowed.join(" or ")
            ));
        }
    }

    fn check_values(
        &self,
        schema: &Map<String, Json>,
        value: &Json,
        at: &str,
        out: &mut Vec<String>,
    ) {
        if let Some(Json::Array(options)) = schema.get("enum")
            && !options.iter().any(|o| json_equal(o, value))
        {
            out.push(format!(
                "at '{at}': value must be one of {}",
                Json::Array(options.clone())
            ));
        }
        if let Some(constant) = schema.get("const")
            && !json_equal(constant, value)
        {
            out.push(format!("at '{at}': value must be {constant}"));
        }
    }

    fn check_combinators(
        &self,
        schema: &Map<String, Json>,
        value: &Json,
        at: &str,
        out: &mut Vec<String>,
    ) {
        let passes = |s: &Json| {
            let mut errors = Vec::new();
            self.check(s, value, at, &mut errors);
            errors.is_empty()
        };
        if let Some(Json::Array(all)) = schema.get("allOf") {
            for s in all {
                self.check(s, value, at, out);
            }
        }
        if let Some(Json::Array(any)) = schema.get("anyOf")
            && !any.iter().any(passes)
        {
            out.push(format!("at '{at}': anyOf failed"));
        }
        if let Some(Json::Array(one)) = schema.get("oneOf")
            && one.iter().filter(|s| passes(s)).count() != 1
        {
            out.push(format!("at '{at}': oneOf failed"));
        }
        if let Some(not) = schema.get("not")
            && passes(not)
        {
            out.push(format!("at '{at}': not failed"));
        }
        if let Some(condition) = schema.get("if") {
            let branch = if passes(condition) { "then" } else { "else" };
            if let Some(s) = schema.get(branch) {
                self.check(s, value, at, out);
            }
        }
    }

    fn check_object(
        &self,
        schema: &Map<String, Json>,
        map: &Map<String, Json>,
        at: &str,
        out: &mut Vec<String>,
    ) {
        for key in schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(key) = key.as_str()
                && !map.contains_key(key)
            {
                out.push(format!("at '{at}': missing property '{key}'"));
            }
        }
        let count = map.len() as f64;
        bound(
            schema,
            "minProperties",
            |min| count < min,
            at,
            "too few properties",
            out,
        );
        bound(
            schema,
            "maxProperties",
            |max| count > max,
            at,
            "too many properties",
            out,
        );
        let properties = schema.get("properties").and_then(Json::as_object);
        let patterns: Vec<(regex::Regex, &Json)> = schema
            .get("patternProperties")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(p, s)| Some((regex::Regex::new(p).ok()?, s)))
            .collect();
        for (key, value) in map {
            let here = format!("{at}/{key}");
            let mut matched = false;
            if let Some(s) = properties.and_then(|p| p.get(key)) {
                matched = true;
                self.check(s, value, &here, out);
            }
            for (pattern, s) in &patterns {
                if pattern.is_match(key) {
                    matched = true;
                    self.check(s, value, &here, out);
                }
            }
            if !matched && let Some(extra) = schema.get("additionalProperties") {
                if extra == &Json::Bool(false) {
                    out.push(format!(
                        "at '{at}': additional property '{key}' not allowed"
                    ));
                } else {
                    self.check(extra, value, &here, out);
                }
            }
            if let Some(Json::Array(needed)) = schema.get("dependencies").and_then(|d| d.get(key)) {
                for n in needed.iter().filter_map(Json::as_str) {
                    if !map.contains_key(n) {
                        out.push(format!("at '{at}': '{key}' requires '{n}'"));
                    }
                }
            }
        }
    }

    fn check_array(
        &self,
        schema: &Map<String, Json>,
        items: &[Json],
        at: &str,
        out: &mut Vec<String>,
    ) {
        let count = items.len() as f64;
        bound(
            schema,
            "minItems",
            |min| count < min,
            at,
            "too few items",
            out,
        );
        bound(
            schema,
            "maxItems",
            |max| count > max,
            at,
            "too many items",
            out,
        );
        match schema.get("items") {
            Some(Json::Array(tuple)) => {
                for (i, (s, v)) in tuple.iter().zip(items).enumerate() {
                    self.check(s, v, &format!("{at}/{i}"), out);
                }
            }
            Some(s) => {
                for (i, v) in items.iter().enumerate() {
                    self.check(s, v, &format!("{at}/{i}"), out);
                }
            }
            None => {}
        }
        if schema.get("uniqueItems") == Some(&Json::Bool(true)) {
            for (i, a) in items.iter().enumerate() {
                if items[..i].iter().any(|b| json_equal(a, b)) {
                    out.push(format!("at '{at}': items are not unique"));
                    break;
                }
            }
        }
    }
}

fn bound(
    schema: &Map<String, Json>,
    keyword: &str,
    violated: impl Fn(f64) -> bool,
    at: &str,
    message: &str,
    out: &mut Vec<String>,
) {
    if let Some(limit) = schema.get(keyword).and_then(Json::as_f64)
        && violated(limit)
    {
        out.push(format!("at '{at}': {message} ({keyword} {limit})"));
    }
}

fn check_string(schema: &Map<String, Json>, s: &str, at: &str, out: &mut Vec<String>) {
    let length = s.chars().count() as f64;
    bound(
        schema,
        "minLength",
        |min| length < min,
        at,
        "string too short",
        out,
    );
    bound(
        schema,
        "maxLength",
        |max| length > max,
        at,
        "string too long",
        out,
    );
    if let Some(Json::String(pattern)) = schema.get("pattern")
        && let Ok(re) = regex::Regex::new(pattern)
        && !re.is_match(s)
    {
        out.push(format!(
            "at '{at}': '{s}' does not match pattern '{pattern}'"
        ));
    }
}

fn check_number(schema: &Map<String, Json>, n: f64, at: &str, out: &mut Vec<String>) {
    bound(
        schema,
        "minimum",
        |min| n < min,
        at,
        "less than minimum",
        out,
    );
    bound(
        schema,
        "maximum",
        |max| n > max,
        at,
        "greater than maximum",
        out,
    );
    bound(
        schema,
        "exclusiveMinimum",
        |min| n <= min,
        at,
        "not above exclusiveMinimum",
        out,
    );
    bound(
        schema,
        "exclusiveMaximum",
        |max| n >= max,
        at,
        "not below exclusiveMaximum",
        out,
    );
    bound(
        schema,
        "multipleOf",
        |m| m > 0.0 && (n / m).fract() != 0.0,
        at,
        "not a multiple",
        out,
    );
}

fn has_type(value: &Json, wanted: &str) -> bool {
    match wanted {
        "integer" => value.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => value.is_number(),
        other => type_name(value) == other,
    }
}

fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn violations(schema: Json, value: Json) -> Vec<String> {
        let mut out = Vec::new();
        Validator { root: &schema }.check(&schema, &value, "", &mut out);
        out
    }

    #[test]
    fn keywords() {
        let schema = json!({
            "type": "object",
            "required": ["name"],
            "definitions": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}},
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z]+$"},
                "port": {"$ref": "#/definitions/port"},
                "mode": {"enum": ["a", "b"]},
                "list": {"type": "array", "items": {"type": "string"}, "maxItems": 2}
            },
            "additionalProperties": false
        });
        assert!(
            violations(
                schema.clone(),
                json!({"name": "ok", "port": 80.0, "mode": "a", "list": ["x"]})
            )
            .is_empty()
        );
        assert_eq!(violations(schema.clone(), json!({"port": 80.5})).len(), 2);
        assert_eq!(
            violations(schema.clone(), json!({"name": "A", "port": 0})).len(),
            2
        );
        assert_eq!(
            violations(schema.clone(), json!({"name": "a", "extra": 1})).len(),
            1
        );
        assert_eq!(
            violations(schema, json!({"name": "a", "list": [1, "b", "c"]})).len(),
            2
        );
    }

    #[test]
    fn combinators_and_conditionals() {
        let schema = json!({
            "anyOf": [{"type": "string"}, {"type": "integer"}],
            "if": {"type": "string"}, "then": {"minLength": 2}, "else": {"minimum": 10}
        });
        assert!(violations(schema.clone(), json!("ab")).is_empty());
        assert_eq!(violations(schema.clone(), json!("a")).len(), 1);
        assert_eq!(violations(schema.clone(), json!(5)).len(), 1);
        assert_eq!(violations(schema, json!(true)).len(), 1);
    }
}
