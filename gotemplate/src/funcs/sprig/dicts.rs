//! Sprig's dict functions; `merge`/`mergeOverwrite` follow dario.cat/mergo v1.0.1 on maps.

use std::collections::BTreeMap;

use crate::error::FuncError;
use crate::funcs::convert::strval;
use crate::funcs::{FuncMap, Param, str_arg};
use crate::value::{ElemType, MapRef, Value};

fn map_arg(v: &Value) -> Option<MapRef> {
    v.as_map()
}

pub fn register(map: &mut FuncMap) {
    use Param::{Any, Map, String as Str};
    map.add_variadic("dict", &[], Any, |_, a| {
        let mut entries = BTreeMap::new();
        let mut i = 0;
        while i < a.len() {
            let key = strval(&a[i]);
            let value = a.get(i + 1).cloned().unwrap_or_else(|| Value::string(""));
            entries.insert(key, value);
            i += 2;
        }
        Ok(Value::map(entries))
    });
    map.add("get", &[Map, Str], |_, a| {
        let found = map_arg(&a[0]).and_then(|m| m.entries.borrow().get(str_arg(&a, 1)).cloned());
        Ok(found.unwrap_or_else(|| Value::string("")))
    });
    map.add("set", &[Map, Str, Any], |_, a| {
        let Some(m) = map_arg(&a[0]) else {
            return Err(FuncError::msg("assignment to entry in nil map"));
        };
        m.entries
            .borrow_mut()
            .insert(str_arg(&a, 1).to_string(), a[2].clone());
        Ok(Value::Map(m))
    });
    map.add("unset", &[Map, Str], |_, a| {
        if let Some(m) = map_arg(&a[0]) {
            m.entries.borrow_mut().remove(str_arg(&a, 1));
            return Ok(Value::Map(m));
        }
        Ok(Value::Nil)
    });
    map.add("hasKey", &[Map, Str], |_, a| {
        Ok(Value::Bool(map_arg(&a[0]).is_some_and(|m| {
            m.entries.borrow().contains_key(str_arg(&a, 1))
        })))
    });
    map.add_variadic("pluck", &[Str], Map, |_, a| {
        let key = str_arg(&a, 0);
        let found: Vec<Value> = a[1..]
            .iter()
            .filter_map(map_arg)
            .filter_map(|m| m.entries.borrow().get(key).cloned())
            .collect();
        Ok(Value::list(found))
    });
    // Go iterates maps in random order; sorted keys are one of the orders Go may produce.
    map.add_variadic("keys", &[], Map, |_, a| {
        let keys: Vec<String> = a
            .iter()
            .filter_map(map_arg)
            .flat_map(|m| m.entries.borrow().keys().cloned().collect::<Vec<_>>())
            .collect();
        Ok(Value::string_list(keys))
    });
    map.add_variadic("pick", &[Map], Str, |_, a| {
        let source = map_arg(&a[0]);
        let mut out = BTreeMap::new();
        if let Some(m) = source {
            let entries = m.entries.borrow();
            for key in a[1..].iter().filter_map(Value::as_str) {
                if let Some(v) = entries.get(key) {
                    out.insert(key.to_string(), v.clone());
                }
            }
        }
        Ok(Value::map(out))
    });
    map.add_variadic("omit", &[Map], Str, |_, a| {
        let omit: Vec<&str> = a[1..].iter().filter_map(Value::as_str).collect();
        let out = map_arg(&a[0])
            .map(|m| {
                m.entries
                    .borrow()
                    .iter()
                    .filter(|(k, _)| !omit.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Value::map(out))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        map.add_variadic(name, &[Map], Map, move |_, a| {
            let Some(dst) = map_arg(&a[0]) else {
                return Ok(Value::Nil);
            };
            for src in a[1..].iter().filter_map(map_arg) {
                merge_maps(&dst, &src, overwrite, 0);
            }
            Ok(Value::Map(dst))
        });
    }
    map.add("values", &[Map], |_, a| {
        let values = map_arg(&a[0])
            .map(|m| m.entries.borrow().values().cloned().collect())
            .unwrap_or_default();
        Ok(Value::list(values))
    });
    for name in ["deepCopy", "mustDeepCopy"] {
        map.add(name, &[Any], |_, a| Ok(deep_copy(&a[0])));
    }
    map.add_variadic("dig", &[], Any, |_, a| {
        if a.len() < 3 {
            return Err(FuncError::msg("dig needs at least three arguments"));
        }
        let Some(dict) = map_arg(&a[a.len() - 1]) else {
            return Err(FuncError::msg(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                a[a.len() - 1].type_name()
            )));
        };
        let default = a[a.len() - 2].clone();
        let mut keys = Vec::new();
        for key in &a[..a.len() - 2] {
            match key.as_str() {
                Some(k) => keys.push(k.to_string()),
                None => {
                    return Err(FuncError::msg(format!(
                        "interface conversion: interface {{}} is {}, not string",
                        key.type_name()
                    )));
                }
            }
        }
        let mut current = dict;
        for (i, key) in keys.iter().enumerate() {
            let next = current.entries.borrow().get(key).cloned();
            let Some(next) = next else {
                return Ok(default);
            };
            if i == keys.len() - 1 {
                return Ok(next);
            }
            match next.as_map() {
                Some(m) => current = m,
                None => {
                    return Err(FuncError::msg(format!(
                        "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                        next.type_name()
                    )));
                }
            }
        }
        Ok(default)
    });
}

/// A deep copy of maps and slices (mitchellh/copystructure).
pub fn deep_copy(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::typed_map(
            m.elem.clone(),
            m.entries
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), deep_copy(v)))
                .collect(),
        ),
        Value::List(l) => Value::List(std::rc::Rc::new(crate::value::List {
            elem: l.elem.clone(),
            items: l.items.iter().map(deep_copy).collect(),
        })),
        Value::Object(o) => match o.map_view() {
            Some(m) => Value::typed_map(
                ElemType::Any,
                m.entries
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), deep_copy(v)))
                    .collect(),
            ),
            None => v.clone(),
        },
        other => other.clone(),
    }
}

/// mergo's emptiness: zero values, nil and empty collections.
fn is_empty_value(v: &Value) -> bool {
    !v.truth()
}

/// mergo's `deepMerge` for two `map[string]interface {}`s.
pub fn merge_maps(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) {
    if std::rc::Rc::ptr_eq(dst, src) || depth > 100 {
        return;
    }
    let src_entries: Vec<(String, Value)> = src
        .entries
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, src_value) in src_entries {
        let dst_value = dst.entries.borrow().get(&key).cloned();
        if src_value.is_nil() {
            if overwrite {
                dst.entries.borrow_mut().insert(key, Value::Nil);
            }
            continue;
        }
        let src_is_map = src_value.as_map().is_some() && !matches!(src_value, Value::Object(_));
        let src_is_list = matches!(src_value, Value::List(_));
        if let (Some(src_map), Some(dst_map)) = (
            src_value.as_map(),
            dst_value.as_ref().and_then(Value::as_map),
        ) {
            merge_maps(&dst_map, &src_map, overwrite, depth + 1);
        }
        if let Some(existing) = &dst_value
            && !is_empty_value(existing)
        {
            if src_is_list {
                if overwrite {
                    dst.entries.borrow_mut().insert(key, src_value);
                }
                continue;
            }
            if src_is_map && existing.as_map().is_some() {
                continue;
            }
        }
        let replace = overwrite || dst_value.as_ref().is_none_or(is_empty_value);
        if replace {
            dst.entries.borrow_mut().insert(key, src_value);
        }
    }
}
