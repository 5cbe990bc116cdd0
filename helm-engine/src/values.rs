//! Values: reading value files as Helm does (every YAML document merged, YAML 1.1 scalars,
//! numbers as float64) and coalescing chart defaults with parent and user values
//! (`pkg/chart/common/util/coalesce.go` semantics).

use serde_json::{Map, Value as Json};

use eddy_gotemplate::Value;

use crate::chart::Chart;

/// A values table (`map[string]interface{}`).
pub type Table = Map<String, Json>;

const GLOBAL_KEY: &str = "global";

/// Reads a values file: each YAML document is a table, later documents merged over earlier
/// ones (Helm's `LoadValues`).
pub fn parse_values(text: &str) -> Result<Table, String> {
    let mut values = Table::new();
    for document in split_yaml_documents(text) {
        match yaml_document_to_json(&document)? {
            Json::Null => {}
            Json::Object(table) => values = merge_maps(values, table),
            other => {
                return Err(format!(
                    "cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    json_kind(&other)
                ));
            }
        }
    }
    Ok(values)
}

/// Splits a YAML stream as the Kubernetes YAML reader does: a line starting with `---`
/// followed by nothing but spaces or a comment ends a document.
pub fn split_yaml_documents(text: &str) -> Vec<String> {
    let mut documents = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if rest.is_empty() || rest.starts_with('#') {
                documents.push(std::mem::take(&mut current));
                continue;
            }
        }
        current.push_str(line);
    }
    documents.push(current);
    documents.retain(|d| !d.trim().is_empty());
    documents
}

/// Parses one YAML document into JSON as `sigs.k8s.io/yaml` does.
pub fn yaml_document_to_json(text: &str) -> Result<Json, String> {
    let value = eddy_gotemplate::yaml::unmarshal(text)?;
    let mut json = to_json(&value)?;
    restore_plain_dates(&mut json, text);
    Ok(json)
}

/// go-yaml v2 keeps a plain date (`from: 2020-10-24`) as its text when decoding into
/// `interface{}`, while eddy-gotemplate's reader turns it into `2020-10-24T00:00:00Z`. Undo
/// that for every such string the source text does not spell out itself.
fn restore_plain_dates(json: &mut Json, source: &str) {
    match json {
        Json::String(s) => {
            if let Some(date) = plain_date(s, source) {
                *s = date.to_string();
            }
        }
        Json::Array(items) => items
            .iter_mut()
            .for_each(|i| restore_plain_dates(i, source)),
        Json::Object(map) => map
            .values_mut()
            .for_each(|v| restore_plain_dates(v, source)),
        _ => {}
    }
}

/// The date a `…T00:00:00Z` string came from, when `source` does not spell that string out.
fn plain_date<'a>(text: &'a str, source: &str) -> Option<&'a str> {
    let date = text.strip_suffix("T00:00:00Z")?;
    (date.len() == 10
        && date.bytes().filter(u8::is_ascii_digit).count() == 8
        && !source.contains(text))
    .then_some(date)
}

/// [`restore_plain_dates`] on a template value (what `fromYaml` returned for `source`).
pub(crate) fn restore_plain_dates_in_value(value: Value, source: &str) -> Value {
    match value {
        Value::String(s) => match plain_date(&s, source) {
            Some(date) => Value::string(date),
            None => Value::String(s),
        },
        Value::List(list) => Value::List(std::rc::Rc::new(eddy_gotemplate::List {
            elem: list.elem.clone(),
            items: list
                .items
                .iter()
                .map(|v| restore_plain_dates_in_value(v.clone(), source))
                .collect(),
        })),
        Value::Map(map) => {
            let restored: Vec<(String, Value)> = map
                .entries
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), restore_plain_dates_in_value(v.clone(), source)))
                .collect();
            map.entries.borrow_mut().extend(restored);
            Value::Map(map)
        }
        other => other,
    }
}

fn to_json(value: &Value) -> Result<Json, String> {
    Ok(match value {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i, _) => Json::from(*i),
        Value::Uint(u, _) => Json::from(*u),
        Value::Float(f, _) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .ok_or_else(|| {
                format!("error converting YAML to JSON: json: unsupported value: {f}")
            })?,
        Value::String(s) => Json::String(s.to_string()),
        Value::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Value::List(list) => Json::Array(list.items.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Map(map) => Json::Object(
            map.entries
                .borrow()
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Object(_) => Json::Null,
    })
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
        Json::Null => "null",
    }
}

/// Helm's `MergeMaps`: tables merge recursively, anything else from `b` replaces.
pub fn merge_maps(mut a: Table, b: Table) -> Table {
    for (key, value) in b {
        match (a.get_mut(&key), value) {
            (Some(Json::Object(existing)), Json::Object(incoming)) => {
                let merged = merge_maps(std::mem::take(existing), incoming);
                *existing = merged;
            }
            (_, value) => {
                a.insert(key, value);
            }
        }
    }
    a
}

/// The values a chart renders with: `user` over the chart's defaults, recursively into every
/// subchart, `null` deleting (`CoalesceValues`).
pub fn coalesce_values(chart: &Chart, user: &Table) -> Table {
    let mut dest = user.clone();
    coalesce(chart, &mut dest, "", false);
    dest
}

/// Like [`coalesce_values`] but keeping `null`s (`MergeValues`).
pub fn merge_values(chart: &Chart, user: &Table) -> Table {
    let mut dest = user.clone();
    coalesce(chart, &mut dest, "", true);
    dest
}

