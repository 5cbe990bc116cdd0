//! Minimal objects (only required fields) deserialize, and the defaults our Rust types fill in
//! are the ones Flux's CRDs declare for the same fields.

// Test code: a panic is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use eddy_api::kustomize::Kustomization;
use eddy_api::source::{Bucket, GitRepository, HelmChart, HelmRepository, OCIRepository};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use support::*;

fn minimal<T: DeserializeOwned>(api_version: &str, kind: &str, spec: Value) -> T {
    serde_json::from_value(json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": { "name": "example", "namespace": "default" },
        "spec": spec,
    }))
    .unwrap_or_else(|e| panic!("minimal {kind} does not deserialize: {e}"))
}

/// The `default` Flux's CRD declares at `path` of the current version.
fn flux_default(file: &str, path: &str) -> Value {
    let crd = read_yaml(&flux_current_dir().join(file));
    let paths = field_paths(root_schema(&crd["spec"]["versions"][0]));
    paths[path]["default"].clone()
}

/// The value our serialized spec holds at a dotted `.spec` path.
fn spec_value(object: &impl serde::Serialize, path: &str) -> Value {
    let mut value = serde_json::to_value(object).unwrap();
    for part in path.trim_start_matches('.').split('.') {
        value = value[part].take();
    }
    value
}

#[test]
fn git_repository_defaults_match_flux() {
    let file = "source.toolkit.fluxcd.io_gitrepositories.yaml";
    let repo: GitRepository = minimal(
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        json!({ "url": "https://example.com/repo", "interval": "1m",
                "verify": { "secretRef": { "name": "keys" } } }),
    );
    assert!(repo.status.is_none());
    assert_eq!(repo.spec.timeout, "60s");
    for path in [".spec.timeout", ".spec.verify.mode"] {
        assert_eq!(spec_value(&repo, path), flux_default(file, path), "{path}");
    }
}

#[test]
fn oci_repository_defaults_match_flux() {
    let file = "source.toolkit.fluxcd.io_ocirepositories.yaml";
    let repo: OCIRepository = minimal(
        "source.toolkit.fluxcd.io/v1",
        "OCIRepository",
        json!({ "url": "oci://ghcr.io/org/manifests", "interval": "5m", "verify": {} }),
    );
    for path in [".spec.timeout", ".spec.provider", ".spec.verify.provider"] {
        assert_eq!(spec_value(&repo, path), flux_default(file, path), "{path}");
    }
}

#[test]
fn helm_repository_chart_and_bucket_defaults_match_flux() {
    let repo: HelmRepository = minimal(
        "source.toolkit.fluxcd.io/v1",
        "HelmRepository",
        json!({ "url": "https://charts.example.com" }),
    );
    let path = ".spec.provider";
    assert_eq!(
        spec_value(&repo, path),
        flux_default("source.toolkit.fluxcd.io_helmrepositories.yaml", path)
    );
    assert_eq!(
        repo.spec.interval, None,
        "interval defaults in code, not in the schema"
    );

    let chart: HelmChart = minimal(
        "source.toolkit.fluxcd.io/v1",
        "HelmChart",
        json!({ "chart": "podinfo", "interval": "5m", "sourceRef": { "kind": "HelmRepository", "name": "podinfo" } }),
    );
    for path in [".spec.version", ".spec.reconcileStrategy"] {
        assert_eq!(
            spec_value(&chart, path),
            flux_default("source.toolkit.fluxcd.io_helmcharts.yaml", path),
            "{path}"
        );
    }

    let bucket: Bucket = minimal(
        "source.toolkit.fluxcd.io/v1",
        "Bucket",
        json!({ "bucketName": "manifests", "endpoint": "minio:9000", "interval": "1m" }),
    );
    for path in [".spec.provider", ".spec.timeout"] {
        assert_eq!(
            spec_value(&bucket, path),
            flux_default("source.toolkit.fluxcd.io_buckets.yaml", path),
            "{path}"
        );
    }
}

#[test]
fn kustomization_defaults_match_flux() {
    let file = "kustomize.toolkit.fluxcd.io_kustomizations.yaml";
    let ks: Kustomization = minimal(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        json!({ "interval": "10m", "prune": true,
                "sourceRef": { "kind": "GitRepository", "name": "flux-system" },
                "postBuild": { "substituteFrom": [{ "kind": "ConfigMap", "name": "vars" }] } }),
    );
    assert!(!ks.spec.force);
    assert_eq!(
        spec_value(&ks, ".spec.force"),
        flux_default(file, ".spec.force")
    );
    let substitute_from = &ks
        .spec
        .post_build
        .as_ref()
        .unwrap()
        .substitute_from
        .as_ref()
        .unwrap()[0];
    assert_eq!(
        Value::from(substitute_from.optional),
        flux_default(file, ".spec.postBuild.substituteFrom[].optional")
    );
    // Optional settings without a schema default stay unset rather than being invented.
    let serialized = serde_json::to_value(&ks).unwrap();
    for absent in [
        "wait",
        "timeout",
        "retryInterval",
        "deletionPolicy",
        "suspend",
        "path",
    ] {
        assert!(
            serialized["spec"].get(absent).is_none(),
            "{absent} should be absent"
        );
    }
}

#[test]
fn status_defaults_to_unobserved_generation() {
    for (file, crd) in ours() {
        let storage = storage_version(&crd);
        if storage["subresources"]["status"].is_null() {
            continue; // Alert and Provider have no status.
        }
        if file == "source.toolkit.fluxcd.io_externalartifacts.yaml" {
            // A third-party producer writes it; Flux gives it no default either.
            assert!(root_schema(storage)["properties"]["status"]["default"].is_null());
            continue;
        }
        assert_eq!(
            root_schema(storage)["properties"]["status"]["default"],
            json!({ "observedGeneration": -1 }),
            "{file}"
        );
    }
}
