//! Acceptance on a real API server (the shared testenv): the tutorial's manifests, written at
//! Flux's older API versions, are accepted, stored, and read back at the current versions with the
//! same settings; bare objects get Flux's status default; and the CRDs reject what Flux's reject.

// Test code: a panic is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use eddy_test_support::{TestNamespace, client, install_crds};
use kube::{
    Client,
    api::{Api, DynamicObject, Patch, PatchParams, PostParams},
    core::{ApiResource, GroupVersionKind},
};
use serde::Deserialize;
use serde_json::{Value, json};

const FIELD_MANAGER: &str = "eddy-api-tests";

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn documents(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(examples().join(file)).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|value| !value.is_null())
        .collect()
}

fn api(client: &Client, namespace: &str, api_version: &str, kind: &str) -> Api<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap();
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    Api::namespaced_with(client.clone(), namespace, &resource)
}

fn current_version(api_version: &str, kind: &str) -> String {
    let group = api_version.split_once('/').unwrap().0;
    let version = match (group, kind) {
        ("helm.toolkit.fluxcd.io", _) => "v2",
        ("notification.toolkit.fluxcd.io", "Alert" | "Provider") => "v1beta3",
        _ => "v1",
    };
    format!("{group}/{version}")
}

/// Every leaf of `written` appears in `stored` with the same value (the server may add defaults).
fn assert_contains(path: &str, written: &Value, stored: &Value) {
    match written {
        Value::Object(fields) => {
            for (key, value) in fields {
                let child = format!("{path}.{key}");
                let stored_value = stored
                    .get(key)
                    .unwrap_or_else(|| panic!("{child} was dropped: stored {stored}"));
                assert_contains(&child, value, stored_value);
            }
        }
        Value::Array(items) => {
            let stored_items = stored
                .as_array()
                .unwrap_or_else(|| panic!("{path} is no longer a list"));
            assert_eq!(items.len(), stored_items.len(), "{path} changed length");
            for (index, (item, stored_item)) in items.iter().zip(stored_items).enumerate() {
                assert_contains(&format!("{path}[{index}]"), item, stored_item);
            }
        }
        leaf => assert_eq!(leaf, stored, "{path} changed"),
    }
}

#[tokio::test]
async fn tutorial_manifests_at_old_versions_are_stored_and_read_back_at_current_versions() {
    let client = client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "seed-old-versions")
        .await
        .unwrap();
    let files = [
        "gitrepository-v1beta2.yaml",
        "kustomization-v1beta2.yaml",
        "helmrelease-v2beta1.yaml",
        "image-automation-v1beta1.yaml",
    ];
    let mut checked = 0;
    for file in files {
        for mut document in documents(file) {
            document["metadata"]["namespace"] = json!(namespace.name());
            let api_version = document["apiVersion"].as_str().unwrap().to_owned();
            let kind = document["kind"].as_str().unwrap().to_owned();
            let name = document["metadata"]["name"].as_str().unwrap().to_owned();
            let written_api = api(&client, namespace.name(), &api_version, &kind);
            written_api
                .patch(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER),
                    &Patch::Apply(&document),
                )
                .await
                .unwrap_or_else(|e| panic!("{file}: {kind} {api_version} rejected: {e}"));

            let current = current_version(&api_version, &kind);
            let stored = api(&client, namespace.name(), &current, &kind)
                .get(&name)
                .await
                .unwrap();
            let stored = serde_json::to_value(&stored).unwrap();
            assert_eq!(stored["apiVersion"], json!(current));
            assert_contains(
                &format!("{file}: {kind}.spec"),
                &document["spec"],
                &stored["spec"],
            );
            assert_eq!(
                stored["status"],
                json!({"observedGeneration": -1}),
                "{kind} status default"
            );

            // And the Rust types a controller uses read the stored object without loss.
            let typed: Value = match kind.as_str() {
                "GitRepository" => serde_json::to_value(
                    serde_json::from_value::<eddy_api::source::GitRepository>(stored.clone())
                        .unwrap(),
                )
                .unwrap(),
                "Kustomization" => serde_json::to_value(
                    serde_json::from_value::<eddy_api::kustomize::Kustomization>(stored.clone())
                        .unwrap(),
                )
                .unwrap(),
                "HelmRelease" => serde_json::to_value(
                    serde_json::from_value::<eddy_api::helm::HelmRelease>(stored.clone()).unwrap(),
                )
                .unwrap(),
                "ImageRepository" => serde_json::to_value(
                    serde_json::from_value::<eddy_api::image::ImageRepository>(stored.clone())
                        .unwrap(),
                )
                .unwrap(),
                "ImagePolicy" => serde_json::to_value(
                    serde_json::from_value::<eddy_api::image::ImagePolicy>(stored.clone()).unwrap(),
                )
                .unwrap(),
                "ImageUpdateAutomation" => serde_json::to_value(
                    serde_json::from_value::<eddy_api::image::ImageUpdateAutomation>(
                        stored.clone(),
                    )
                    .unwrap(),
                )
                .unwrap(),
                other => panic!("unexpected kind {other} in {file}"),
            };
            assert_contains(
                &format!("{file}: typed {kind}.spec"),
                &document["spec"],
                &typed["spec"],
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked, 6,
        "every toolkit object of the tutorial was checked"
    );
    namespace.cleanup().await.unwrap();
}

