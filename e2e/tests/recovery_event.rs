//! A Kustomization that recovers from a failure at the same revision says so once: the success
//! event ("Reconciliation finished …", `commit_status: update`) is recorded again after the
//! failure, and not for a later no-op reconcile.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use common::{ConfigRepo, TestEnv, start_controllers};
use k8s_openapi::api::core::v1::{ConfigMap, Event};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

const MANIFEST: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting
data:
  text: ${greeting}
";

/// How many times kustomize-controller recorded its success event in the namespace.
async fn successes(events: &Api<Event>) -> i32 {
    events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|event| {
            event.reason.as_deref() == Some("ReconciliationSucceeded")
                && event
                    .message
                    .as_deref()
                    .is_some_and(|m| m.starts_with("Reconciliation finished"))
        })
        .map(|event| event.count.unwrap_or(1))
        .sum()
}

/// Waits until the success events add up to `expected` (they are recorded just after the
/// status write the test waits for).
async fn wait_successes(events: &Api<Event>, expected: i32) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let seen = successes(events).await;
        if seen == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{seen} success events, expected {expected}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn wait_handled(api: &Api<kube::api::DynamicObject>, name: &str, token: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let object = api.get(name).await.unwrap();
        if object.data.pointer("/status/lastHandledReconcileAt") == Some(&json!(token)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "request {token} not handled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn create_vars(api: &Api<ConfigMap>) {
    let object: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "vars"}, "data": {"greeting": "hello"},
    }))
    .unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovery_at_the_same_revision_is_reported_once() {
    let env = TestEnv::new("ks-recovery").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let config = ConfigRepo::seed("master").await;
    config.write("greet/configmap.yaml", MANIFEST);
    let revision = config.commit("a substituted ConfigMap");
    let vars: Api<ConfigMap> = env.api();
    create_vars(&vars).await;
    env.create_git_repository("config", &config.url(), "master")
        .await;
    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "greet"},
        "spec": {
            "interval": "1h", "path": "./greet", "prune": true, "targetNamespace": ns,
            "postBuild": {"substituteFrom": [{"kind": "ConfigMap", "name": "vars"}]},
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    }))
    .await;
    env.wait_applied("greet", &revision).await;
    let events: Api<Event> = env.api();
    wait_successes(&events, 1).await;

    // The variables vanish: the same revision fails.
    vars.delete("vars", &DeleteParams::default()).await.unwrap();
    let kustomizations = env.kustomizations();
    env.request_reconcile(&kustomizations, "greet").await;
    env.wait_not_ready("greet", &revision).await;
    assert_eq!(successes(&events).await, 1);

    // They come back: the recovery is reported.
    create_vars(&vars).await;
    env.request_reconcile(&kustomizations, "greet").await;
    env.wait_applied("greet", &revision).await;
    wait_successes(&events, 2).await;

    // A later reconcile with nothing new stays quiet.
    let token = env.request_reconcile(&kustomizations, "greet").await;
    wait_handled(&kustomizations, "greet", &token).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        successes(&events).await,
        2,
        "a no-op success is not reported"
    );
    env.cleanup().await;
}
