//! Field specifications ("fieldspecs"): which field paths of which kinds a transformer touches, and the
//! walker that visits those fields inside a resource.
//!
//! A path is `a/b/c`; a segment may end in `[]` to say the field is a list, and `\/` escapes a slash
//! inside a key (annotation names). Whenever the walk meets a sequence it descends into every element.

use serde::Deserialize;

use crate::resid::Gvk;
use crate::shared::PathStep;
use crate::yaml::{Mapping, Value};

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub create: bool,
}

impl FieldSpec {
    pub fn new(kind: &str, path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            kind: kind.to_string(),
            path: path.to_string(),
            create,
            ..FieldSpec::default()
        }
    }

    pub fn with_group(mut self, group: &str) -> FieldSpec {
        self.group = group.to_string();
        self
    }

    pub fn with_version(mut self, version: &str) -> FieldSpec {
        self.version = version.to_string();
        self
    }

    /// Whether this fieldspec applies to objects of `gvk` (empty selector fields match anything).
    pub fn applies_to(&self, gvk: &Gvk) -> bool {
        gvk.is_selected_by(&self.group, &self.version, &self.kind)
    }

    pub fn segments(&self) -> Vec<String> {
        split_path(&self.path)
    }
}

/// Splits a fieldspec path on unescaped slashes.
pub fn split_path(path: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'/') {
            current.push('/');
            chars.next();
        } else if c == '/' {
            segments.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() || !segments.is_empty() {
        segments.push(current);
    }
    segments.retain(|s| !s.is_empty());
    segments
}

/// Calls `visit` on every field that `segments` reaches inside `node`.
///
/// With `create`, missing intermediate mappings are created and the leaf is offered as `Value::Null`
/// inserted in place (the visitor fills it, or the caller removes nulls it did not fill).
pub fn visit_path(
    node: &mut Value,
    segments: &[String],
    create: bool,
    visit: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    visit_path_tracked(node, segments, create, &mut Vec::new(), &mut |field, _| {
        visit(field)
    })
}

/// A visitor told the concrete path (keys and list indices) of each field it gets.
pub type PlacedVisitor<'a> = dyn FnMut(&mut Value, &[PathStep]) -> Result<(), String> + 'a;

/// [`visit_path`] that also tells the visitor the concrete path (keys and list indices) of the field.
fn visit_path_tracked(
    node: &mut Value,
    segments: &[String],
    create: bool,
    path: &mut Vec<PathStep>,
    visit: &mut PlacedVisitor<'_>,
) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        return visit(node, path);
    };
    if let Value::Seq(items) = node {
        for (index, item) in items.iter_mut().enumerate() {
            path.push(PathStep::Index(index));
            let result = visit_path_tracked(item, segments, create, path, visit);
            path.pop();
            result?;
        }
        return Ok(());
    }
    let (key, is_list) = match first.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (first.as_str(), false),
    };
    let Value::Map(map) = node else {
        return Ok(());
    };
    if !map.contains_key(key) {
        if !create || is_list {
            return Ok(());
        }
        let placeholder = if rest.is_empty() {
            Value::Null
        } else {
            Value::Map(Mapping::new())
        };
        map.insert(key.to_string(), placeholder);
    }
    let Some(child) = map.get_mut(key) else {
        return Ok(());
    };
    if child.is_null() && !rest.is_empty() {
        if !create {
            return Ok(());
        }
        *child = Value::Map(Mapping::new());
    }
    path.push(PathStep::Key(key.to_string()));
    let result = visit_path_tracked(child, rest, create, path, visit);
    path.pop();
    result
}

/// [`visit_specs`] that also tells the visitor the concrete path of each field.
pub fn visit_specs_with_paths(
    node: &mut Value,
    gvk: &Gvk,
    specs: &[FieldSpec],
    visit: &mut PlacedVisitor<'_>,
) -> Result<(), String> {
    for spec in specs {
        if !spec.applies_to(gvk) {
            continue;
        }
        let segments = spec.segments();
        visit_path_tracked(node, &segments, spec.create, &mut Vec::new(), visit)?;
    }
    Ok(())
}

/// Calls `visit` on every field reached by any of `specs` that applies to `gvk`.
pub fn visit_specs(
    node: &mut Value,
    gvk: &Gvk,
    specs: &[FieldSpec],
    visit: &mut dyn FnMut(&mut Value, &FieldSpec) -> Result<(), String>,
) -> Result<(), String> {
    for spec in specs {
        if !spec.applies_to(gvk) {
            continue;
        }
        let segments = spec.segments();
        visit_path(node, &segments, spec.create, &mut |field| {
            visit(field, spec)
        })?;
    }
    Ok(())
}
