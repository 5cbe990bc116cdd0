//! Every field of every older version Eddy serves must exist, with a compatible type, in the
//! storage (current) version's schema: objects written at an old version are stored and read
//! back at the current version, and the API server prunes whatever that schema lacks.

// Test code: a panic is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::*;

#[test]
fn storage_schema_keeps_every_legacy_field() {
    let ours = ours();
    let mut problems = Vec::new();
    let mut checked_versions = 0;
    for path in yaml_files(&flux_legacy_dir()) {
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        let legacy = read_yaml(&path);
        let our_crd = ours
            .get(&file_name)
            .unwrap_or_else(|| panic!("{file_name} not generated"));
        let storage = storage_version(our_crd);
        let storage_paths = field_paths(root_schema(storage));
        // Alert and Provider became static objects without status in v1beta3. Their v1beta2
        // status lived behind the status subresource, so users could never set it and no Eddy
        // controller writes it: nothing of value can be lost there.
        let storage_has_status = !storage["subresources"]["status"].is_null();
        for legacy_version in legacy["spec"]["versions"].as_array().unwrap() {
            checked_versions += 1;
            let version_name = legacy_version["name"].as_str().unwrap();
            for (path, legacy_node) in field_paths(root_schema(legacy_version)) {
                if !storage_has_status && (path == ".status" || path.starts_with(".status.")) {
                    continue;
                }
                if let Some(problem) = check_field(&path, &legacy_node, &storage_paths) {
                    problems.push(format!("{file_name} {version_name}: {problem}"));
                }
            }
        }
    }
    // 13 kinds; HelmRelease and the image kinds have two older versions each.
    assert_eq!(
        checked_versions, 17,
        "unexpected number of vendored legacy versions"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn legacy_versions_are_served_deprecated_and_not_stored() {
    for (file_name, crd) in ours() {
        let versions = crd["spec"]["versions"].as_array().unwrap();
        let stored: Vec<&Value> = versions.iter().filter(|v| v["storage"] == true).collect();
        assert_eq!(stored.len(), 1, "{file_name}: exactly one storage version");
        assert_eq!(
            stored[0], &versions[0],
            "{file_name}: the current version comes first and is stored"
        );
        assert!(
            crd["spec"]["conversion"].is_null(),
            "{file_name}: conversion strategy stays None"
        );
        for old in &versions[1..] {
            assert_eq!(old["served"], true, "{file_name} {}", old["name"]);
            assert_eq!(old["deprecated"], true, "{file_name} {}", old["name"]);
            let warning = old["deprecationWarning"].as_str().unwrap_or_default();
            assert!(
                warning.contains("deprecated")
                    && warning.contains(versions[0]["name"].as_str().unwrap()),
                "{file_name} {}: warning {warning:?}",
                old["name"]
            );
        }
    }
}

/// Whether the storage schema keeps the legacy field at `path` with a compatible type.
fn check_field(
    path: &str,
    legacy_node: &Value,
    storage_paths: &std::collections::BTreeMap<String, Value>,
) -> Option<String> {
    // Below a field that keeps unknown content, anything is kept.
    if preserved_by_ancestor(path, storage_paths) {
        return None;
    }
    let Some(ours) = storage_paths.get(path) else {
        return Some(format!("storage schema lacks {path}"));
    };
    for key in ["type", "x-kubernetes-int-or-string"] {
        if legacy_node[key] != ours[key] {
            return Some(format!(
                "{path}: {key} legacy {} vs storage {}",
                legacy_node[key], ours[key]
            ));
        }
    }
    if legacy_node["x-kubernetes-preserve-unknown-fields"] == true
        && ours["x-kubernetes-preserve-unknown-fields"] != true
    {
        return Some(format!(
            "{path}: legacy keeps unknown fields, storage would prune them"
        ));
    }
    None
}

fn preserved_by_ancestor(
    path: &str,
    storage_paths: &std::collections::BTreeMap<String, Value>,
) -> bool {
    storage_paths.iter().any(|(prefix, node)| {
        path.len() > prefix.len()
            && path.starts_with(prefix.as_str())
            && node["x-kubernetes-preserve-unknown-fields"] == true
            && node["properties"].is_null()
    })
}
