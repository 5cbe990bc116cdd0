//! Sprig's list functions. Each reads any slice and returns a new `[]interface {}`.

use std::rc::Rc;

use super::kind_for_error;
use crate::error::FuncError;
use crate::funcs::convert::{is_empty, to_int64};
use crate::funcs::{FuncMap, Param, int_arg};
use crate::value::{ElemType, List, Value, deep_equal};

/// The elements of a slice argument, or Sprig's "Cannot … on type X" error.
fn items(v: &Value, action: &str) -> Result<Vec<Value>, FuncError> {
    if let Some(list) = v.as_list() {
        return Ok(list.items.clone());
    }
    match v {
        Value::Bytes(b) => Ok(b
            .iter()
            .map(|b| Value::Uint(u64::from(*b), crate::value::UintKind::Uint8))
            .collect()),
        Value::Nil => Err(nil_type_error()),
        other => Err(FuncError::msg(format!(
            "Cannot {action} on type {}",
            kind_for_error(other)
        ))),
    }
}

/// `reflect.TypeOf(nil).Kind()` panics in Go.
fn nil_type_error() -> FuncError {
    FuncError::msg("runtime error: invalid memory address or nil pointer dereference")
}

fn list(items: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::list(items))
}

pub fn register(map: &mut FuncMap) {
    use Param::{Any, Int};
    map.add_variadic("list", &[], Any, |_, a| list(a));
    map.add_variadic("tuple", &[], Any, |_, a| list(a));
    for name in ["append", "push", "mustAppend", "mustPush"] {
        map.add(name, &[Any, Any], |_, a| {
            let mut all = items(&a[0], "push")?;
            all.push(a[1].clone());
            list(all)
        });
    }
    for name in ["prepend", "mustPrepend"] {
        map.add(name, &[Any, Any], |_, a| {
            let mut all = vec![a[1].clone()];
            all.extend(items(&a[0], "prepend")?);
            list(all)
        });
    }
    for name in ["chunk", "mustChunk"] {
        map.add(name, &[Int, Any], |_, a| {
            let size = int_arg(&a, 0);
            let all = items(&a[1], "chunk")?;
            if size <= 0 {
                return Err(FuncError::msg("runtime error: integer divide by zero"));
            }
            let chunks: Vec<Value> = all
                .chunks(size as usize)
                .map(|c| Value::list(c.to_vec()))
                .collect();
            Ok(Value::List(Rc::new(List {
                elem: ElemType::Named("[]interface {}".into()),
                items: chunks,
            })))
        });
    }
    for name in ["last", "mustLast"] {
        map.add(name, &[Any], |_, a| {
            Ok(items(&a[0], "find last")?.pop().unwrap_or_default())
        });
    }
    for name in ["first", "mustFirst"] {
        map.add(name, &[Any], |_, a| {
            Ok(items(&a[0], "find first")?
                .into_iter()
                .next()
                .unwrap_or_default())
        });
    }
    for name in ["rest", "mustRest"] {
        map.add(name, &[Any], |_, a| {
            let all = items(&a[0], "find rest")?;
            if all.is_empty() {
                return Ok(Value::List(Rc::new(List::default())));
            }
            list(all[1..].to_vec())
        });
    }
    for name in ["initial", "mustInitial"] {
        map.add(name, &[Any], |_, a| {
            let all = items(&a[0], "find initial")?;
            if all.is_empty() {
                return Ok(Value::List(Rc::new(List::default())));
            }
            list(all[..all.len() - 1].to_vec())
        });
    }
    for name in ["reverse", "mustReverse"] {
        map.add(name, &[Any], |_, a| {
            let mut all = items(&a[0], "find reverse")?;
            all.reverse();
            list(all)
        });
    }
    for name in ["compact", "mustCompact"] {
        map.add(name, &[Any], |_, a| {
            list(
                items(&a[0], "compact")?
                    .into_iter()
                    .filter(|v| !is_empty(v))
                    .collect(),
            )
        });
    }
    for name in ["uniq", "mustUniq"] {
        map.add(name, &[Any], |_, a| {
            let mut out: Vec<Value> = Vec::new();
            for item in items(&a[0], "find uniq")? {
                if !out.iter().any(|o| deep_equal(o, &item)) {
                    out.push(item);
                }
            }
            list(out)
        });
    }
    for name in ["without", "mustWithout"] {
        map.add_variadic(name, &[Any], Any, |_, a| {
            let omit = &a[1..];
            list(
                items(&a[0], "find without")?
                    .into_iter()
                    .filter(|v| !omit.iter().any(|o| deep_equal(o, v)))
                    .collect(),
            )
        });
    }
    for name in ["has", "mustHas"] {
        map.add(name, &[Any, Any], |_, a| {
            if let Value::Nil = a[1] {
                return Ok(Value::Bool(false));
            }
            let all = items(&a[1], "find has")?;
            Ok(Value::Bool(all.iter().any(|v| deep_equal(v, &a[0]))))
        });
    }
    for name in ["slice", "mustSlice"] {
        map.add_variadic(name, &[Any], Any, |_, a| {
            let Some(source) = a[0].as_list() else {
                return match &a[0] {
                    Value::Nil => Err(nil_type_error()),
                    other => Err(FuncError::msg(format!(
                        "list should be type of slice or array but {}",
                        kind_for_error(other)
                    ))),
                };
            };
            let len = source.items.len() as i64;
            if len == 0 {
                return Ok(Value::Nil);
            }
            let start = a.get(1).map_or(0, to_int64);
            let end = if a.len() < 3 { len } else { to_int64(&a[2]) };
            if start < 0 || end < start || end > len {
                return Err(FuncError::msg(
                    "reflect: slice index out of range".to_string(),
                ));
            }
            Ok(Value::List(Rc::new(List {
                elem: source.elem.clone(),
                items: source.items[start as usize..end as usize].to_vec(),
            })))
        });
    }
    map.add_variadic("concat", &[], Any, |_, a| {
        let mut out = Vec::new();
        for v in &a {
            match v.as_list() {
                Some(l) => out.extend(l.items.iter().cloned()),
                None => {
                    return Err(match v {
                        Value::Nil => nil_type_error(),
                        other => FuncError::msg(format!(
                            "Cannot concat type {} as list",
                            kind_for_error(other)
                        )),
                    });
                }
            }
        }
        if out.is_empty() {
            // Go's nil []interface{} held in an interface prints as [].
            return Ok(Value::List(Rc::new(List::default())));
        }
        list(out)
    });
}
