//! The seed's manifests written at old API versions (copied into `tests/seed/`) must be valid
//! at the version they name, keep every field in the storage schema, and deserialize into our
//! Rust types once read back at the current version. The acceptance tests apply the same files
//! to a real API server; this catches schema gaps without one.

// Test code: a panic is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use support::*;

fn seed_documents() -> Vec<(String, Value)> {
    let mut documents = Vec::new();
    for path in yaml_files(&crate_dir().join("tests/seed")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = Value::deserialize(document).unwrap();
            if !value.is_null() {
                documents.push((name.clone(), value));
            }
        }
    }
    documents
}

/// Our CRD serving `apiVersion`/`kind`.
fn crd_for<'a>(crds: &'a BTreeMap<String, Value>, api_version: &str, kind: &str) -> &'a Value {
    let group = api_version.split('/').next().unwrap();
    crds.values()
        .find(|crd| crd["spec"]["group"] == group && crd["spec"]["names"]["kind"] == kind)
        .unwrap_or_else(|| panic!("no CRD for {api_version} {kind}"))
}

#[test]
fn seed_manifests_fit_their_old_version_and_the_storage_schema() {
    let crds = ours();
    let documents = seed_documents();
    assert!(
        documents.len() >= 6,
        "expected the seed's old-version manifests, got {}",
        documents.len()
    );
    let mut problems = Vec::new();
    for (file, object) in &documents {
        let api_version = object["apiVersion"].as_str().unwrap();
        let kind = object["kind"].as_str().unwrap();
        let crd = crd_for(&crds, api_version, kind);
        let version_name = api_version.rsplit('/').next().unwrap();
        let Some(served) = version(crd, version_name) else {
            problems.push(format!("{file}: {kind} {version_name} is not served"));
            continue;
        };
        assert_eq!(served["served"], true);
        assert_eq!(
            served["storage"], false,
            "{file}: seed manifests use old versions"
        );
        let label = format!("{file} {kind} at {version_name}");
        check_object(object, root_schema(served), "", &label, &mut problems);
        let label = format!("{file} {kind} in the storage schema");
        check_object(
            object,
            root_schema(storage_version(crd)),
            "",
            &label,
            &mut problems,
        );
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn seed_manifests_read_back_at_the_current_version_deserialize() {
    use eddy_api::{helm, image, kustomize, source};
    for (file, mut object) in seed_documents() {
        let kind = object["kind"].as_str().unwrap().to_owned();
        let group = object["apiVersion"]
            .as_str()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let crds = ours();
        let storage_name =
            storage_version(crd_for(&crds, &format!("{group}/"), &kind))["name"].clone();
        // Conversion strategy `None`: the API server only rewrites apiVersion.
        object["apiVersion"] = Value::from(format!("{group}/{}", storage_name.as_str().unwrap()));
        let result = match kind.as_str() {
            "GitRepository" => serde_json::from_value::<source::GitRepository>(object).map(|_| ()),
            "Kustomization" => {
                serde_json::from_value::<kustomize::Kustomization>(object).map(|_| ())
            }
            "HelmRelease" => serde_json::from_value::<helm::HelmRelease>(object).map(|_| ()),
            "ImageRepository" => {
                serde_json::from_value::<image::ImageRepository>(object).map(|_| ())
            }
            "ImagePolicy" => serde_json::from_value::<image::ImagePolicy>(object).map(|_| ()),
            "ImageUpdateAutomation" => {
                serde_json::from_value::<image::ImageUpdateAutomation>(object).map(|_| ())
            }
            other => panic!("{file}: no Rust type mapped for {other}"),
        };
        if let Err(error) = result {
            panic!("{file}: {kind} does not deserialize at the current version: {error}");
        }
    }
}

#[test]
fn the_kustomization_seed_keeps_its_v1beta2_only_field() {
    let (_, object) = seed_documents()
        .into_iter()
        .find(|(_, object)| object["kind"] == "Kustomization")
        .unwrap();
    let kustomization: eddy_api::kustomize::Kustomization = serde_json::from_value(object).unwrap();
    assert_eq!(
        kustomization.spec.validation,
        Some(eddy_api::kustomize::v1::ValidationMode::Client)
    );
}

/// Checks that every field of `value` is declared by `schema` with a matching JSON type (and
/// enum value), the way the API server would validate and prune it.
fn check_object(
    value: &Value,
    schema: &Value,
    path: &str,
    label: &str,
    problems: &mut Vec<String>,
) {
    if path == ".metadata" || path == ".status" {
        return;
    }
    if schema["x-kubernetes-preserve-unknown-fields"] == true && schema["properties"].is_null() {
        return;
    }
    let expected_type = schema["type"].as_str();
    let int_or_string = schema["x-kubernetes-int-or-string"] == true;
    let type_ok = match value {
        Value::Object(_) => expected_type == Some("object"),
        Value::Array(_) => expected_type == Some("array"),
        Value::String(_) => expected_type == Some("string") || int_or_string,
        Value::Number(n) => {
            expected_type == Some("number")
                || (n.is_i64() && expected_type == Some("integer"))
                || int_or_string
        }
        Value::Bool(_) => expected_type == Some("boolean"),
        Value::Null => false,
    };
    if !type_ok {
        problems.push(format!(
            "{label}: {path}: value {value} does not fit type {:?}",
            schema["type"]
        ));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        problems.push(format!("{label}: {path}: {value} not in enum {allowed:?}"));
    }
    match value {
        Value::Object(fields) => {
            for (name, child) in fields {
                let child_path = format!("{path}.{name}");
                if let Some(child_schema) = schema["properties"].get(name) {
                    check_object(child, child_schema, &child_path, label, problems);
                } else if schema["additionalProperties"].is_object() {
                    check_object(
                        child,
                        &schema["additionalProperties"],
                        &child_path,
                        label,
                        problems,
                    );
                } else if path.is_empty() && (name == "apiVersion" || name == "kind") {
                    // Declared at the root of every CRD schema; covered above when present.
                } else {
                    problems.push(format!("{label}: field {child_path} would be pruned"));
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                check_object(
                    item,
                    &schema["items"],
                    &format!("{path}[{index}]"),
                    label,
                    problems,
                );
            }
        }
        _ => {}
    }
}
