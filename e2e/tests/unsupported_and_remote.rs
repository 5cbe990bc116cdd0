//! Issue #13 item 7 end to end: a Kustomization's `kubeConfig` applies, prunes and deletes on
//! the remote cluster and never on the local one; a field Eddy cannot act on stalls the
//! Kustomization before anything is fetched or applied; `deletionPolicy: WaitForTermination`
//! keeps the Kustomization until its objects are gone.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use std::time::Duration;

use common::{ConfigRepo, TIMEOUT, TestEnv, condition, start_controllers, string_at};
use eddy_test_support::{PrivateCluster, wait_for};
use k8s_openapi::{
    ByteString,
    api::core::v1::{ConfigMap, Namespace, Secret},
};
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

fn config_map(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n")
}

fn kustomization(ns: &str, path: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut manifest = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps"},
        "spec": {
            "interval": "1h",
            "timeout": "1m",
            "path": path,
            "prune": true,
            "targetNamespace": ns,
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    });
    for (key, value) in extra.as_object().unwrap() {
        manifest["spec"][key] = value.clone();
    }
    manifest
}

async fn exists(api: &Api<ConfigMap>, name: &str) -> bool {
    api.get_opt(name).await.unwrap().is_some()
}

async fn wait_gone(api: &Api<ConfigMap>, name: &str) {
    wait_for(
        format!("ConfigMap {name} to be deleted"),
        TIMEOUT,
        async || Ok(api.get_opt(name).await?.is_none().then_some(())),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn kube_config_applies_prunes_and_deletes_on_the_remote_cluster_only() {
    let env = TestEnv::new("ks-remote").await;
    let ns = env.ns.clone();
    let remote = tokio::task::spawn_blocking(PrivateCluster::start)
        .await
        .unwrap()
        .unwrap();
    let remote_client = remote.client().await.unwrap();
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(ns.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(remote_client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("remote-kubeconfig".into()),
            ..Default::default()
        },
        data: Some(
            [(
                "value".to_owned(),
                ByteString(remote.embedded_kubeconfig().unwrap().into_bytes()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    env.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();

    let config = ConfigRepo::seed("main").await;
    config.write(
        "remote/kustomization.yaml",
        "resources: [one.yaml, two.yaml]\n",
    );
    config.write("remote/one.yaml", &config_map("one"));
    config.write("remote/two.yaml", &config_map("two"));
    let first = config.commit("two config maps");
    let _controllers = start_controllers(&env.client, &ns, false).await;
    env.create_git_repository("config", &config.url(), "main")
        .await;
    env.wait_artifact("config", &first).await;
    env.create_kustomization(kustomization(
        &ns,
        "./remote",
        json!({"kubeConfig": {"secretRef": {"name": "remote-kubeconfig"}}}),
    ))
    .await;
    env.wait_applied("apps", &first).await;

    let remote_maps: Api<ConfigMap> = Api::namespaced(remote_client.clone(), &ns);
    let local_maps: Api<ConfigMap> = env.api();
    assert!(exists(&remote_maps, "one").await && exists(&remote_maps, "two").await);
    assert!(!exists(&local_maps, "one").await && !exists(&local_maps, "two").await);

    config.remove("remote/two.yaml");
    config.write("remote/kustomization.yaml", "resources: [one.yaml]\n");
    let second = config.commit("one config map");
    env.fetch("config", &second).await;
    env.wait_applied("apps", &second).await;
    wait_gone(&remote_maps, "two").await;
    assert!(exists(&remote_maps, "one").await);

    env.kustomizations()
        .delete("apps", &DeleteParams::default())
        .await
        .unwrap();
    wait_gone(&remote_maps, "one").await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_field_eddy_cannot_act_on_stalls_before_anything_is_applied() {
    let env = TestEnv::new("ks-unsupported").await;
    let ns = env.ns.clone();
    let config = ConfigRepo::seed("main").await;
    config.write("local/one.yaml", &config_map("one"));
    let revision = config.commit("one config map");
    let _controllers = start_controllers(&env.client, &ns, false).await;
    env.create_git_repository("config", &config.url(), "main")
        .await;
    env.wait_artifact("config", &revision).await;

    let cases = [
        (
            json!({"kubeConfig": {"configMapRef": {"name": "eks"}}}),
            "NotSupported",
            "spec.kubeConfig.configMapRef is not supported yet",
        ),
        (
            json!({"ignore": [{"paths": ["/data"]}]}),
            "NotSupported",
            "spec.ignore is not supported yet",
        ),
        (
            json!({"decryption": {"provider": "sops", "serviceAccountName": "kms"}}),
            "FeatureGateDisabled",
            "spec.decryption.serviceAccountName is not supported yet",
        ),
    ];
    for (extra, reason, message) in cases {
        env.create_kustomization(kustomization(&ns, "./local", extra))
            .await;
        let api = env.kustomizations();
        let stalled = wait_for(
            format!("Kustomization stalled: {message}"),
            TIMEOUT,
            async || {
                let object = api.get("apps").await?;
                let stalled = condition(&object, "Stalled")
                    .filter(|c| c.status == "True" && c.message == message);
                Ok(stalled.map(|c| (c, object)))
            },
        )
        .await
        .unwrap();
        let (stalled, object) = stalled;
        assert_eq!(stalled.reason, reason);
        let ready = condition(&object, "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", reason)
        );
        assert_eq!(
            object.data["status"]["observedGeneration"].as_i64(),
            object.metadata.generation
        );
        // Nothing was fetched, built or applied.
        assert_eq!(string_at(&object, "/status/lastAttemptedRevision"), None);
        assert!(!exists(&env.api::<ConfigMap>(), "one").await);
        env.kustomizations()
            .delete("apps", &DeleteParams::default())
            .await
            .unwrap();
        wait_for("Kustomization apps deleted", TIMEOUT, async || {
            Ok(api.get_opt("apps").await?.is_none().then_some(()))
        })
        .await
        .unwrap();
    }

    // A kubeconfig Secret that is missing fails the reconcile; the local cluster is not used.
    env.create_kustomization(kustomization(
        &ns,
        "./local",
        json!({"kubeConfig": {"secretRef": {"name": "missing"}}}),
    ))
    .await;
    let ready = env.wait_not_ready("apps", &revision).await;
    assert!(
        ready.message == format!("kubeconfig secret '{ns}/missing' not found"),
        "{}",
        ready.message
    );
    assert!(!exists(&env.api::<ConfigMap>(), "one").await);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_for_termination_keeps_the_kustomization_until_its_objects_are_gone() {
    let env = TestEnv::new("ks-wait-termination").await;
    let ns = env.ns.clone();
    let config = ConfigRepo::seed("main").await;
    config.write("local/one.yaml", &config_map("one"));
    let revision = config.commit("one config map");
    let _controllers = start_controllers(&env.client, &ns, false).await;
    env.create_git_repository("config", &config.url(), "main")
        .await;
    env.wait_artifact("config", &revision).await;
    env.create_kustomization(kustomization(
        &ns,
        "./local",
        json!({"deletionPolicy": "WaitForTermination"}),
    ))
    .await;
    env.wait_applied("apps", &revision).await;

    // A finalizer of someone else's holds the object after its deletion.
    let maps: Api<ConfigMap> = env.api();
    let hold = json!({"metadata": {"finalizers": ["eddy.test/hold"]}});
    maps.patch("one", &PatchParams::default(), &Patch::Merge(&hold))
        .await
        .unwrap();
    let kustomizations = env.kustomizations();
    kustomizations
        .delete("apps", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("ConfigMap one to be terminating", TIMEOUT, async || {
        let map = maps.get("one").await?;
        Ok(map.metadata.deletion_timestamp.is_some().then_some(()))
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        kustomizations.get_opt("apps").await.unwrap().is_some(),
        "the Kustomization went away while its ConfigMap was still terminating"
    );

    let release = json!({"metadata": {"finalizers": null}});
    maps.patch("one", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .unwrap();
    wait_for("Kustomization apps to be deleted", TIMEOUT, async || {
        Ok(kustomizations
            .get_opt("apps")
            .await?
            .is_none()
            .then_some(()))
    })
    .await
    .unwrap();
    env.cleanup().await;
}
