//! Config watches: a ConfigMap labelled `reconcile.fluxcd.io/watch: Enabled` that a Kustomization
//! reads through `postBuild.substituteFrom` triggers it when it changes, long before its
//! interval (1h here); an unlabelled one waits for the interval, as in Flux.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use std::time::Duration;

use common::{ConfigRepo, TestEnv, start_controllers};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

const MANIFEST: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting
data:
  text: ${greeting}
";

async fn vars(api: &Api<ConfigMap>, name: &str, watched: bool, value: &str) {
    let labels = if watched {
        json!({"reconcile.fluxcd.io/watch": "Enabled"})
    } else {
        json!({})
    };
    let object: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "data": {"greeting": value},
    }))
    .unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
}

async fn set(api: &Api<ConfigMap>, name: &str, value: &str) {
    let patch = json!({"data": {"greeting": value}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watched_config_map_triggers_its_kustomization() {
    let env = TestEnv::new("ks-config-watch").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let config = ConfigRepo::seed("master").await;
    config.write("greet/configmap.yaml", MANIFEST);
    let revision = config.commit("a substituted ConfigMap");
    let config_maps: Api<ConfigMap> = env.api();
    vars(&config_maps, "watched-vars", true, "hello").await;
    vars(&config_maps, "plain-vars", false, "unchanged").await;
    env.create_git_repository("config", &config.url(), "master")
        .await;
    for (name, vars) in [("watched", "watched-vars"), ("plain", "plain-vars")] {
        env.create_kustomization(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name},
            "spec": {
                "interval": "1h", "path": "./greet", "prune": true,
                "targetNamespace": ns,
                "nameSuffix": format!("-{name}"),
                "postBuild": {"substituteFrom": [{"kind": "ConfigMap", "name": vars}]},
                "sourceRef": {"kind": "GitRepository", "name": "config"},
            },
        }))
        .await;
    }
    env.wait_applied("watched", &revision).await;
    env.wait_applied("plain", &revision).await;
    let watched_output: Api<ConfigMap> = env.api();
    let read = |name: &'static str| {
        let api = watched_output.clone();
        async move {
            let object = api.get(name).await.unwrap();
            object.data.unwrap_or_default().get("text").cloned()
        }
    };
    assert_eq!(read("greeting-watched").await.as_deref(), Some("hello"));

    set(&config_maps, "watched-vars", "bonjour").await;
    set(&config_maps, "plain-vars", "changed").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while read("greeting-watched").await.as_deref() != Some("bonjour") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watched ConfigMap's change was not applied within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The unlabelled one is not watched: its Kustomization waits for its interval.
    assert_eq!(read("greeting-plain").await.as_deref(), Some("unchanged"));
    env.cleanup().await;
}
