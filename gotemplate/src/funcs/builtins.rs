//! Go's predefined template functions, with their error texts.

use std::rc::Rc;

use super::{FuncMap, Function, Param};
use crate::error::FuncError;
use crate::fmt::{sprint, sprintf, sprintln};
use crate::value::{List, UintKind, Value};

pub fn register(map: &mut FuncMap) {
    let mut and = Function::new(&[Param::Reflect], Some(Param::Reflect), |_, args| {
        Ok(args.into_iter().next().unwrap_or_default())
    });
    and.short_circuit = Some(false);
    map.insert("and", and);
    let mut or = Function::new(&[Param::Reflect], Some(Param::Reflect), |_, args| {
        Ok(args.into_iter().next().unwrap_or_default())
    });
    or.short_circuit = Some(true);
    map.insert("or", or);
    map.add("not", &[Param::Reflect], |_, args| {
        Ok(Value::Bool(!args[0].truth()))
    });
    let mut len = Function::new(&[Param::Reflect], None, |_, args| {
        length(&args[0]).map(Value::int)
    });
    len.invalid_arg_panic = Some("reflect: call of reflect.Value.Type on zero Value");
    map.insert("len", len);
    map.add_variadic("index", &[Param::Reflect], Param::Reflect, |_, args| {
        index(&args[0], &args[1..])
    });
    map.add_variadic("slice", &[Param::Reflect], Param::Reflect, |_, args| {
        slice(&args[0], &args[1..])
    });
    map.add_variadic("print", &[], Param::Any, |_, args| {
        Ok(Value::string(sprint(&args)))
    });
    map.add_variadic("println", &[], Param::Any, |_, args| {
        Ok(Value::string(sprintln(&args)))
    });
    map.add_variadic("printf", &[Param::String], Param::Any, |_, args| {
        let format = args[0].as_str().unwrap_or("").to_string();
        Ok(Value::string(sprintf(&format, &args[1..])))
    });
    map.add_variadic("html", &[], Param::Any, |_, args| {
        Ok(Value::string(html_escape(&eval_args(&args))))
    });
    map.add_variadic("js", &[], Param::Any, |_, args| {
        Ok(Value::string(js_escape(&eval_args(&args))))
    });
    map.add_variadic("urlquery", &[], Param::Any, |_, args| {
        Ok(Value::string(query_escape(&eval_args(&args))))
    });
    map.add_variadic("eq", &[Param::Reflect], Param::Reflect, |_, args| {
        eq(&args[0], &args[1..]).map(Value::Bool)
    });
    map.add("ne", &[Param::Reflect, Param::Reflect], |_, args| {
        eq(&args[0], &args[1..]).map(|b| Value::Bool(!b))
    });
    map.add("lt", &[Param::Reflect, Param::Reflect], |_, args| {
        lt(&args[0], &args[1]).map(Value::Bool)
    });
    map.add("le", &[Param::Reflect, Param::Reflect], |_, args| {
        le(&args[0], &args[1]).map(Value::Bool)
    });
    map.add("gt", &[Param::Reflect, Param::Reflect], |_, args| {
        le(&args[0], &args[1]).map(|b| Value::Bool(!b))
    });
    map.add("ge", &[Param::Reflect, Param::Reflect], |_, args| {
        lt(&args[0], &args[1]).map(|b| Value::Bool(!b))
    });
    map.add_variadic("call", &[Param::Reflect], Param::Reflect, |_, args| {
        Err(match &args[0] {
            Value::Nil => FuncError::msg("call of nil"),
            other => FuncError::msg(format!(
                "non-function {} of type {}",
                crate::fmt::to_string_v(other),
                other.type_name()
            )),
        })
    });
}

