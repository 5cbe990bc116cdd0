//! End-to-end: a Kustomization whose source's artifact someone else publishes. The test plays the
//! producer: it serves the tarballs and writes `status.artifact` on an OCIRepository (as Flux's
//! source-controller would; the object carries no shard label, so Eddy's own source-controller
//! leaves it alone) and on an ExternalArtifact (as a third-party controller does, RFC-0012).
//! kustomize-controller must find each source by its real plural and be triggered by a new
//! revision at once (the Kustomization's own interval is an hour).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use common::{TestEnv, inventory_ids, ready_condition, start_controllers};
use eddy_test_support::artifact_server::{ArtifactServer, write_text_tarball};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;

fn source_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", kind),
        plural,
    )
}

fn config_map(ns: &str, colour: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: palette\n  namespace: {ns}\ndata:\n  colour: {colour}\n"
    )
}

/// Publishes `file` (already in the server's directory) as the OCIRepository's artifact, with
/// the revision form Flux uses for OCI (`<tag>@sha256:<manifest digest>`).
async fn publish(
    api: &Api<DynamicObject>,
    server: &ArtifactServer,
    file: &str,
    (digest, size): (String, u64),
    manifest_digest: &str,
) -> String {
    let revision = format!("latest@sha256:{manifest_digest}");
    let now = "2026-12-05T12:00:00Z";
    let status = json!({
        "status": {
            "observedGeneration": 1,
            "url": format!("http://{}/ocirepository/palette/latest.tar.gz", server.addr),
            "artifact": {
                "path": format!("ocirepository/palette/{file}"),
                "url": server.url(file),
                "revision": revision,
                "digest": digest,
                "size": size,
                "lastUpdateTime": now,
            },
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "Succeeded",
                "message": format!("stored artifact for digest '{revision}'"),
                "lastTransitionTime": now, "observedGeneration": 1,
            }],
        }
    });
    api.patch_status("palette", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    revision
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oci_repository_source_is_found_and_its_new_revision_triggers_at_once() {
    let spec = json!({"url": "oci://registry.example/palette", "interval": "1h", "ref": {"tag": "latest"}});
    published_source_is_followed("ks-oci", "OCIRepository", "ocirepositories", spec).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_external_artifact_is_found_and_its_new_revision_triggers_at_once() {
    let spec = json!({"sourceRef": {"apiVersion": "example.com/v1", "kind": "Palette", "name": "palette"}});
    published_source_is_followed("ks-ea", "ExternalArtifact", "externalartifacts", spec).await;
}

async fn published_source_is_followed(
    prefix: &str,
    kind: &str,
    plural: &str,
    spec: serde_json::Value,
) {
    let env = TestEnv::new(prefix).await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let storage = tempfile::tempdir().unwrap();
    let server = ArtifactServer::start(storage.path()).await;

    // Without the shard label: Eddy's source-controller (which may mark kinds it does not
    // reconcile yet) must leave the status the test publishes alone.
    let sources = Api::<DynamicObject>::namespaced_with(
        env.client.clone(),
        &ns,
        &source_resource(kind, plural),
    );
    let source: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": kind,
        "metadata": {"name": "palette", "namespace": ns},
        "spec": spec,
    }))
    .unwrap();
    sources.create(&Default::default(), &source).await.unwrap();

    let first = write_text_tarball(
        &storage.path().join("first.tar.gz"),
        &[
            ("kustomization.yaml", "resources: [palette.yaml]\n"),
            ("palette.yaml", &config_map(&ns, "red")),
        ],
    );
    let first_revision = publish(&sources, &server, "first.tar.gz", first, &"a".repeat(64)).await;
    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "palette"},
        "spec": {
            "interval": "1h",
            "path": "./",
            "prune": true,
            "sourceRef": {"kind": kind, "name": "palette"},
        },
    }))
    .await;
    let ks = env.wait_applied("palette", &first_revision).await;
    assert_eq!(ready_condition(&ks).unwrap().status, "True");
    assert_eq!(inventory_ids(&ks), [format!("{ns}_palette__ConfigMap")]);
    let config_maps: Api<ConfigMap> = env.api();
    let colour = |cm: ConfigMap| cm.data.unwrap()["colour"].clone();
    assert_eq!(colour(config_maps.get("palette").await.unwrap()), "red");

    // A new revision: only the source watch can explain a reconcile within the hour.
    let second = write_text_tarball(
        &storage.path().join("second.tar.gz"),
        &[
            ("kustomization.yaml", "resources: [palette.yaml]\n"),
            ("palette.yaml", &config_map(&ns, "blue")),
        ],
    );
    let second_revision =
        publish(&sources, &server, "second.tar.gz", second, &"b".repeat(64)).await;
    env.wait_applied("palette", &second_revision).await;
    assert_eq!(colour(config_maps.get("palette").await.unwrap()), "blue");
    env.cleanup().await;
}
