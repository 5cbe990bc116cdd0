//! Resource selection for patch targets and replacements: anchored regular expressions on
//! group/version/kind/name/namespace, plus Kubernetes label and annotation selectors.

use regex::Regex;

use crate::kustomization::Selector;
use crate::resource::Resource;

/// A compiled selector.
pub struct CompiledSelector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<Vec<Requirement>>,
    annotations: Option<Vec<Requirement>>,
}

fn anchored(pattern: &Option<String>) -> Result<Option<Regex>, String> {
    match pattern {
        None => Ok(None),
        Some(p) if p.is_empty() => Ok(None),
        Some(p) => Regex::new(&format!("^(?:{p})$"))
            .map(Some)
            .map_err(|e| format!("invalid regular expression {p:?}: {e}")),
    }
}

fn is_match(regex: &Option<Regex>, text: &str) -> bool {
    regex.as_ref().is_none_or(|r| r.is_match(text))
}

impl CompiledSelector {
    pub fn new(selector: &Selector) -> Result<CompiledSelector, String> {
        Ok(CompiledSelector {
            group: anchored(&selector.group)?,
            version: anchored(&selector.version)?,
            kind: anchored(&selector.kind)?,
            name: anchored(&selector.name)?,
            namespace: anchored(&selector.namespace)?,
            labels: selector
                .label_selector
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(parse_requirements)
                .transpose()?,
            annotations: selector
                .annotation_selector
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(parse_requirements)
                .transpose()?,
        })
    }

    /// Matches the object's current or original name and namespace, and its current GVK.
    pub fn matches(&self, resource: &Resource) -> bool {
        let current = resource.cur_id();
        let original = resource.org_id();
        if !is_match(&self.namespace, original.effective_namespace())
            && !is_match(&self.namespace, current.effective_namespace())
        {
            return false;
        }
        if !is_match(&self.name, &original.name) && !is_match(&self.name, &current.name) {
            return false;
        }
        let gvk = &current.gvk;
        if !is_match(&self.group, &gvk.group)
            || !is_match(&self.version, &gvk.version)
            || !is_match(&self.kind, &gvk.kind)
        {
            return false;
        }
        if let Some(requirements) = &self.labels
            && !requirements_match(requirements, &resource.labels())
        {
            return false;
        }
        if let Some(requirements) = &self.annotations
            && !requirements_match(requirements, &resource.annotations())
        {
            return false;
        }
        true
    }
}

#[derive(Debug)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                current.push(c);
            }
            ')' => {
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn parse_set(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("invalid set {text:?} in selector"))?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
}

fn parse_requirements(text: &str) -> Result<Vec<Requirement>, String> {
    let mut requirements = Vec::new();
    for part in split_top_level(text) {
        let requirement = if let Some(key) = part.strip_prefix('!') {
            Requirement::NotExists(key.trim().to_string())
        } else if let Some((key, value)) = part.split_once("!=") {
            Requirement::NotEquals(key.trim().to_string(), value.trim().to_string())
        } else if let Some((key, value)) = part.split_once("==") {
            Requirement::Equals(key.trim().to_string(), value.trim().to_string())
        } else if let Some((key, value)) = part.split_once('=') {
            Requirement::Equals(key.trim().to_string(), value.trim().to_string())
        } else if let Some((key, set)) = part.split_once(" notin ") {
            Requirement::NotIn(key.trim().to_string(), parse_set(set)?)
        } else if let Some((key, set)) = part.split_once(" in ") {
            Requirement::In(key.trim().to_string(), parse_set(set)?)
        } else {
            Requirement::Exists(part.trim().to_string())
        };
        requirements.push(requirement);
    }
    Ok(requirements)
}

fn requirements_match(requirements: &[Requirement], pairs: &[(String, String)]) -> bool {
    let lookup = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    requirements.iter().all(|requirement| match requirement {
        Requirement::Equals(key, value) => lookup(key) == Some(value.as_str()),
        Requirement::NotEquals(key, value) => lookup(key) != Some(value.as_str()),
        Requirement::In(key, values) => lookup(key).is_some_and(|v| values.iter().any(|x| x == v)),
        Requirement::NotIn(key, values) => {
            lookup(key).is_none_or(|v| !values.iter().any(|x| x == v))
        }
        Requirement::Exists(key) => lookup(key).is_some(),
        Requirement::NotExists(key) => lookup(key).is_none(),
    })
}
