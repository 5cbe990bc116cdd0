//! Our CRDs against Flux's: every field path Flux has, we have, with the same validation
//! keywords (type, enum, pattern, format, lengths, defaults, required, CEL rules, list and
//! int-or-string markers); plus names, printer columns and subresources. Fields Flux does not
//! have are only allowed when an older Flux version had them (legacy fields, see README), or
//! when they are one of Eddy's own status fields listed in [`EDDY_STATUS_FIELDS`].

// Test code: a panic is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::*;

/// Status fields of Eddy's additions beyond Flux (file, path prefix). Status only: a spec field
/// Flux lacks would make objects written for Eddy invalid on Flux, while clients and Flux's CLI
/// ignore status fields they do not know.
const EDDY_STATUS_FIELDS: &[(&str, &str)] = &[
    // The hold after a manual rollback (image-automation/README.md).
    (
        "image.toolkit.fluxcd.io_imageupdateautomations.yaml",
        ".status.holds",
    ),
    (
        "image.toolkit.fluxcd.io_imageupdateautomations.yaml",
        ".status.pushedValues",
    ),
    (
        "image.toolkit.fluxcd.io_imageupdateautomations.yaml",
        ".status.lastHandledHoldRelease",
    ),
];

fn is_eddy_status_field(file_name: &str, path: &str) -> bool {
    EDDY_STATUS_FIELDS
        .iter()
        .any(|(file, prefix)| *file == file_name && path.starts_with(prefix))
}

#[test]
fn every_flux_crd_has_a_generated_counterpart_with_the_same_schema() {
    let ours = ours();
    let mut problems = Vec::new();
    let flux_files = yaml_files(&flux_current_dir());
    assert_eq!(flux_files.len(), 13, "expected the 13 Flux CRDs");
    for path in flux_files {
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        let flux = read_yaml(&path);
        let Some(our_crd) = ours.get(&file_name) else {
            problems.push(format!("{file_name}: not generated"));
            continue;
        };
        compare_crd(&file_name, &flux, our_crd, &mut problems);
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn compare_crd(file_name: &str, flux: &Value, ours: &Value, problems: &mut Vec<String>) {
    let mut expect_equal = |what: &str, flux_value: &Value, our_value: &Value| {
        if flux_value != our_value {
            problems.push(format!(
                "{file_name}: {what}: flux {flux_value} vs ours {our_value}"
            ));
        }
    };
    expect_equal(
        "metadata.name",
        &flux["metadata"]["name"],
        &ours["metadata"]["name"],
    );
    expect_equal(
        "substitute annotation",
        &flux["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/substitute"],
        &ours["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/substitute"],
    );
    expect_equal("group", &flux["spec"]["group"], &ours["spec"]["group"]);
    expect_equal("scope", &flux["spec"]["scope"], &ours["spec"]["scope"]);
    expect_equal("names", &flux["spec"]["names"], &ours["spec"]["names"]);
    expect_equal(
        "conversion",
        &flux["spec"]["conversion"],
        &ours["spec"]["conversion"],
    );

    let flux_version = &flux["spec"]["versions"][0];
    let version_name = flux_version["name"].as_str().unwrap_or_default();
    let Some(our_version) = version(ours, version_name) else {
        problems.push(format!("{file_name}: version {version_name} missing"));
        return;
    };
    for key in [
        "additionalPrinterColumns",
        "subresources",
        "served",
        "storage",
        "deprecated",
    ] {
        if flux_version[key] != our_version[key] {
            problems.push(format!(
                "{file_name} {version_name}: {key}: flux {} vs ours {}",
                flux_version[key], our_version[key]
            ));
        }
    }

    let legacy = legacy_paths(file_name);
    let flux_paths = field_paths(root_schema(flux_version));
    let our_paths = field_paths(root_schema(our_version));
    for (path, flux_node) in &flux_paths {
        let Some(our_node) = our_paths.get(path) else {
            problems.push(format!("{file_name} {version_name}: missing field {path}"));
            continue;
        };
        let (flux_facts, our_facts) = (node_facts(flux_node), node_facts(our_node));
        if flux_facts != our_facts {
            problems.push(format!(
                "{file_name} {version_name}: {path}: flux {flux_facts:?} vs ours {our_facts:?}"
            ));
        }
        let (flux_required, our_required) = (required_set(flux_node), required_set(our_node));
        if flux_required != our_required {
            problems.push(format!(
                "{file_name} {version_name}: {path}: required flux {flux_required:?} vs ours {our_required:?}"
            ));
        }
    }
    for path in our_paths.keys() {
        if !flux_paths.contains_key(path)
            && !legacy.contains(path)
            && !is_eddy_status_field(file_name, path)
        {
            problems.push(format!(
                "{file_name} {version_name}: extra field {path} (not in any Flux version)"
            ));
        }
    }
}