async fn create(
    client: &Client,
    namespace: &str,
    object: Value,
) -> Result<DynamicObject, kube::Error> {
    let api_version = object["apiVersion"].as_str().unwrap().to_owned();
    let kind = object["kind"].as_str().unwrap().to_owned();
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    api(client, namespace, &api_version, &kind)
        .create(&PostParams::default(), &object)
        .await
}

fn rejection(result: Result<DynamicObject, kube::Error>) -> String {
    match result {
        Ok(object) => panic!("the API server accepted an invalid object: {object:?}"),
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            status.message
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn crds_reject_what_fluxs_reject() {
    let client = client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "crd-validation").await.unwrap();
    let ns = namespace.name();
    let git = |spec: Value| json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "metadata": {"name": "bad"}, "spec": spec});

    // Patterns.
    let message = rejection(
        create(
            &client,
            ns,
            git(json!({"url": "ftp://example.com/repo", "interval": "1m"})),
        )
        .await,
    );
    assert!(message.contains("spec.url"), "{message}");
    let message = rejection(
        create(
            &client,
            ns,
            git(json!({"url": "https://example.com/repo", "interval": "every minute"})),
        )
        .await,
    );
    assert!(message.contains("spec.interval"), "{message}");
    // Enums.
    let message = rejection(create(&client, ns, git(json!({"url": "https://example.com/repo", "interval": "1m", "provider": "bitbucket"}))).await);
    assert!(message.contains("spec.provider"), "{message}");
    let message = rejection(create(&client, ns, json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": {"name": "bad"},
        "spec": {"interval": "5m", "prune": true, "sourceRef": {"kind": "HelmRepository", "name": "x"}}
    })).await);
    assert!(message.contains("spec.sourceRef.kind"), "{message}");
    // Required fields.
    let message = rejection(create(&client, ns, json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": {"name": "bad"},
        "spec": {"interval": "5m", "sourceRef": {"kind": "GitRepository", "name": "x"}}
    })).await);
    assert!(message.contains("spec.prune"), "{message}");
    // CEL rules.
    let message = rejection(create(&client, ns, json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": "bad"},
        "spec": {"interval": "5m"}
    })).await);
    assert!(message.to_lowercase().contains("chart"), "{message}");
    let message = rejection(create(&client, ns, json!({
        "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver", "metadata": {"name": "bad"},
        "spec": {"type": "github", "resources": [{"kind": "GitRepository", "name": "x"}]}
    })).await);
    assert!(message.contains("secretRef"), "{message}");
    let message = rejection(create(&client, ns, json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy", "metadata": {"name": "bad"},
        "spec": {"imageRepositoryRef": {"name": "x"}, "policy": {"semver": {"range": ">=1.0.0"}}, "interval": "5m"}
    })).await);
    assert!(message.contains("interval"), "{message}");
    // Old versions validate against their own schemas.
    let message = rejection(create(&client, ns, json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "GitRepository", "metadata": {"name": "bad"},
        "spec": {"url": "git@github.com:org/repo", "interval": "1m"}
    })).await);
    assert!(message.contains("spec.url"), "{message}");

    // A valid object next to them is accepted, so the rejections above are about the fields.
    create(
        &client,
        ns,
        git(json!({"url": "https://example.com/repo", "interval": "1m"})),
    )
    .await
    .unwrap();
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn controllers_can_write_current_status_fields_to_objects_created_at_an_old_version() {
    let client = client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "old-version-status")
        .await
        .unwrap();
    let ns = namespace.name();
    let mut written = documents("kustomization-v1beta2.yaml").remove(0);
    written["metadata"]["namespace"] = json!(ns);
    api(
        &client,
        ns,
        "kustomize.toolkit.fluxcd.io/v1beta2",
        "Kustomization",
    )
    .patch(
        "myapp",
        &PatchParams::apply("a-user"),
        &Patch::Apply(&written),
    )
    .await
    .unwrap();
    // `history` exists only in v1's status; server-side apply must accept it even though a field
    // manager of this object works at v1beta2.
    let status = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "status": {
            "observedGeneration": 1,
            "lastAppliedRevision": "main@sha1:abc",
            "history": [{
                "digest": "sha256:0123",
                "firstReconciled": "2026-01-01T00:00:00Z",
                "lastReconciled": "2026-01-01T00:00:00Z",
                "lastReconciledDuration": "1s",
                "lastReconciledStatus": "ReconciliationSucceeded",
                "totalReconciliations": 1
            }]
        }
    });
    let current = api(
        &client,
        ns,
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
    );
    current
        .patch_status(
            "myapp",
            &PatchParams::apply("kustomize-controller").force(),
            &Patch::Apply(&status),
        )
        .await
        .unwrap();
    let stored = serde_json::to_value(current.get("myapp").await.unwrap()).unwrap();
    assert_eq!(stored["status"]["history"][0]["digest"], "sha256:0123");
    assert_eq!(
        stored["spec"]["validation"], "client",
        "the old field is still there"
    );
    namespace.cleanup().await.unwrap();
}
