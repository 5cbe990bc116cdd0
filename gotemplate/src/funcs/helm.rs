//! Helm v4's own template functions (`pkg/engine/funcs.go` and the ones `Engine.initFunMap`
//! binds per render): YAML/JSON/TOML conversions, `include`, `tpl`, `required`, `fail`,
//! `lookup` and `getHostByName` (the last two are hooks the caller may replace).

use std::collections::BTreeMap;

use crate::error::FuncError;
use crate::funcs::convert::{JsonStyle, to_json};
use crate::funcs::{FuncMap, Param, str_arg};
use crate::value::Value;

/// Helm wraps `required`/`fail` messages so its error cleanup can find them.
pub const WARN_START: &str = "HELM_ERR_START";
pub const WARN_END: &str = "HELM_ERR_END";

const COMPACT: JsonStyle = JsonStyle {
    escape_html: true,
    indent: None,
};

fn to_yaml(v: &Value) -> Result<String, String> {
    crate::yaml::marshal(v).map(|text| text.strip_suffix('\n').unwrap_or(&text).to_string())
}

pub fn register(map: &mut FuncMap) {
    use Param::{Any, String as Str};
    map.add("toYaml", &[Any], |_, a| {
        Ok(Value::string(to_yaml(&a[0]).unwrap_or_default()))
    });
    map.add("mustToYaml", &[Any], |_, a| {
        to_yaml(&a[0]).map(Value::string).map_err(FuncError::msg)
    });
    // Helm swallows the encoder's errors here too: the result is then empty.
    map.add("toYamlPretty", &[Any], |_, a| {
        let text = crate::yaml::marshal_pretty(&a[0]).unwrap_or_default();
        Ok(Value::string(text.strip_suffix('\n').unwrap_or(&text)))
    });
    map.add("toToml", &[Any], |_, a| {
        Ok(Value::string(
            crate::toml::encode(&a[0]).unwrap_or_else(|e| e),
        ))
    });
    map.add("mustToToml", &[Any], |_, a| {
        crate::toml::encode(&a[0])
            .map(Value::string)
            .map_err(FuncError::msg)
    });
    map.add("fromToml", &[Str], |_, a| {
        Ok(crate::toml_parse::parse(str_arg(&a, 0)).unwrap_or_else(error_map))
    });
    map.add("fromYaml", &[Str], |_, a| {
        Ok(match crate::yaml::unmarshal(str_arg(&a, 0)) {
            Ok(v) if v.as_map().is_some() => v,
            Ok(Value::Nil) => Value::empty_map(),
            Ok(other) => error_map(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            )),
            Err(e) => error_map(e),
        })
    });
    map.add("fromYamlArray", &[Str], |_, a| {
        Ok(match crate::yaml::unmarshal(str_arg(&a, 0)) {
            Ok(v) if v.as_list().is_some() => v,
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(other) => Value::list(vec![Value::string(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&other)
            ))]),
            Err(e) => Value::list(vec![Value::string(e)]),
        })
    });
    map.add("toJson", &[Any], |_, a| {
        Ok(Value::string(to_json(&a[0], COMPACT).unwrap_or_default()))
    });
    map.add("mustToJson", &[Any], |_, a| {
        to_json(&a[0], COMPACT)
            .map(Value::string)
            .map_err(FuncError::msg)
    });
    map.add("fromJson", &[Str], |_, a| {
        Ok(match crate::funcs::convert::from_json(str_arg(&a, 0)) {
            Ok(v) if v.as_map().is_some() => v,
            Ok(Value::Nil) => Value::empty_map(),
            Ok(other) => error_map(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            )),
            Err(e) => error_map(e),
        })
    });
    map.add("fromJsonArray", &[Str], |_, a| {
        Ok(match crate::funcs::convert::from_json(str_arg(&a, 0)) {
            Ok(v) if v.as_list().is_some() => v,
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(other) => Value::list(vec![Value::string(format!(
                "json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&other)
            ))]),
            Err(e) => Value::list(vec![Value::string(e)]),
        })
    });
    map.add("include", &[Str, Any], |context, a| {
        let name = str_arg(&a, 0).to_string();
        context.enter_include(&name)?;
        let result = context.execute_template(&name, a[1].clone());
        context.leave_include(&name);
        result
            .map(Value::string)
            .map_err(|e| FuncError::Nested(Box::new(e)))
    });
    map.add("tpl", &[Str, Any], |context, a| {
        let text = str_arg(&a, 0).to_string();
        match context.execute_text(&text, a[1].clone()) {
            Ok(out) => Ok(Value::string(out.replace("<no value>", ""))),
            Err(crate::Error::Parse(e)) => Err(FuncError::msg(format!(
                "cannot parse template {}: {e}",
                crate::fmt::quote_go(&text)
            ))),
            Err(crate::Error::Exec(e)) if e.kind == crate::ExecErrorKind::Limit => {
                Err(FuncError::Nested(Box::new(crate::Error::Exec(e))))
            }
            Err(e) => Err(FuncError::msg(format!(
                "error during tpl function execution for {}: {e}",
                crate::fmt::quote_go(&text)
            ))),
        }
    });
    map.add("required", &[Str, Any], |_, a| {
        let missing = match &a[1] {
            Value::Nil => true,
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        if missing {
            return Err(FuncError::msg(format!(
                "{WARN_START}{}{WARN_END}",
                str_arg(&a, 0)
            )));
        }
        Ok(a[1].clone())
    });
    map.add("fail", &[Str], |_, a| {
        Err(FuncError::msg(format!(
            "{WARN_START}{}{WARN_END}",
            str_arg(&a, 0)
        )))
    });
    map.add("lookup", &[Str, Str, Str, Str], |_, _| {
        Ok(Value::empty_map())
    });
    map.add("getHostByName", &[Str], |_, _| Ok(Value::string("")));
}

fn error_map(message: String) -> Value {
    let mut entries = BTreeMap::new();
    entries.insert("Error".to_string(), Value::string(message));
    Value::map(entries)
}

/// How `encoding/json` names a JSON value's kind in type errors.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Float(..) | Value::Int(..) | Value::Uint(..) => "number",
        Value::String(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) => "object",
        _ => "value",
    }
}
