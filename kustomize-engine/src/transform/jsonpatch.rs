//! JSON patch (RFC 6902) over the engine's value model: add, remove, replace, move, copy and test.

use crate::yaml::Value;

/// Applies a list of operations (already parsed from YAML or JSON) to `target`.
pub fn apply(target: &mut Value, operations: &[Value]) -> Result<(), String> {
    for operation in operations {
        let op = operation
            .get("op")
            .and_then(Value::as_str)
            .ok_or("JSON patch operation without 'op'")?;
        let path = operation
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("JSON patch operation '{op}' without 'path'"))?;
        let pointer = parse_pointer(path)?;
        match op {
            "add" => add(target, &pointer, value_of(operation, op)?)?,
            "remove" => {
                remove(target, &pointer)?;
            }
            "replace" => {
                let slot = get_mut(target, &pointer).ok_or_else(|| {
                    format!("replace operation does not apply: doc is missing key: {path}")
                })?;
                *slot = value_of(operation, op)?;
            }
            "move" | "copy" => {
                let from = operation
                    .get("from")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("JSON patch operation '{op}' without 'from'"))?;
                let from_pointer = parse_pointer(from)?;
                let value = if op == "move" {
                    remove(target, &from_pointer)?
                } else {
                    get_mut(target, &from_pointer)
                        .map(|v| v.clone())
                        .ok_or_else(|| format!("copy operation does not apply: missing {from}"))?
                };
                add(target, &pointer, value)?;
            }
            "test" => {
                let actual = get_mut(target, &pointer)
                    .map(|v| v.clone())
                    .ok_or_else(|| format!("test operation failed: missing {path}"))?;
                if actual != value_of(operation, op)? {
                    return Err(format!("testing value {path} failed"));
                }
            }
            other => return Err(format!("unknown JSON patch operation '{other}'")),
        }
    }
    Ok(())
}

fn value_of(operation: &Value, op: &str) -> Result<Value, String> {
    operation
        .get("value")
        .cloned()
        .ok_or_else(|| format!("JSON patch operation '{op}' without 'value'"))
}

fn parse_pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("JSON pointer {path:?} must start with '/'"))?;
    Ok(rest
        .split('/')
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn get_mut<'a>(target: &'a mut Value, pointer: &[String]) -> Option<&'a mut Value> {
    let mut current = target;
    for token in pointer {
        current = match current {
            Value::Map(map) => map.get_mut(token.as_str())?,
            Value::Seq(items) => {
                let index: usize = token.parse().ok()?;
                items.get_mut(index)?
            }
            _ => return None,
        };
    }
    Some(current)
}

fn split_last(pointer: &[String]) -> Result<(&[String], &String), String> {
    pointer
        .split_last()
        .map(|(last, parent)| (parent, last))
        .ok_or_else(|| "cannot operate on the whole document".to_string())
}

fn add(target: &mut Value, pointer: &[String], value: Value) -> Result<(), String> {
    if pointer.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent_pointer, last) = split_last(pointer)?;
    ensure_parents(target, parent_pointer);
    let parent = get_mut(target, parent_pointer).ok_or_else(|| {
        format!(
            "add operation does not apply: doc is missing path: /{}",
            pointer.join("/")
        )
    })?;
    match parent {
        Value::Map(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Seq(items) => {
            if last == "-" {
                items.push(value);
                return Ok(());
            }
            let index: usize = last
                .parse()
                .map_err(|_| format!("invalid array index {last:?}"))?;
            if index > items.len() {
                return Err(format!("array index {index} out of bounds"));
            }
            items.insert(index, value);
            Ok(())
        }
        _ => Err(format!(
            "add operation does not apply at /{}",
            pointer.join("/")
        )),
    }
}

/// kustomize's JSON patch creates missing parent objects on `add` (as `EnsurePathExistsOnAdd` does).
fn ensure_parents(target: &mut Value, pointer: &[String]) {
    let mut current = target;
    for token in pointer {
        current = match current {
            Value::Map(map) => map
                .entry(token.clone())
                .or_insert_with(|| Value::Map(Default::default())),
            Value::Seq(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(item) => item,
                None => return,
            },
            _ => return,
        };
        if current.is_null() {
            *current = Value::Map(Default::default());
        }
    }
}

fn remove(target: &mut Value, pointer: &[String]) -> Result<Value, String> {
    let (parent_pointer, last) = split_last(pointer)?;
    let missing = || {
        format!(
            "remove operation does not apply: doc is missing path: /{}",
            pointer.join("/")
        )
    };
    let parent = get_mut(target, parent_pointer).ok_or_else(missing)?;
    match parent {
        Value::Map(map) => map.shift_remove(last.as_str()).ok_or_else(missing),
        Value::Seq(items) => {
            let index: usize = last.parse().map_err(|_| missing())?;
            if index >= items.len() {
                return Err(missing());
            }
            Ok(items.remove(index))
        }
        _ => Err(missing()),
    }
}
