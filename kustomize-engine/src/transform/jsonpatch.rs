//! JSON patch (RFC 6902) with the semantics of the library kustomize v5.5 applies patches with
//! (evanphx/json-patch v4), which are looser than the RFC in ways overlays rely on:
//!
//! * `replace` of a missing key of an existing object adds it (only array indices must exist);
//! * a missing parent is an error for every operation: nothing is created on the way;
//! * negative array indices count from the end (`-1` is the last item; for `add`, `-1` appends);
//! * `copy` from a missing key copies `null`, and a missing key tests equal to `null`;
//! * the first segment of a path not starting with `/` is ignored, and `""` is the whole
//!   document only for `replace` and `test`.

use crate::yaml::Value;

/// Applies a list of operations (already parsed from YAML or JSON) to `target`.
pub fn apply(target: &mut Value, operations: &[Value]) -> Result<(), String> {
    for operation in operations {
        let op = operation
            .get("op")
            .and_then(Value::as_str)
            .ok_or("JSON patch operation without 'op'")?;
        let path = || {
            operation
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{op} operation: operation missing path field"))
        };
        let from = || {
            operation
                .get("from")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{op} operation failed to decode from"))
        };
        // A missing `value` is JSON null to the library.
        let value = || operation.get("value").cloned().unwrap_or(Value::Null);
        match op {
            "add" => add(target, path()?, value())?,
            "remove" => {
                remove(target, path()?, "remove")?;
            }
            "replace" => replace(target, path()?, value())?,
            "move" => {
                let moved = remove(target, from()?, "move")?;
                add_as(target, path()?, moved, "move")?;
            }
            "copy" => {
                let from = from()?;
                let (parent, key) = find_parent(target, from).ok_or_else(|| {
                    format!("copy operation does not apply: doc is missing from path: {from}")
                })?;
                let copied = get(parent, &key)
                    .map_err(|e| format!("error in copy for from: '{from}': {e}"))?
                    .cloned()
                    .unwrap_or(Value::Null);
                add_as(target, path()?, copied, "copy")?;
            }
            "test" => test(target, path()?, operation.get("value"))?,
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}

/// The segments of `path` after the first `/`-separated one, unescaped; `None` when the path has
/// no parent/key split (`""` or a single segment).
fn segments(path: &str) -> Option<Vec<String>> {
    let mut parts = path.split('/');
    parts.next()?;
    let rest: Vec<String> = parts
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect();
    if rest.is_empty() { None } else { Some(rest) }
}

/// The container holding the last segment of `path`, and that segment. Every segment before it
/// must exist and be an object or an array.
fn find_parent<'a>(target: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let mut segments = segments(path)?;
    let key = segments.pop()?;
    let mut current = target;
    for segment in &segments {
        current = match current {
            Value::Map(map) => map.get_mut(segment.as_str())?,
            Value::Seq(items) => {
                let index = resolve_index(segment, items.len(), items.len()).ok()?;
                items.get_mut(index)?
            }
            _ => return None,
        };
        if !matches!(current, Value::Map(_) | Value::Seq(_)) {
            return None;
        }
    }
    Some((current, key))
}

/// An array index as the library reads it: an integer, negative counting from `len_for_negative`,
/// and below `bound`.
fn resolve_index(token: &str, len_for_negative: usize, bound: usize) -> Result<usize, String> {
    let index: i64 = token
        .parse()
        .map_err(|_| format!("strconv.Atoi: parsing {token:?}: invalid syntax"))?;
    let invalid = || format!("Unable to access invalid index: {index}: invalid index referenced");
    let resolved = if index < 0 {
        let from_end = i64::try_from(len_for_negative).map_err(|_| invalid())? + index;
        usize::try_from(from_end).map_err(|_| invalid())?
    } else {
        usize::try_from(index).map_err(|_| invalid())?
    };
    if resolved >= bound {
        return Err(invalid());
    }
    Ok(resolved)
}

/// The value at `key` of a container: `Ok(None)` for a missing object key (the library does not
/// tell it from null), an error for an array index out of range.
fn get<'a>(parent: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    match parent {
        Value::Map(map) => Ok(map.get(key).filter(|v| !v.is_null())),
        Value::Seq(items) => {
            let index = resolve_index(key, items.len(), items.len())?;
            Ok(items.get(index))
        }
        _ => Err(format!("cannot read {key} of a scalar")),
    }
}