fn coalesce(chart: &Chart, dest: &mut Table, prefix: &str, merge: bool) {
    coalesce_own_values(chart, dest, prefix, merge);
    coalesce_dependencies(chart, dest, prefix, merge);
}

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn coalesce_dependencies(chart: &Chart, dest: &mut Table, prefix: &str, merge: bool) {
    let parent_globals = dest.get(GLOBAL_KEY).cloned();
    for sub in &chart.dependencies {
        let entry = dest
            .entry(sub.name().to_string())
            .or_insert_with(|| Json::Object(Table::new()));
        // A non-table here is a type mismatch in Helm; the subchart then keeps its own values.
        let Json::Object(sub_values) = entry else {
            continue;
        };
        let sub_prefix = concat_prefix(prefix, chart.name());
        coalesce_globals(sub_values, parent_globals.as_ref());
        coalesce(sub, sub_values, &sub_prefix, merge);
    }
}

/// Copies the parent's `global` table into the child's; the parent wins on conflicts.
fn coalesce_globals(child: &mut Table, parent_global: Option<&Json>) {
    let mut child_global = match child.get(GLOBAL_KEY) {
        None => Table::new(),
        Some(Json::Object(g)) => g.clone(),
        Some(_) => return,
    };
    let parent_global = match parent_global {
        None => Table::new(),
        Some(Json::Object(g)) => g.clone(),
        Some(_) => return,
    };
    for (key, value) in parent_global {
        match value {
            Json::Object(parent_table) => match child_global.get_mut(&key) {
                None => {
                    child_global.insert(key, Json::Object(parent_table));
                }
                Some(Json::Object(child_table)) => {
                    let mut winner = parent_table;
                    coalesce_tables(&mut winner, child_table.clone(), true);
                    *child_table = winner;
                }
                Some(_) => {}
            },
            scalar => {
                if !matches!(child_global.get(&key), Some(Json::Object(_))) {
                    child_global.insert(key, scalar);
                }
            }
        }
    }
    child.insert(GLOBAL_KEY.to_string(), Json::Object(child_global));
}

fn coalesce_own_values(chart: &Chart, dest: &mut Table, _prefix: &str, merge: bool) {
    for (key, default) in chart.values.clone() {
        match dest.get_mut(&key) {
            Some(Json::Null) if !merge => {
                dest.remove(&key);
            }
            Some(Json::Object(user_table)) => {
                let Json::Object(mut default_table) = default else {
                    continue;
                };
                let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                if !merge {
                    clean_nil_values(&mut default_table);
                }
                coalesce_tables(user_table, default_table, merge);
            }
            Some(_) => {}
            None => {
                let mut default = default;
                if !merge {
                    if default.is_null() {
                        continue;
                    }
                    if let Json::Object(table) = &mut default {
                        clean_nil_values(table);
                    }
                }
                dest.insert(key, default);
            }
        }
    }
}

/// Helm's `coalesceTablesFullKey`: fills `dst` with what `src` has that `dst` lacks.
pub fn coalesce_tables(dst: &mut Table, mut src: Table, merge: bool) {
    let src_non_nil: std::collections::HashSet<String> = src
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    for (key, value) in dst.iter() {
        if value.is_null() {
            src.insert(key.clone(), Json::Null);
        }
    }
    for (key, value) in src {
        match dst.get_mut(&key) {
            Some(Json::Null) if !merge && src_non_nil.contains(&key) => {
                dst.remove(&key);
            }
            None => {
                dst.insert(key, value);
            }
            Some(Json::Object(dst_table)) => {
                if let Json::Object(src_table) = value {
                    coalesce_tables(dst_table, src_table, merge);
                }
            }
            Some(_) => {}
        }
    }
}

fn clean_nil_values(table: &mut Table) {
    table.retain(|_, v| !v.is_null());
    for value in table.values_mut() {
        if let Json::Object(sub) = value {
            clean_nil_values(sub);
        }
    }
}

/// Looks up a dotted path (`a.b.c`) of tables; the last segment may hold any value.
pub fn path_value<'a>(table: &'a Table, path: &str) -> Option<&'a Json> {
    let mut segments = path.split('.');
    let last = segments.next_back()?;
    let mut current = table;
    for segment in segments {
        current = current.get(segment)?.as_object()?;
    }
    current.get(last)
}

/// Looks up a dotted path of tables (`Values.Table`).
pub fn table_at<'a>(table: &'a Table, path: &str) -> Option<&'a Table> {
    let mut current = table;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        current = current.get(segment)?.as_object()?;
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(v: Json) -> Table {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn documents_merge_later_winning() {
        let values =
            parse_values("a: 1\nb: {c: 1, d: 2}\n---\nb: {c: 3}\non: yes\nday: 2020-10-24\n")
                .unwrap();
        assert_eq!(
            Json::Object(values),
            json!({"a": 1.0, "b": {"c": 3.0, "d": 2.0}, "true": true, "day": "2020-10-24"})
        );
    }

    #[test]
    fn user_values_override_and_null_deletes() {
        let mut dst = table(json!({"a": null, "b": {"x": 1}, "keep": "user"}));
        coalesce_tables(
            &mut dst,
            table(json!({"a": "default", "b": {"y": 2}, "keep": "chart", "new": 3})),
            false,
        );
        assert_eq!(
            Json::Object(dst),
            json!({"b": {"x": 1, "y": 2}, "keep": "user", "new": 3})
        );
    }

    #[test]
    fn paths() {
        let t = table(json!({"a": {"b": {"c": true}}}));
        assert_eq!(path_value(&t, "a.b.c"), Some(&json!(true)));
        assert_eq!(path_value(&t, "a.x.c"), None);
        assert!(table_at(&t, "a.b").is_some());
    }
}