fn length(item: &Value) -> Result<i64, FuncError> {
    let n = match item {
        Value::Nil => return Err(FuncError::msg("len of nil pointer")),
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        other => {
            if let Some(list) = other.as_list() {
                list.items.len()
            } else if let Some(map) = other.as_map() {
                map.entries.borrow().len()
            } else if other.is_nil() {
                return Err(FuncError::msg("len of nil pointer"));
            } else {
                return Err(FuncError::msg(format!("len of type {}", other.type_name())));
            }
        }
    };
    Ok(n as i64)
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, FuncError> {
    let x = match index {
        Value::Int(i, _) => *i,
        Value::Uint(u, _) => *u as i64,
        Value::Nil => return Err(FuncError::msg("cannot index slice/array with nil")),
        other => {
            return Err(FuncError::msg(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(FuncError::msg(format!("index out of range: {x}")));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, FuncError> {
    if let Value::Nil = item {
        return Err(FuncError::msg("index of untyped nil"));
    }
    let mut item = item.clone();
    for index in indexes {
        if item.is_nil() {
            return Err(FuncError::msg("index of nil pointer"));
        }
        item = match &item {
            Value::String(s) => {
                let x = index_arg(index, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Value::Uint(u64::from(*b), UintKind::Uint8),
                    None => return Err(FuncError::msg("reflect: string index out of range")),
                }
            }
            Value::Bytes(b) => {
                let x = index_arg(index, b.len())?;
                match b.get(x) {
                    Some(b) => Value::Uint(u64::from(*b), UintKind::Uint8),
                    None => return Err(FuncError::msg("reflect: slice index out of range")),
                }
            }
            other => {
                if let Some(list) = other.as_list() {
                    let x = index_arg(index, list.items.len())?;
                    match list.items.get(x) {
                        Some(v) => v.clone(),
                        None => return Err(FuncError::msg("reflect: slice index out of range")),
                    }
                } else if let Some(map) = other.as_map() {
                    let key = match index {
                        Value::String(s) => s.clone(),
                        Value::Nil => {
                            return Err(FuncError::msg("value is nil; should be of type string"));
                        }
                        other => {
                            return Err(FuncError::msg(format!(
                                "value has type {}; should be string",
                                other.type_name()
                            )));
                        }
                    };
                    let found = map.entries.borrow().get(key.as_ref()).cloned();
                    found.unwrap_or_else(|| zero_value(&map.elem))
                } else {
                    return Err(FuncError::msg(format!(
                        "can't index item of type {}",
                        other.type_name()
                    )));
                }
            }
        };
    }
    Ok(item)
}

fn zero_value(elem: &crate::value::ElemType) -> Value {
    use crate::value::ElemType;
    match elem {
        ElemType::String => Value::string(""),
        ElemType::Int => Value::int(0),
        ElemType::Int64 => Value::int64(0),
        ElemType::Float64 => Value::float(0.0),
        ElemType::Bool => Value::Bool(false),
        _ => Value::Nil,
    }
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, FuncError> {
    if let Value::Nil = item {
        return Err(FuncError::msg("slice of untyped nil"));
    }
    if indexes.len() > 3 {
        return Err(FuncError::msg(format!(
            "too many slice indexes: {}",
            indexes.len()
        )));
    }
    let len = match item {
        Value::String(s) => s.len(),
        other => match other.as_list() {
            Some(list) => list.items.len(),
            None => {
                return Err(FuncError::msg(format!(
                    "can't slice item of type {}",
                    other.type_name()
                )));
            }
        },
    };
    if let Value::String(_) = item
        && indexes.len() == 3
    {
        return Err(FuncError::msg("cannot 3-index slice a string"));
    }
    let mut bounds = [0usize, len, len];
    for (i, index) in indexes.iter().enumerate() {
        bounds[i] = index_arg(index, len)?;
    }
    if bounds[0] > bounds[1] {
        return Err(FuncError::msg(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        )));
    }
    if indexes.len() == 3 && bounds[1] > bounds[2] {
        return Err(FuncError::msg(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        )));
    }
    match item {
        Value::String(s) => match s.get(bounds[0]..bounds[1]) {
            Some(part) => Ok(Value::string(part)),
            None => Ok(Value::string(
                String::from_utf8_lossy(&s.as_bytes()[bounds[0]..bounds[1]]).as_ref(),
            )),
        },
        other => {
            let list = other.as_list().unwrap_or_default();
            Ok(Value::List(Rc::new(List {
                elem: list.elem.clone(),
                items: list.items[bounds[0]..bounds[1]].to_vec(),
            })))
        }
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(..) => Kind::Int,
        Value::Uint(..) => Kind::Uint,
        Value::Float(..) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn as_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i, _) => *i,
        _ => 0,
    }
}

fn as_u64(v: &Value) -> u64 {
    match v {
        Value::Uint(u, _) => *u,
        _ => 0,
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Float(f, _) => *f,
        _ => 0.0,
    }
}

/// `eq arg1 arg2…`: true when arg1 equals any of the others.
pub fn eq(arg1: &Value, rest: &[Value]) -> Result<bool, FuncError> {
    if rest.is_empty() {
        return Err(FuncError::msg("missing argument for comparison"));
    }
    let k1 = basic_kind(arg1);
    for arg in rest {
        let k2 = basic_kind(arg);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (Kind::Int, Kind::Uint) => as_i64(arg1) >= 0 && as_i64(arg1) as u64 == as_u64(arg),
                (Kind::Uint, Kind::Int) => as_i64(arg) >= 0 && as_u64(arg1) == as_i64(arg) as u64,
                _ => {
                    if !matches!(arg1, Value::Nil) && !matches!(arg, Value::Nil) {
                        return Err(FuncError::msg(format!(
                            "incompatible types for comparison: {} and {}",
                            arg1.type_name(),
                            arg.type_name()
                        )));
                    }
                    false
                }
            }
        } else {
            match k1 {
                Kind::Bool => arg1.truth() == arg.truth(),
                Kind::Float => as_f64(arg1) == as_f64(arg),
                Kind::Int => as_i64(arg1) == as_i64(arg),
                Kind::Uint => as_u64(arg1) == as_u64(arg),
                Kind::String => arg1.as_str() == arg.as_str(),
                Kind::Invalid => compare_composite(arg1, arg)?,
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn compare_composite(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (k1, k2) = (a.kind_name(), b.kind_name());
    if k1 != k2 && k1 != "invalid" && k2 != "invalid" {
        return Err(FuncError::msg(format!(
            "non-comparable types {}: {}, {}: {}",
            sprintf("%s", std::slice::from_ref(a)),
            a.type_name(),
            b.type_name(),
            sprintf("%v", std::slice::from_ref(b))
        )));
    }
    if a.is_nil() || b.is_nil() {
        return Ok(a.is_nil() == b.is_nil());
    }
    if matches!(k2, "map" | "slice") {
        return Err(FuncError::msg(format!(
            "non-comparable type {}: {}",
            sprintf("%s", std::slice::from_ref(b)),
            b.type_name()
        )));
    }
    Ok(crate::value::deep_equal(a, b))
}

pub fn lt(arg1: &Value, arg2: &Value) -> Result<bool, FuncError> {
    let k1 = basic_kind(arg1);
    let k2 = basic_kind(arg2);
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err(FuncError::msg("invalid type for comparison"));
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int, Kind::Uint) => Ok(as_i64(arg1) < 0 || (as_i64(arg1) as u64) < as_u64(arg2)),
            (Kind::Uint, Kind::Int) => Ok(as_i64(arg2) >= 0 && as_u64(arg1) < as_i64(arg2) as u64),
            _ => Err(FuncError::msg(format!(
                "incompatible types for comparison: {} and {}",
                arg1.type_name(),
                arg2.type_name()
            ))),
        };
    }
    match k1 {
        Kind::Bool | Kind::Invalid => Err(FuncError::msg("invalid type for comparison")),
        Kind::Float => Ok(as_f64(arg1) < as_f64(arg2)),
        Kind::Int => Ok(as_i64(arg1) < as_i64(arg2)),
        Kind::Uint => Ok(as_u64(arg1) < as_u64(arg2)),
        Kind::String => Ok(arg1.as_str().unwrap_or("") < arg2.as_str().unwrap_or("")),
    }
}

fn le(arg1: &Value, arg2: &Value) -> Result<bool, FuncError> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}

/// Go's `evalArgs` for `html`, `js` and `urlquery`.
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil => Value::string("<no value>"),
            other => other.clone(),
        })
        .collect();
    sprint(&printable)
}

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{fffd}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c if c.is_control() || c.is_whitespace() && c != ' ' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
