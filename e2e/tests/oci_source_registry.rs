//! End-to-end with a real OCI source: an artifact pushed to Debian's real `docker-registry`,
//! Eddy's source-controller pulling it through an OCIRepository, and a Kustomization applying
//! it — then a new push to the same tag, picked up on a reconcile request. (`oci_source.rs`
//! beside it plays source-controller's part to test kustomize-controller alone.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use std::collections::BTreeMap;

use common::{TestEnv, inventory_ids, ready_condition, start_controllers};
use eddy_test_support::artifact_server::write_text_tarball;
use eddy_test_support::registry::{ArtifactLayer, FLUX_CONTENT_MEDIA_TYPE, Registry};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

fn oci_repository_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "OCIRepository"),
        "ocirepositories",
    )
}

/// Pushes a kustomization with one ConfigMap of `colour` as tag `latest`; returns Flux's
/// revision for it.
async fn push_palette(registry: &Registry, ns: &str, colour: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("layer.tar.gz");
    let config_map = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: palette\n  namespace: {ns}\ndata:\n  colour: {colour}\n"
    );
    write_text_tarball(
        &tarball,
        &[
            ("kustomization.yaml", "resources: [palette.yaml]\n"),
            ("palette.yaml", &config_map),
        ],
    );
    let annotations = BTreeMap::from([(
        "org.opencontainers.image.revision".to_owned(),
        format!("{colour}@sha1:{}", "c".repeat(40)),
    )]);
    let digest = registry
        .push_artifact(
            "palette",
            "latest",
            &[ArtifactLayer::new(
                FLUX_CONTENT_MEDIA_TYPE,
                std::fs::read(&tarball).unwrap(),
            )],
            &annotations,
        )
        .await
        .unwrap();
    format!("latest@{digest}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kustomization_applies_what_was_pushed_to_a_real_registry() {
    let env = TestEnv::new("ks-oci-real").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let registry = Registry::start().await.unwrap();
    let first = push_palette(&registry, &ns, "red").await;

    env.apply(
        &oci_repository_resource(),
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "OCIRepository",
            "metadata": {"name": "palette"},
            "spec": {
                "url": format!("oci://{}/palette", registry.address()),
                "interval": "1h", "insecure": true, "ref": {"tag": "latest"},
            },
        }),
    )
    .await;
    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "palette"},
        "spec": {
            "interval": "1h", "path": "./", "prune": true,
            "sourceRef": {"kind": "OCIRepository", "name": "palette"},
        },
    }))
    .await;
    let ks = env.wait_applied("palette", &first).await;
    assert_eq!(ready_condition(&ks).unwrap().status, "True");
    // The artifact's `org.opencontainers.image.revision` is the origin revision Flux records.
    let origin = format!("red@sha1:{}", "c".repeat(40));
    assert_eq!(
        ks.data.pointer("/status/lastAppliedOriginRevision"),
        Some(&json!(origin))
    );
    assert_eq!(
        ks.data.pointer("/status/history/0/metadata/originRevision"),
        Some(&json!(origin))
    );
    assert_eq!(inventory_ids(&ks), [format!("{ns}_palette__ConfigMap")]);
    let config_maps: Api<ConfigMap> = env.api();
    let colour = |cm: ConfigMap| cm.data.unwrap()["colour"].clone();
    assert_eq!(colour(config_maps.get("palette").await.unwrap()), "red");

    // A new push to the same tag, and a reconcile request on the source (what
    // `flux reconcile source oci` does): the Kustomization follows the new revision.
    let second = push_palette(&registry, &ns, "blue").await;
    assert_ne!(first, second);
    let sources =
        Api::<DynamicObject>::namespaced_with(env.client.clone(), &ns, &oci_repository_resource());
    env.request_reconcile(&sources, "palette").await;
    env.wait_applied("palette", &second).await;
    assert_eq!(colour(config_maps.get("palette").await.unwrap()), "blue");
    env.cleanup().await;
}