fn add(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let (parent, key) = find_parent(target, path).ok_or_else(|| {
        format!("add operation does not apply: doc is missing path: \"{path}\": missing value")
    })?;
    insert(parent, &key, value).map_err(|e| format!("error in add for path: '{path}': {e}"))
}

/// The destination half of `move` and `copy`.
fn add_as(target: &mut Value, path: &str, value: Value, op: &str) -> Result<(), String> {
    let (parent, key) = find_parent(target, path).ok_or_else(|| {
        format!("{op} operation does not apply: doc is missing destination path: {path}")
    })?;
    insert(parent, &key, value).map_err(|e| format!("error in {op} for path: '{path}': {e}"))
}

fn insert(parent: &mut Value, key: &str, value: Value) -> Result<(), String> {
    match parent {
        Value::Map(map) => {
            map.insert(key.to_string(), value);
            Ok(())
        }
        Value::Seq(items) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            let grown = items.len() + 1;
            let index = resolve_index(key, grown, grown)?;
            items.insert(index, value);
            Ok(())
        }
        _ => Err("not an object or array".to_string()),
    }
}

fn remove(target: &mut Value, path: &str, op: &str) -> Result<Value, String> {
    let missing = || {
        if op == "move" {
            format!("move operation does not apply: doc is missing from path: {path}")
        } else {
            format!("remove operation does not apply: doc is missing path: \"{path}\"")
        }
    };
    let (parent, key) = find_parent(target, path).ok_or_else(missing)?;
    let error = |e: String| format!("error in {op} for path: '{path}': {e}");
    match parent {
        Value::Map(map) => map.shift_remove(key.as_str()).ok_or_else(|| {
            error(format!(
                "Unable to remove nonexistent key: {key}: missing value"
            ))
        }),
        Value::Seq(items) => {
            let index = resolve_index(&key, items.len(), items.len()).map_err(error)?;
            Ok(items.remove(index))
        }
        _ => Err(missing()),
    }
}

fn replace(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        if !matches!(value, Value::Map(_) | Value::Seq(_)) {
            return Err("replace operation value must be object or array".to_string());
        }
        *target = value;
        return Ok(());
    }
    let (parent, key) = find_parent(target, path).ok_or_else(|| {
        format!("replace operation does not apply: doc is missing path: {path}: missing value")
    })?;
    match parent {
        Value::Map(map) => {
            map.insert(key, value);
            Ok(())
        }
        Value::Seq(items) => {
            let index = resolve_index(&key, items.len(), items.len()).map_err(|_| {
                format!(
                    "replace operation does not apply: doc is missing key: {path}: missing value"
                )
            })?;
            items[index] = value;
            Ok(())
        }
        _ => Err(format!("replace operation does not apply at {path}")),
    }
}

fn test(target: &mut Value, path: &str, expected: Option<&Value>) -> Result<(), String> {
    let failed = || format!("testing value {path} failed: test failed");
    // The library dereferences the missing value and crashes; refusing it is the closest outcome.
    let expected = expected.ok_or_else(|| format!("test operation on {path} has no value"))?;
    if path.is_empty() {
        return if &*target == expected {
            Ok(())
        } else {
            Err(failed())
        };
    }
    let (parent, key) = find_parent(target, path)
        .ok_or_else(|| format!("test operation does not apply: is missing path: {path}"))?;
    let actual = get(parent, &key)
        .map_err(|e| format!("error in test for path: '{path}': {e}"))?
        .filter(|v| !v.is_null());
    match actual {
        None if expected.is_null() => Ok(()),
        Some(actual) if !expected.is_null() && actual == expected => Ok(()),
        _ => Err(failed()),
    }
}
