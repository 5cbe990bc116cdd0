//! `eddy image release` and the holds column of `eddy get images update`, against the testenv's
//! API server with a status written as image-automation-controller writes it (no controller
//! runs here, so the release is requested but not carried out: the request itself is checked).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use eddy_test_support::{TestNamespace, install_crds};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::json;
use support::{eddy, failed, kubeconfig, succeeded};

fn automations(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "image.toolkit.fluxcd.io".into(),
        version: "v1".into(),
        api_version: "image.toolkit.fluxcd.io/v1".into(),
        kind: "ImageUpdateAutomation".into(),
        plural: "imageupdateautomations".into(),
    };
    Api::namespaced_with(client.clone(), namespace, &resource)
}

#[tokio::test]
async fn holds_are_listed_and_a_release_is_requested_only_where_holds_are_kept() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "cli-holds").await.unwrap();
    let ns = namespace.name();
    let kubeconfig = kubeconfig().await;
    let api = automations(&client, ns);
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1",
        "kind": "ImageUpdateAutomation",
        "metadata": {"name": "auto"},
        "spec": {
            "interval": "1h",
            "sourceRef": {"kind": "GitRepository", "name": "config"},
            "git": {"commit": {"author": {"email": "bot@example.com"}}},
        },
    }))
    .unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();

    let refused = failed(
        eddy(&kubeconfig, &["-n", ns, "image", "release", "auto"]),
        "a release without the opt-in",
    );
    assert!(
        refused.contains("does not hold manual changes"),
        "{refused}"
    );

    let opt_in =
        json!({"metadata": {"annotations": {"image.eddy.dev/hold-manual-changes": "true"}}});
    api.patch("auto", &PatchParams::default(), &Patch::Merge(&opt_in))
        .await
        .unwrap();
    let unheld = succeeded(
        eddy(&kubeconfig, &["-n", ns, "image", "release", "auto"]),
        "a release with nothing held",
    );
    assert!(unheld.contains("holds no marker"), "{unheld}");

    let status = json!({"status": {
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "Succeeded",
            "message": "repository up-to-date",
            "lastTransitionTime": "2026-12-06T00:00:00Z",
        }],
        "holds": [{
            "file": "deploy.yaml",
            "setter": "apps:myapp",
            "value": "registry.local/myapp:1.0.0",
            "policyValue": "registry.local/myapp:1.0.1",
        }],
    }});
    api.patch_status("auto", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    let table = succeeded(
        eddy(&kubeconfig, &["-n", ns, "get", "images", "update"]),
        "eddy get images update",
    );
    assert!(
        table.contains(
            "repository up-to-date; holding deploy.yaml apps:myapp: registry.local/myapp:1.0.0 (policy: registry.local/myapp:1.0.1)"
        ),
        "{table}"
    );

    // No controller runs, so the wait times out; the request must be on the object.
    let waited = failed(
        eddy(
            &kubeconfig,
            &["-n", ns, "--timeout", "3s", "image", "release", "auto"],
        ),
        "a release no controller carries out",
    );
    assert!(waited.contains("release its holds"), "{waited}");
    let annotated = api.get("auto").await.unwrap();
    let token = annotated
        .metadata
        .annotations
        .unwrap_or_default()
        .remove("image.eddy.dev/release-holds");
    assert!(token.is_some_and(|token| token.starts_with("20")));
}
