//! Test-only check that the storage schema of each kind owned by the helm, notification and
//! image modules contains every field of that kind's older API versions.
//!
//! Why: Eddy serves old versions with conversion strategy `None`, so an object written at e.g.
//! v2beta1 is stored as v2 and the API server prunes whatever the v2 schema does not declare.
//! Carrying the old-only fields in the current types keeps such objects intact.

use serde_json::Value;

/// Every `(path, type)` below `schema`, where a path is a dotted list of property names with
/// `[]` for array items and `{}` for map values.
fn schema_paths(schema: &Value, path: &str, out: &mut Vec<(String, Option<String>)>) {
    let schema_type = schema
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_owned);
    out.push((path.to_owned(), schema_type));
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, child) in properties {
            schema_paths(child, &format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = schema.get("items") {
        schema_paths(items, &format!("{path}[]"), out);
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        schema_paths(values, &format!("{path}{{}}"), out);
    }
}

fn lookup<'a>(schema: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = schema;
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("[]") {
            current = current.get("items")?;
            rest = after;
        } else if let Some(after) = rest.strip_prefix("{}") {
            current = current.get("additionalProperties")?;
            rest = after;
        } else {
            let after_dot = rest.strip_prefix('.')?;
            let end = after_dot.find(['.', '[', '{']).unwrap_or(after_dot.len());
            current = current.get("properties")?.get(&after_dot[..end])?;
            rest = &after_dot[end..];
        }
    }
    Some(current)
}

/// Legacy paths (with their version) missing from, or typed differently in, `current`.
/// Paths starting with one of `exempt` are skipped.
fn uncovered_legacy_paths(
    current: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    legacy_file: &str,
    exempt: &[&str],
) -> Vec<String> {
    let path = format!(
        "{}/../../shared/flux-crds/legacy/{legacy_file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {path}: {err}"));
    let legacy: Value = serde_yaml_ng::from_str(&text).unwrap();
    let current = serde_json::to_value(current).unwrap();
    let current_root = &current["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let mut problems = Vec::new();
    for version in legacy["spec"]["versions"].as_array().unwrap() {
        let mut paths = Vec::new();
        schema_paths(&version["schema"]["openAPIV3Schema"], "", &mut paths);
        for (path, legacy_type) in paths {
            // The root's apiVersion/kind/metadata belong to the generic CRD shape, not the kind.
            let root_meta = ["", ".apiVersion", ".kind", ".metadata"].contains(&path.as_str());
            if root_meta || exempt.iter().any(|prefix| path.starts_with(prefix)) {
                continue;
            }
            let name = version["name"].as_str().unwrap_or("?");
            match lookup(current_root, &path) {
                None => problems.push(format!("{name}: {path} missing")),
                Some(ours) => {
                    let our_type = ours.get("type").and_then(Value::as_str);
                    if legacy_type.is_some() && our_type != legacy_type.as_deref() {
                        problems.push(format!(
                            "{name}: {path} is {our_type:?}, was {legacy_type:?}"
                        ));
                    }
                }
            }
        }
    }
    problems
}

#[test]
fn helmrelease_storage_schema_covers_v2beta1_and_v2beta2() {
    let problems = uncovered_legacy_paths(
        &crate::helm::helmrelease::crd(),
        "helm.toolkit.fluxcd.io_helmreleases.yaml",
        &[],
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn image_storage_schemas_cover_v1beta1_and_v1beta2() {
    let problems: Vec<String> = [
        (
            crate::image::imagerepository::crd(),
            "image.toolkit.fluxcd.io_imagerepositories.yaml",
        ),
        (
            crate::image::imagepolicy::crd(),
            "image.toolkit.fluxcd.io_imagepolicies.yaml",
        ),
        (
            crate::image::imageupdateautomation::crd(),
            "image.toolkit.fluxcd.io_imageupdateautomations.yaml",
        ),
    ]
    .iter()
    .flat_map(|(crd, file)| uncovered_legacy_paths(crd, file, &[]))
    .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn notification_storage_schemas_cover_v1beta2() {
    // Provider and Alert had a status in v1beta2 but are static objects now: Eddy never writes
    // one and v1beta3 has no status subresource, so the old status is deliberately not carried.
    let problems: Vec<String> = [
        (
            crate::notification::provider::crd(),
            "notification.toolkit.fluxcd.io_providers.yaml",
        ),
        (
            crate::notification::alert::crd(),
            "notification.toolkit.fluxcd.io_alerts.yaml",
        ),
        (
            crate::notification::receiver::crd(),
            "notification.toolkit.fluxcd.io_receivers.yaml",
        ),
    ]
    .iter()
    .flat_map(|(crd, file)| {
        let exempt: &[&str] = if file.contains("receivers") {
            &[]
        } else {
            &[".status"]
        };
        uncovered_legacy_paths(crd, file, exempt)
    })
    .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn lookup_walks_items_and_maps() {
    let schema = serde_json::json!({"properties": {"a": {"items": {"additionalProperties": {"type": "string"}}}}});
    assert_eq!(
        lookup(&schema, ".a[]{}"),
        Some(&serde_json::json!({"type": "string"}))
    );
    assert_eq!(lookup(&schema, ".b"), None);
}
