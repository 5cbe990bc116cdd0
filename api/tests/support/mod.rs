//! Helpers shared by the schema-comparison tests: loading CRD files and walking schemas.

// Test code: a panic is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Directory of this crate.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Flux's current-version CRDs, vendored (descriptions stripped) by `cargo xtask crds --vendor-legacy`.
pub fn flux_current_dir() -> PathBuf {
    crate_dir().join("tests/flux")
}

/// Flux's older versions, vendored by `cargo xtask crds --vendor-legacy`.
pub fn flux_legacy_dir() -> PathBuf {
    crate_dir().join("legacy")
}

pub fn read_yaml(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Our generated CRDs (all versions) as JSON, keyed by file name.
pub fn ours() -> BTreeMap<String, Value> {
    eddy_api::crds::all()
        .into_iter()
        .map(|(name, crd)| (name, serde_json::to_value(crd).unwrap()))
        .collect()
}

/// The version object named `name` inside a CRD value.
pub fn version<'a>(crd: &'a Value, name: &str) -> Option<&'a Value> {
    crd["spec"]["versions"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
}

/// The storage version of a CRD.
pub fn storage_version(crd: &Value) -> &Value {
    crd["spec"]["versions"]
        .as_array()
        .and_then(|versions| versions.iter().find(|v| v["storage"] == true))
        .expect("a storage version")
}

pub fn root_schema(version: &Value) -> &Value {
    &version["schema"]["openAPIV3Schema"]
}

/// Every field path of a schema (`.spec.ref.branch`, `.spec.include[]`, `.metadata{}`), with
/// its node.
pub fn field_paths(schema: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    collect_paths(schema, String::new(), &mut out);
    out
}

fn collect_paths(node: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    if let Some(properties) = node["properties"].as_object() {
        for (name, child) in properties {
            collect_paths(child, format!("{path}.{name}"), out);
        }
    }
    if node["items"].is_object() {
        collect_paths(&node["items"], format!("{path}[]"), out);
    }
    if node["additionalProperties"].is_object() {
        collect_paths(&node["additionalProperties"], format!("{path}{{}}"), out);
    }
    out.insert(path, node.clone());
}

/// Keys of a schema node that only carry children or prose; everything else is compared.
const STRUCTURAL_KEYS: &[&str] = &[
    "description",
    "properties",
    "items",
    "additionalProperties",
    "required",
];

/// Validation-relevant keywords of one node (children and descriptions left out).
pub fn node_facts(node: &Value) -> BTreeMap<String, Value> {
    node.as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(key, _)| !STRUCTURAL_KEYS.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), normalise(key, value)))
                .collect()
        })
        .unwrap_or_default()
}

/// CEL rule lists are compared without regard to order, and numbers by value (`0` == `0.0`:
/// `JSONSchemaProps` stores bounds as floats).
fn normalise(key: &str, value: &Value) -> Value {
    match (key, value) {
        (_, Value::Number(number)) => number.as_f64().map_or_else(|| value.clone(), Value::from),
        ("x-kubernetes-validations", Value::Array(rules)) => {
            let mut rules: Vec<String> = rules.iter().map(Value::to_string).collect();
            rules.sort();
            Value::from(rules)
        }
        _ => value.clone(),
    }
}

pub fn required_set(node: &Value) -> BTreeSet<String> {
    node["required"]
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Names of CRD files in a directory.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// Field paths present in any legacy version of the CRD in `file_name` (empty if none).
pub fn legacy_paths(file_name: &str) -> BTreeSet<String> {
    let path = flux_legacy_dir().join(file_name);
    if !path.exists() {
        return BTreeSet::new();
    }
    let crd = read_yaml(&path);
    crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|version| field_paths(root_schema(version)).into_keys())
        .collect()
}
