//! A field-by-field comparison of two objects, printed as paths with their old and new values.
//!
//! Lists of objects that carry a `name` (containers, ports, env) are matched by name so a change
//! inside one entry shows as that entry's field, not as the whole list.

use std::collections::BTreeSet;

use serde_json::Value;

/// One difference at a path such as `spec.template.spec.containers[name=web].image`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldChange {
    Added(Value),
    Removed(Value),
    Modified { before: Value, after: Value },
}

/// The differences from `before` to `after`, in path order.
pub fn compare(before: &Value, after: &Value) -> Vec<(String, FieldChange)> {
    let mut out = Vec::new();
    walk("", before, after, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, before: &Value, after: &Value, out: &mut Vec<(String, FieldChange)>) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            for key in keys {
                let here = join(path, key);
                match (old.get(key), new.get(key)) {
                    (Some(a), Some(b)) => walk(&here, a, b, out),
                    (Some(a), None) => out.push((here, FieldChange::Removed(a.clone()))),
                    (None, Some(b)) => out.push((here, FieldChange::Added(b.clone()))),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(old), Value::Array(new)) => {
            if let (Some(old_names), Some(new_names)) = (entry_names(old), entry_names(new)) {
                for (name, a) in old_names.iter().zip(old) {
                    let here = format!("{path}[name={name}]");
                    match new_names.iter().position(|n| n == name) {
                        Some(index) => walk(&here, a, &new[index], out),
                        None => out.push((here, FieldChange::Removed(a.clone()))),
                    }
                }
                for (name, b) in new_names.iter().zip(new) {
                    if !old_names.contains(name) {
                        out.push((
                            format!("{path}[name={name}]"),
                            FieldChange::Added(b.clone()),
                        ));
                    }
                }
            } else if old.len() == new.len() {
                for (index, (a, b)) in old.iter().zip(new).enumerate() {
                    walk(&format!("{path}[{index}]"), a, b, out);
                }
            } else {
                out.push(modified(path, before, after));
            }
        }
        _ => out.push(modified(path, before, after)),
    }
}

fn modified(path: &str, before: &Value, after: &Value) -> (String, FieldChange) {
    (
        path.to_owned(),
        FieldChange::Modified {
            before: before.clone(),
            after: after.clone(),
        },
    )
}

/// The `name` of every entry when all entries are objects with distinct string names.
fn entry_names(list: &[Value]) -> Option<Vec<String>> {
    let names: Vec<String> = list
        .iter()
        .map(|entry| entry.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect::<Option<_>>()?;
    let distinct: BTreeSet<&String> = names.iter().collect();
    (!names.is_empty() && distinct.len() == names.len()).then_some(names)
}

/// Prints the changes as blocks: the path, then `-` lines for what goes and `+` lines for what
/// comes, values as YAML.
pub fn render(changes: &[(String, FieldChange)]) -> String {
    let mut out = String::new();
    for (path, change) in changes {
        out.push('\n');
        out.push_str(if path.is_empty() { "(root)" } else { path });
        out.push('\n');
        match change {
            FieldChange::Added(value) => {
                out.push_str("  + added\n");
                push_value(&mut out, '+', value);
            }
            FieldChange::Removed(value) => {
                out.push_str("  - removed\n");
                push_value(&mut out, '-', value);
            }
            FieldChange::Modified { before, after } => {
                out.push_str("  ± value change\n");
                push_value(&mut out, '-', before);
                push_value(&mut out, '+', after);
            }
        }
    }
    out
}

fn push_value(out: &mut String, sign: char, value: &Value) {
    let text = match value {
        Value::String(text) if !text.contains('\n') => text.clone(),
        other => serde_yaml_ng::to_string(other).unwrap_or_else(|_| other.to_string()),
    };
    for line in text.trim_end_matches('\n').lines() {
        out.push_str(&format!("    {sign} {line}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalar_changes_additions_and_removals_are_found_by_path() {
        let before = json!({"spec": {"replicas": 1, "paused": true}, "metadata": {"name": "a"}});
        let after = json!({"spec": {"replicas": 5, "strategy": {"type": "Recreate"}}, "metadata": {"name": "a"}});
        let changes = compare(&before, &after);
        assert_eq!(
            changes,
            vec![
                ("spec.paused".to_owned(), FieldChange::Removed(json!(true))),
                (
                    "spec.replicas".to_owned(),
                    FieldChange::Modified {
                        before: json!(1),
                        after: json!(5)
                    }
                ),
                (
                    "spec.strategy".to_owned(),
                    FieldChange::Added(json!({"type": "Recreate"}))
                ),
            ]
        );
    }

    #[test]
    fn named_list_entries_are_matched_by_name() {
        let before =
            json!({"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y"}]});
        let after = json!({"containers": [{"name": "b", "image": "y"}, {"name": "a", "image": "x:2"}, {"name": "c"}]});
        let changes = compare(&before, &after);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[0].0, "containers[name=a].image");
        assert_eq!(changes[1].0, "containers[name=c]");
    }

    #[test]
    fn unnamed_lists_of_another_length_change_as_a_whole() {
        let changes = compare(&json!({"args": ["a"]}), &json!({"args": ["a", "b"]}));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].0, "args");
        let text = render(&changes);
        assert!(text.contains("    - - a\n"), "{text}");
        assert!(text.contains("    + - b\n"), "{text}");
    }

    #[test]
    fn rendering_shows_the_path_and_both_values() {
        let text = render(&compare(
            &json!({"a": {"b": "old"}}),
            &json!({"a": {"b": "new"}}),
        ));
        assert_eq!(text, "\na.b\n  ± value change\n    - old\n    + new\n");
    }
}
