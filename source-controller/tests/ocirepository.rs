//! The OCIRepository reconciler end to end: a real API server, Debian's real `docker-registry`,
//! artifacts pushed by the real `flux push artifact`, the controller running in-process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gitrepository_support;
mod oci_support;

use std::collections::BTreeMap;

use eddy_api::source::OCIRepository;
use eddy_test_support::registry::{ArtifactLayer, FLUX_CONTENT_MEDIA_TYPE, Registry};
use eddy_test_support::{TestNamespace, install_crds};
use gitrepository_support::{RunningController, events_for, shard};
use kube::api::{Api, DeleteParams};
use oci_support::*;

const USER: &str = "flux";
const PASSWORD: &str = "oci-pass";

#[tokio::test(flavor = "multi_thread")]
async fn a_flux_pushed_artifact_is_served_updated_skipped_when_unchanged_and_deleted() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "oci-life").await.unwrap();
    let ns = namespace.name().to_owned();
    let registry = Registry::start_with_htpasswd(USER, PASSWORD).await.unwrap();
    let creds = format!("{USER}:{PASSWORD}");

    let content = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(content.path().join("deploy")).unwrap();
    std::fs::create_dir_all(content.path().join("docs")).unwrap();
    std::fs::write(content.path().join("deploy/app.yaml"), "kind: ConfigMap\n").unwrap();
    std::fs::write(content.path().join("docs/guide.md"), "ignored\n").unwrap();
    let first = flux_push(
        registry.address(),
        "team/manifests",
        "latest",
        content.path(),
        "main@sha1:1111111111111111111111111111111111111111",
        Some(&creds),
    )
    .unwrap();
    create_docker_secret(&client, &ns, "registry", registry.address(), USER, PASSWORD)
        .await
        .unwrap();

    let storage = tempfile::tempdir().unwrap();
    let shard = shard("oci-life");
    let controller = RunningController::start(&client, storage.path(), &shard, &[])
        .await
        .unwrap();
    let api: Api<OCIRepository> = Api::namespaced(client.clone(), &ns);
    create_oci_repository(
        &api,
        "app",
        &shard,
        serde_json::json!({
            "url": format!("oci://{}/team/manifests", registry.address()),
            "interval": "10m", "insecure": true,
            "secretRef": {"name": "registry"}, "ignore": "docs/\n",
        }),
    )
    .await
    .unwrap();

    // Default ref `latest`, first layer extracted, ignore rules applied, Flux's revision.
    let ready = wait_ready(&api, "app", None).await.unwrap();
    assert_eq!(revision(&ready), format!("latest@{first}"));
    let status = ready.status.clone().unwrap();
    let artifact = status.artifact.clone().unwrap();
    let hex = first.trim_start_matches("sha256:");
    assert_eq!(
        artifact.path,
        format!("ocirepository/{ns}/app/{hex}.tar.gz")
    );
    assert!(artifact.digest.starts_with("sha256:"));
    assert_eq!(
        artifact
            .metadata
            .as_ref()
            .and_then(|m| m.get("org.opencontainers.image.revision"))
            .map(String::as_str),
        Some("main@sha1:1111111111111111111111111111111111111111")
    );
    let files = artifact_files(&ready).await.unwrap();
    assert_eq!(
        files.get("deploy/app.yaml").map(String::as_str),
        Some("kind: ConfigMap\n")
    );
    assert!(!files.contains_key("docs/guide.md"), "{files:?}");
    let latest = status.url.clone().unwrap();
    assert!(
        latest.ends_with(&format!("ocirepository/{ns}/app/latest.tar.gz")),
        "{latest}"
    );
    assert_eq!(download_files(&latest, None).await.unwrap(), files);
    let (_, reason, message) = condition(&ready, "ArtifactInStorage").unwrap();
    assert_eq!(reason, "Succeeded");
    assert_eq!(
        message,
        format!("stored artifact for digest 'latest@{first}'")
    );
    assert_eq!(status.observed_ignore.as_deref(), Some("docs/\n"));

    // Unchanged digest: the layer is gone from the registry, so a download would fail; a
    // requested reconcile stays Ready with the same artifact, proving only a HEAD was made.
    for layer in registry
        .layer_digests("team/manifests", "latest")
        .await
        .unwrap()
    {
        registry
            .delete_blob("team/manifests", &layer)
            .await
            .unwrap();
    }
    let again = reconcile_now(&api, "app", "unchanged").await.unwrap();
    assert_eq!(condition(&again, "Ready").unwrap().0, "True");
    let same = again.status.unwrap().artifact.unwrap();
    assert_eq!(same.last_update_time, artifact.last_update_time);
    assert_eq!(same.revision, artifact.revision);

    // A new push to the tag: new revision, new content, a NewArtifact event.
    std::fs::write(
        content.path().join("deploy/app.yaml"),
        "kind: ConfigMap\nv: 2\n",
    )
    .unwrap();
    let second = flux_push(
        registry.address(),
        "team/manifests",
        "latest",
        content.path(),
        "main@sha1:2222222222222222222222222222222222222222",
        Some(&creds),
    )
    .unwrap();
    assert_ne!(first, second);
    reconcile_now(&api, "app", "pushed").await.unwrap();
    let updated = wait_ready(&api, "app", Some(&format!("latest@{second}")))
        .await
        .unwrap();
    let files = artifact_files(&updated).await.unwrap();
    assert_eq!(
        files.get("deploy/app.yaml").map(String::as_str),
        Some("kind: ConfigMap\nv: 2\n")
    );
    let events = events_for(&client, &ns, "app").await.unwrap();
    assert!(
        events.iter().any(|e| e.0 == "NewArtifact"
            && e.1 == format!(
                "stored artifact with revision 'latest@{second}' from 'oci://{}/team/manifests'",
                registry.address()
            )),
        "{events:?}"
    );

    // Semver picks the highest matching tag; copy keeps the layer as pushed.
    let third = flux_push(
        registry.address(),
        "team/manifests",
        "1.2.0",
        content.path(),
        "v1.2.0@sha1:3333333333333333333333333333333333333333",
        Some(&creds),
    )
    .unwrap();
    patch_spec(
        &api,
        "app",
        serde_json::json!({
            "ref": {"semver": ">=1.0.0"},
            "layerSelector": {"mediaType": FLUX_CONTENT_MEDIA_TYPE, "operation": "copy"},
        }),
    )
    .await
    .unwrap();
    let copied = wait_ready(&api, "app", Some(&format!("1.2.0@{third}")))
        .await
        .unwrap();
    let files = artifact_files(&copied).await.unwrap();
    assert!(
        files.contains_key("docs/guide.md"),
        "copy keeps everything: {files:?}"
    );

    // The reconcile metric Flux emits, for this kind.
    let metrics = reqwest::get(format!("http://{}/metrics", controller.metrics_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!(
        "gotk_reconcile_duration_seconds_count{{kind=\"OCIRepository\",name=\"app\",namespace=\"{ns}\"}}"
    );
    assert!(metrics.contains(&series), "{series} missing:\n{metrics}");

    // Deletion removes the stored artifacts and the finalizer.
    api.delete("app", &DeleteParams::default()).await.unwrap();
    eddy_test_support::wait_for(
        "the object to go",
        std::time::Duration::from_secs(30),
        async || Ok(api.get_opt("app").await?.is_none().then_some(())),
    )
    .await
    .unwrap();
    assert!(
        !storage
            .path()
            .join(format!("ocirepository/{ns}/app"))
            .exists()
    );
    controller.stop().await;
    namespace.cleanup().await.unwrap();
}

/// Each bad input turns Ready=False with Flux's reason and a message naming the cause, while
/// the last good artifact stays served.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_fails_with_flux_reasons_and_keeps_the_previous_artifact() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "oci-bad").await.unwrap();
    let ns = namespace.name().to_owned();
    let mut registry = Registry::start_with_htpasswd(USER, PASSWORD).await.unwrap();
    let no_annotations = BTreeMap::new();
    let good = registry
        .push_artifact(
            "team/app",
            "good",
            &[ArtifactLayer::new(
                FLUX_CONTENT_MEDIA_TYPE,
                tar_gz(&[("app.yaml", "kind: ConfigMap\n")]),
            )],
            &no_annotations,
        )
        .await
        .unwrap();
    registry
        .push_artifact(
            "team/app",
            "other-type",
            &[ArtifactLayer::new(
                "application/vnd.example.other",
                tar_gz(&[("x", "y")]),
            )],
            &no_annotations,
        )
        .await
        .unwrap();
    registry
        .push_artifact(
            "team/app",
            "not-a-tarball",
            &[ArtifactLayer::new(
                FLUX_CONTENT_MEDIA_TYPE,
                b"plain text".to_vec(),
            )],
            &no_annotations,
        )
        .await
        .unwrap();
    create_docker_secret(&client, &ns, "right", registry.address(), USER, PASSWORD)
        .await
        .unwrap();
    create_docker_secret(&client, &ns, "wrong", registry.address(), USER, "nope")
        .await
        .unwrap();

    let storage = tempfile::tempdir().unwrap();
    let shard = shard("oci-bad");
    let controller = RunningController::start(&client, storage.path(), &shard, &[])
        .await
        .unwrap();
    let api: Api<OCIRepository> = Api::namespaced(client.clone(), &ns);
    create_oci_repository(
        &api,
        "app",
        &shard,
        serde_json::json!({
            "url": format!("oci://{}/team/app", registry.address()),
            "interval": "10m", "insecure": true, "timeout": "5s",
            "ref": {"tag": "good"}, "secretRef": {"name": "right"},
        }),
    )
    .await
    .unwrap();
    let ready = wait_ready(&api, "app", Some(&format!("good@{good}")))
        .await
        .unwrap();
    let served = ready.status.clone().unwrap().artifact.unwrap();

    let zero_digest = format!("sha256:{}", "0".repeat(64));
    let cases = [
        (
            serde_json::json!({"secretRef": {"name": "wrong"}}),
            "OCIArtifactPullFailed",
            "refused the credentials",
        ),
        (
            serde_json::json!({"secretRef": {"name": "right"}, "ref": {"tag": "missing"}}),
            "OCIArtifactPullFailed",
            "team/app:missing' was not found",
        ),
        (
            serde_json::json!({"ref": {"tag": null, "digest": zero_digest}}),
            "OCIArtifactPullFailed",
            zero_digest.as_str(),
        ),
        (
            serde_json::json!({"ref": {"digest": null, "tag": "other-type"},
                "layerSelector": {"mediaType": FLUX_CONTENT_MEDIA_TYPE}}),
            "OCIArtifactLayerOperationFailed",
            "no layer with media type 'application/vnd.cncf.flux.content.v1.tar+gzip'",
        ),
        (
            serde_json::json!({"ref": {"tag": "not-a-tarball"}}),
            "OCIArtifactLayerOperationFailed",
            "failed to extract layer contents",
        ),
    ];
    for (patch, reason, cause) in cases {
        patch_spec(&api, "app", patch.clone()).await.unwrap();
        let failed = wait_not_ready(&api, "app", reason).await.unwrap();
        let (_, _, message) = condition(&failed, "Ready").unwrap();
        assert!(message.contains(cause), "{patch}: {message}");
        assert_eq!(condition(&failed, "FetchFailed").unwrap().1, reason);
        let kept = failed.status.clone().unwrap().artifact.unwrap();
        assert_eq!(kept, served, "{patch}: the previous artifact stays");
        let files = artifact_files(&failed).await.unwrap();
        assert!(files.contains_key("app.yaml"), "{patch}: still served");
    }
    let events = events_for(&client, &ns, "app").await.unwrap();
    for reason in ["OCIArtifactPullFailed", "OCIArtifactLayerOperationFailed"] {
        assert!(events.iter().any(|e| e.0 == reason), "{reason}: {events:?}");
    }

    // Credentials from a service account's imagePullSecrets.
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), &ns);
    let account: k8s_openapi::api::core::v1::ServiceAccount =
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "puller"},
            "imagePullSecrets": [{"name": "right"}],
        }))
        .unwrap();
    accounts
        .create(&kube::api::PostParams::default(), &account)
        .await
        .unwrap();
    create_oci_repository(
        &api,
        "via-account",
        &shard,
        serde_json::json!({
            "url": format!("oci://{}/team/app", registry.address()),
            "interval": "10m", "insecure": true,
            "ref": {"tag": "good"}, "serviceAccountName": "puller",
        }),
    )
    .await
    .unwrap();
    wait_ready(&api, "via-account", Some(&format!("good@{good}")))
        .await
        .unwrap();

    // Back to the good tag, then the registry goes away.
    patch_spec(
        &api,
        "app",
        serde_json::json!({"ref": {"tag": "good"}, "layerSelector": null}),
    )
    .await
    .unwrap();
    wait_ready(&api, "app", Some(&format!("good@{good}")))
        .await
        .unwrap();
    registry.stop().await.unwrap();
    api.patch(
        "app",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(serde_json::json!({
            "metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "down"}}
        })),
    )
    .await
    .unwrap();
    let down = wait_not_ready(&api, "app", "OCIArtifactPullFailed")
        .await
        .unwrap();
    let (_, _, message) = condition(&down, "Ready").unwrap();
    assert!(message.contains("cannot reach the registry"), "{message}");
    assert!(
        artifact_files(&down)
            .await
            .unwrap()
            .contains_key("app.yaml")
    );

    // Fields Eddy does not act on stall the object instead of being ignored.
    create_oci_repository(
        &api,
        "verified",
        &shard,
        serde_json::json!({
            "url": "oci://ghcr.io/stefanprodan/manifests/podinfo", "interval": "10m",
            "verify": {"provider": "cosign"},
        }),
    )
    .await
    .unwrap();
    let stalled = wait_not_ready(&api, "verified", "NotSupported")
        .await
        .unwrap();
    assert_eq!(
        condition(&stalled, "Stalled").unwrap(),
        (
            "True".to_owned(),
            "NotSupported".to_owned(),
            "spec.verify is not supported yet".to_owned()
        )
    );
    controller.stop().await;
    namespace.cleanup().await.unwrap();
}

