//! `replacements`: copying a field of one object into fields of other objects.
//!
//! Field paths are dotted (`spec.template.spec.containers.[name=app].image`); a segment may select a
//! list element by `[key=value]` or by index, and `*` matches every key or element.

use std::path::Path;

use serde::Deserialize;

use crate::error::Error;
use crate::kustomization::Selector;
use crate::loader::Loader;
use crate::resmap::ResMap;
use crate::resource::Resource;
use crate::transform::selector::CompiledSelector;
use crate::yaml::{self, Mapping, Value};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Replacement {
    path: Option<String>,
    source: Option<SourceSelector>,
    #[serde(default)]
    targets: Vec<Target>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SourceSelector {
    group: Option<String>,
    version: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    field_path: Option<String>,
    options: Option<FieldOptions>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FieldOptions {
    delimiter: Option<String>,
    #[serde(default)]
    index: i64,
    #[serde(default)]
    create: bool,
    /// Accepted for compatibility; kustomize v5.5 does not implement it either.
    #[allow(dead_code)]
    encoding: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Target {
    select: Option<Selector>,
    #[serde(default)]
    reject: Vec<Selector>,
    #[serde(default)]
    field_paths: Vec<String>,
    options: Option<FieldOptions>,
}

pub fn apply(
    loader: &Loader,
    kustomization_path: &Path,
    replacements: &[Value],
    resources: &mut ResMap,
) -> Result<(), Error> {
    for entry in replacements {
        let parsed: Replacement = serde_json::from_value(entry.to_json())
            .map_err(|e| Error::invalid(kustomization_path, format!("invalid replacement: {e}")))?;
        if let Some(path) = &parsed.path {
            let (file, text) = loader.read_text("replacements path", path)?;
            let mut items = Vec::new();
            for document in yaml::parse_documents(&text).map_err(|m| Error::invalid(&file, m))? {
                match document {
                    Value::Seq(list) => items.extend(list),
                    Value::Null => {}
                    other => items.push(other),
                }
            }
            apply(loader, &file, &items, resources)?;
            continue;
        }
        apply_one(&parsed, resources)
            .map_err(|m| Error::build(kustomization_path.display().to_string(), m))?;
        // A replacement overwrites the target node's content in place.
        for resource in &mut resources.resources {
            resource.propagate_shared_writes();
        }
    }
    Ok(())
}

fn apply_one(replacement: &Replacement, resources: &mut ResMap) -> Result<(), String> {
    let source = replacement
        .source
        .as_ref()
        .ok_or("a replacement needs a 'source'")?;
    let selector = Selector {
        group: source.group.clone(),
        version: source.version.clone(),
        kind: source.kind.clone(),
        name: source.name.clone(),
        namespace: source.namespace.clone(),
        ..Selector::default()
    };
    let compiled = CompiledSelector::new(&selector)?;
    let matches: Vec<usize> = resources
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| compiled.matches(r))
        .map(|(i, _)| i)
        .collect();
    let index = match matches.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!(
                "nothing selected by replacement source {selector:?}"
            ));
        }
        _ => {
            return Err(format!(
                "more than one resource selected by replacement source {selector:?}"
            ));
        }
    };
    let field_path = source
        .field_path
        .clone()
        .unwrap_or_else(|| "metadata.name".to_string());
    let segments = split_field_path(&field_path);
    let mut found = Vec::new();
    collect(&resources.resources[index].value, &segments, &mut found);
    let mut value = found
        .first()
        .cloned()
        .ok_or_else(|| format!("source field '{field_path}' not found"))?;
    // The text of a delimited source part: annotations print it as written.
    let mut part_text = None;
    if let Some(options) = &source.options
        && let Some(delimiter) = options.delimiter.as_deref().filter(|d| !d.is_empty())
    {
        let text = value.scalar_text().unwrap_or_default();
        let parts: Vec<&str> = text.split(delimiter).collect();
        let part = usize::try_from(options.index)
            .ok()
            .and_then(|i| parts.get(i))
            .ok_or_else(|| {
                format!(
                    "options.index {} is out of bounds for value {text:?}",
                    options.index
                )
            })?;
        // kustomize copies the source node with only its text changed and no tag: the part is read
        // again as a plain scalar (`1.4` becomes a number, an empty part null).
        value = crate::yaml::resolve_plain_scalar(part);
        part_text = Some((*part).to_string());
    }

    for target in &replacement.targets {
        let select = target
            .select
            .as_ref()
            .map(CompiledSelector::new)
            .transpose()?;
        let rejects: Vec<CompiledSelector> = target
            .reject
            .iter()
            .map(CompiledSelector::new)
            .collect::<Result<_, _>>()?;
        for resource in &mut resources.resources {
            if select.as_ref().is_some_and(|s| !s.matches(resource)) {
                continue;
            }
            if rejects.iter().any(|r| r.matches(resource)) {
                continue;
            }
            let options = target.options.clone().unwrap_or_default();
            for path in &target.field_paths {
                let segments = split_field_path(path);
                let value = match &part_text {
                    Some(text)
                        if segments.starts_with(&["metadata", "annotations"].map(String::from)) =>
                    {
                        Value::String(text.clone())
                    }
                    _ => value.clone(),
                };
                let written = Written {
                    value: &value,
                    text: part_text.as_deref(),
                };
                let count = set(&mut resource.value, &segments, &written, &options)?;
                if let Some(text) = &part_text
                    && !matches!(value, Value::String(_))
                {
                    remember_untyped(resource, &segments, &value, text);
                }
                if count == 0 && !options.create {
                    return Err(format!(
                        "unable to find field \"{path}\" in replacement target"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Records the concrete fields of `resource` that `segments` reach and that hold the untyped
/// `value` just written (see `Resource::untyped_scalars`).
fn remember_untyped(resource: &mut Resource, segments: &[String], value: &Value, text: &str) {
    let mut found = Vec::new();
    locate(&resource.value, segments, &mut Vec::new(), &mut found);
    for path in found {
        let holds_value = {
            let mut node = Some(&resource.value);
            for segment in &path {
                node = match node {
                    Some(Value::Map(map)) => map.get(segment.as_str()),
                    Some(Value::Seq(items)) => {
                        segment.parse::<usize>().ok().and_then(|i| items.get(i))
                    }
                    _ => None,
                };
            }
            node == Some(value)
        };
        if holds_value {
            resource.untyped_scalars.push((path, text.to_string()));
        }
    }
}

/// The concrete paths (keys and indices) a field path reaches.
fn locate(node: &Value, segments: &[String], prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let Some((first, rest)) = segments.split_first() else {
        out.push(prefix.clone());
        return;
    };
    let mut descend = |key: String, child: &Value, out: &mut Vec<Vec<String>>| {
        prefix.push(key);
        locate(child, rest, prefix, out);
        prefix.pop();
    };
    match (step(first), node) {
        (Step::Key(key), Value::Map(map)) => {
            if let Some(child) = map.get(key) {
                descend(key.to_string(), child, out);
            }
        }
        (Step::Key(key), Value::Seq(items)) => {
            if let Ok(index) = key.parse::<usize>()
                && let Some(child) = items.get(index)
            {
                descend(index.to_string(), child, out);
            }
        }
        (Step::Index(index), Value::Seq(items)) => {
            if let Some(child) = items.get(index) {
                descend(index.to_string(), child, out);
            }
        }
        (Step::Match(key, wanted), Value::Seq(items)) => {
            for (index, item) in items.iter().enumerate() {
                if item.get(key).and_then(Value::scalar_text).as_deref() == Some(wanted) {
                    descend(index.to_string(), item, out);
                }
            }
        }
        (Step::Any, Value::Seq(items)) => {
            for (index, item) in items.iter().enumerate() {
                descend(index.to_string(), item, out);
            }
        }
        (Step::Any, Value::Map(map)) => {
            for (key, item) in map {
                descend(key.clone(), item, out);
            }
        }
        _ => {}
    }
}

/// Splits a dotted field path; `a[k=v]` becomes `a`, `[k=v]`.
fn split_field_path(path: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                if depth == 0 && !current.is_empty() {
                    segments.push(std::mem::take(&mut current));
                }
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth -= 1;
                current.push(c);
            }
            '.' if depth == 0 => {
                if !current.is_empty() {
                    segments.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

enum Step<'a> {
    Key(&'a str),
    Match(&'a str, &'a str),
    Index(usize),
    Any,
}

fn step(segment: &str) -> Step<'_> {
    if segment == "*" {
        return Step::Any;
    }
    if let Some(inner) = segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return match inner.split_once('=') {
            Some((key, value)) => Step::Match(key, value),
            None => inner.parse().map(Step::Index).unwrap_or(Step::Key(inner)),
        };
    }
    Step::Key(segment)
}

fn collect(node: &Value, segments: &[String], out: &mut Vec<Value>) {
    let Some((first, rest)) = segments.split_first() else {
        out.push(node.clone());
        return;
    };
    match (step(first), node) {
        (Step::Key(key), Value::Map(map)) => {
            if let Some(child) = map.get(key) {
                collect(child, rest, out);
            }
        }
        (Step::Key(key), Value::Seq(items)) => {
            if let Ok(index) = key.parse::<usize>()
                && let Some(child) = items.get(index)
            {
                collect(child, rest, out);
            }
        }
        (Step::Index(index), Value::Seq(items)) => {
            if let Some(child) = items.get(index) {
                collect(child, rest, out);
            }
        }
        (Step::Match(key, wanted), Value::Seq(items)) => {
            for item in items {
                if item.get(key).and_then(Value::scalar_text).as_deref() == Some(wanted) {
                    collect(item, rest, out);
                }
            }
        }
        (Step::Any, Value::Seq(items)) => items.iter().for_each(|i| collect(i, rest, out)),
        (Step::Any, Value::Map(map)) => map.values().for_each(|v| collect(v, rest, out)),
        _ => {}
    }
}

/// Sets the value at every field the path reaches; returns how many were set.
/// The value a replacement writes, with the text it was cut from (a delimited source part), which
/// is what lands in string fields.
struct Written<'a> {
    value: &'a Value,
    text: Option<&'a str>,
}

impl Written<'_> {
    fn text(&self) -> String {
        self.text
            .map(str::to_string)
            .or_else(|| self.value.scalar_text())
            .unwrap_or_default()
    }
}

fn set(
    node: &mut Value,
    segments: &[String],
    value: &Written<'_>,
    options: &FieldOptions,
) -> Result<usize, String> {
    let Some((first, rest)) = segments.split_first() else {
        let (replaced, text) = replaced_value(node, value, options)?;
        *node = keep_target_type(node, replaced, text)?;
        return Ok(1);
    };
    let mut count = 0;
    match (step(first), node) {
        (Step::Key(key), Value::Map(map)) => {
            if !map.contains_key(key) {
                if !options.create {
                    return Ok(0);
                }
                let placeholder = match rest.first().map(|next| step(next)) {
                    None => Value::Null,
                    Some(Step::Match(..) | Step::Index(_)) => Value::Seq(Vec::new()),
                    Some(_) => Value::Map(Mapping::new()),
                };
                map.insert(key.to_string(), placeholder);
            }
            if let Some(child) = map.get_mut(key) {
                count += set(child, rest, value, options)?;
            }
        }
        (Step::Key(key), Value::Seq(items)) => {
            if let Ok(index) = key.parse::<usize>()
                && let Some(child) = items.get_mut(index)
            {
                count += set(child, rest, value, options)?;
            }
        }
        (Step::Index(index), Value::Seq(items)) => {
            if let Some(child) = items.get_mut(index) {
                count += set(child, rest, value, options)?;
            }
        }
        (Step::Match(key, wanted), Value::Seq(items)) => {
            let matches = |item: &Value| {
                item.get(key).and_then(Value::scalar_text).as_deref() == Some(wanted)
            };
            if options.create && !items.iter().any(matches) {
                let mut element = Mapping::new();
                element.insert(key.to_string(), Value::String(wanted.to_string()));
                items.push(Value::Map(element));
            }
            for item in items.iter_mut() {
                if matches(item) {
                    count += set(item, rest, value, options)?;
                }
            }
        }
        (Step::Any, Value::Seq(items)) => {
            for item in items.iter_mut() {
                count += set(item, rest, value, options)?;
            }
        }
        (Step::Any, Value::Map(map)) => {
            for (_, item) in map.iter_mut() {
                count += set(item, rest, value, options)?;
            }
        }
        (_, Value::Null) if options.create => {}
        _ => {}
    }
    Ok(count)
}

/// kustomize writes a scalar into an existing scalar field by its text: the field keeps its type
/// (`"7"` into `replicas: 2` gives `7`, `2` into a string label gives `"2"`), and text the type
/// cannot hold is an error. A created field (null here) takes the value as it is.
fn keep_target_type(current: &Value, new: Value, text: String) -> Result<Value, String> {
    let is_scalar = |v: &Value| !matches!(v, Value::Seq(_) | Value::Map(_) | Value::Null);
    if !is_scalar(current) || !is_scalar(&new) {
        return Ok(new);
    }
    let reread = crate::yaml::resolve_plain_scalar(&text);
    let (converted, wanted) = match current {
        Value::String(_) => (Some(Value::String(text.clone())), "string"),
        Value::Int(_) => (matches!(reread, Value::Int(_)).then_some(reread), "!!int"),
        Value::Float(_) => match reread {
            Value::Int(int) => (Some(Value::Float(int as f64)), "!!float"),
            float @ Value::Float(_) => (Some(float), "!!float"),
            _ => (None, "!!float"),
        },
        Value::Bool(_) => (matches!(reread, Value::Bool(_)).then_some(reread), "!!bool"),
        _ => (Some(new), ""),
    };
    converted.ok_or_else(|| format!("cannot decode `{text}` as a {wanted}"))
}

/// The new field value and its text: the source value, or (with a delimiter) the existing text
/// with one part replaced.
fn replaced_value(
    current: &Value,
    value: &Written<'_>,
    options: &FieldOptions,
) -> Result<(Value, String), String> {
    let Some(delimiter) = options.delimiter.as_deref().filter(|d| !d.is_empty()) else {
        return Ok((value.value.clone(), value.text()));
    };
    let text = current.scalar_text().unwrap_or_default();
    let mut parts: Vec<String> = text.split(delimiter).map(str::to_string).collect();
    let replacement = value.text();
    if options.index < 0 {
        parts.insert(0, replacement);
    } else {
        let index = usize::try_from(options.index).unwrap_or(0);
        if index >= parts.len() {
            parts.push(replacement);
        } else {
            parts[index] = replacement;
        }
    }
    let joined = parts.join(delimiter);
    Ok((Value::String(joined.clone()), joined))
}
