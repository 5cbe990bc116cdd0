//! Dependency processing before a render (`ProcessDependencies`): aliases, `tags` and
//! `condition` decide which subcharts stay, then `import-values` lift child values into parents.

use serde_json::Value as Json;

use crate::chart::{Chart, Dependency};
use crate::error::Error;
use crate::values::{Table, coalesce_tables, coalesce_values, merge_values, path_value, table_at};

/// Every dependency declared in `Chart.yaml` must be present under `charts/` (Helm's
/// `CheckDependencies`; versions are not compared).
pub fn check_dependencies_present(chart: &Chart) -> Result<(), Error> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|d| !chart.dependencies.iter().any(|c| c.name() == d.name))
        .map(|d| d.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::MissingDependencies(missing.join(", ")))
    }
}

pub fn process_dependencies(chart: &mut Chart, user_values: &Table) -> Result<(), Error> {
    process_enabled(chart, user_values, "");
    process_import_values(chart);
    Ok(())
}

fn compatible(constraint: &str, version: &str) -> bool {
    let (Ok(version), Ok(constraint)) = (
        eddy_semver::Version::parse(version),
        eddy_semver::Constraints::parse(constraint),
    ) else {
        return false;
    };
    constraint.matches(&version)
}

fn declared_by(req: &Dependency, sub: &Chart) -> bool {
    sub.name() == req.name && compatible(&req.version, &sub.metadata.version)
}

fn process_enabled(chart: &mut Chart, values: &Table, path: &str) {
    if chart.metadata.dependencies.is_empty() {
        return;
    }
    let existing = std::mem::take(&mut chart.dependencies);
    let mut subcharts: Vec<Chart> = existing
        .iter()
        .filter(|sub| {
            !chart
                .metadata
                .dependencies
                .iter()
                .any(|r| declared_by(r, sub))
        })
        .cloned()
        .collect();
    for req in &mut chart.metadata.dependencies {
        if let Some(found) = existing.iter().find(|sub| declared_by(req, sub)) {
            let mut copy = found.clone();
            if !req.alias.is_empty() {
                copy.metadata.name = req.alias.clone();
            }
            subcharts.push(copy);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
        req.enabled = true;
    }
    chart.dependencies = subcharts;
    let coalesced = coalesce_values(chart, values);
    apply_tags(&mut chart.metadata.dependencies, &coalesced);
    apply_conditions(&mut chart.metadata.dependencies, &coalesced, path);
    let disabled: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|d| !d.enabled)
        .map(|d| d.name.clone())
        .collect();
    chart
        .dependencies
        .retain(|sub| !disabled.iter().any(|n| n == sub.name()));
    chart
        .metadata
        .dependencies
        .retain(|d| !disabled.contains(&d.name));
    for sub in &mut chart.dependencies {
        let sub_path = format!("{path}{}.", sub.name());
        process_enabled(sub, &coalesced, &sub_path);
    }
}

/// Disabled only when none of its tags is true and at least one is false.
fn apply_tags(deps: &mut [Dependency], values: &Table) {
    let Some(Json::Object(tags)) = values.get("tags") else {
        return;
    };
    for dep in deps {
        let states: Vec<bool> = dep
            .tags
            .iter()
            .filter_map(|t| tags.get(t).and_then(Json::as_bool))
            .collect();
        let has_true = states.contains(&true);
        let has_false = states.contains(&false);
        dep.enabled = has_true || !has_false;
    }
}

/// The first condition path that resolves to a bool decides.
fn apply_conditions(deps: &mut [Dependency], values: &Table, path: &str) {
    for dep in deps {
        for condition in dep.condition.trim().split(',') {
            if condition.is_empty() {
                continue;
            }
            if let Some(Json::Bool(enabled)) = path_value(values, &format!("{path}{condition}")) {
                dep.enabled = *enabled;
                break;
            }
        }
    }
}

fn process_import_values(chart: &mut Chart) {
    for sub in &mut chart.dependencies {
        process_import_values(sub);
    }
    if chart.metadata.dependencies.is_empty() {
        return;
    }
    let merged = merge_values(chart, &Table::new());
    let mut imported = Table::new();
    for dep in &mut chart.metadata.dependencies {
        let mut normalized = Vec::new();
        for import in &dep.import_values {
            let (child, parent) = match import {
                Json::Object(pair) => (go_string(pair.get("child")), go_string(pair.get("parent"))),
                Json::String(name) => (format!("exports.{name}"), ".".to_string()),
                _ => continue,
            };
            normalized.push(serde_json::json!({"child": child, "parent": parent}));
            let Some(source) = table_at(&merged, &format!("{}.{child}", dep.name)) else {
                continue;
            };
            let lifted = nest_under(&parent, source.clone());
            coalesce_tables(&mut imported, lifted, true);
        }
        dep.import_values = normalized;
    }
    let mut values = merged;
    coalesce_tables(&mut values, imported, true);
    chart.values = values;
}

fn go_string(value: Option<&Json>) -> String {
    match value {
        None | Some(Json::Null) => "<nil>".to_string(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn nest_under(path: &str, table: Table) -> Table {
    if path == "." {
        return table;
    }
    path.split('.').rev().fold(table, |inner, key| {
        let mut outer = Table::new();
        outer.insert(key.to_string(), Json::Object(inner));
        outer
    })
}