/// `certSecretRef`'s `ca.crt` makes an HTTPS registry signed by a private CA trusted; a client
/// certificate in it is refused rather than ignored.
#[tokio::test(flavor = "multi_thread")]
async fn a_private_ca_from_cert_secret_ref_is_trusted() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "oci-tls").await.unwrap();
    let ns = namespace.name().to_owned();
    let registry = Registry::start_tls().await.unwrap();
    let digest = registry
        .push_artifact(
            "team/app",
            "latest",
            &[ArtifactLayer::new(
                FLUX_CONTENT_MEDIA_TYPE,
                tar_gz(&[("app.yaml", "kind: ConfigMap\n")]),
            )],
            &BTreeMap::new(),
        )
        .await
        .unwrap();
    let ca = registry.ca_pem().unwrap().to_owned();
    gitrepository_support::create_secret(&client, &ns, "ca", &[("ca.crt", &ca)])
        .await
        .unwrap();
    gitrepository_support::create_secret(
        &client,
        &ns,
        "mtls",
        &[("ca.crt", &ca), ("tls.crt", "cert"), ("tls.key", "key")],
    )
    .await
    .unwrap();
    let storage = tempfile::tempdir().unwrap();
    let shard = shard("oci-tls");
    let controller = RunningController::start(&client, storage.path(), &shard, &[])
        .await
        .unwrap();
    let api: Api<OCIRepository> = Api::namespaced(client.clone(), &ns);
    let url = format!("oci://{}/team/app", registry.address());
    create_oci_repository(
        &api,
        "untrusted",
        &shard,
        serde_json::json!({"url": url, "interval": "10m", "timeout": "5s"}),
    )
    .await
    .unwrap();
    let failed = wait_not_ready(&api, "untrusted", "OCIArtifactPullFailed")
        .await
        .unwrap();
    let (_, _, message) = condition(&failed, "Ready").unwrap();
    assert!(message.contains("certificate"), "{message}");

    create_oci_repository(
        &api,
        "trusted",
        &shard,
        serde_json::json!({"url": url, "interval": "10m", "certSecretRef": {"name": "ca"}}),
    )
    .await
    .unwrap();
    let ready = wait_ready(&api, "trusted", Some(&format!("latest@{digest}")))
        .await
        .unwrap();
    assert!(
        artifact_files(&ready)
            .await
            .unwrap()
            .contains_key("app.yaml")
    );

    create_oci_repository(
        &api,
        "mtls",
        &shard,
        serde_json::json!({"url": url, "interval": "10m", "certSecretRef": {"name": "mtls"}}),
    )
    .await
    .unwrap();
    let stalled = wait_not_ready(&api, "mtls", "NotSupported").await.unwrap();
    let (_, _, message) = condition(&stalled, "Stalled").unwrap();
    assert!(message.starts_with("spec.certSecretRef"), "{message}");
    controller.stop().await;
    namespace.cleanup().await.unwrap();
}
