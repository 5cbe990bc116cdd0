//! Acceptance tests of the shared testenv: they start (or reuse) the real control plane, so the
//! first run on a machine builds it (about ten minutes).

use std::time::Duration;

use anyhow::Context;
use eddy_test_support::{DEFAULT_TIMEOUT, TestNamespace, client, wait_for};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};

fn deployment(name: &str, replicas: i32) -> anyhow::Result<Deployment> {
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "web", "image": "example.invalid/web:1" }] },
            },
        },
    }))?)
}

#[tokio::test]
async fn a_deployment_becomes_available_with_running_pods() -> anyhow::Result<()> {
    let client = client().await?;
    let namespace = TestNamespace::new(&client, "deploy").await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace.name());
    deployments
        .create(&PostParams::default(), &deployment("web", 2)?)
        .await
        .context("create the Deployment")?;

    wait_for(
        "Deployment web to be Available",
        DEFAULT_TIMEOUT,
        async || {
            let status = deployments.get("web").await?.status.unwrap_or_default();
            let available = status
                .conditions
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Available" && c.status == "True");
            Ok((available && status.available_replicas == Some(2)).then_some(()))
        },
    )
    .await?;

    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace.name());
    let listed = pods.list(&ListParams::default().labels("app=web")).await?;
    assert_eq!(listed.items.len(), 2);
    for pod in listed.items {
        let status = pod.status.unwrap_or_default();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert_eq!(
            pod.spec.and_then(|s| s.node_name).as_deref(),
            Some("kwok-node-0")
        );
        let ready = status
            .conditions
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        assert!(ready, "pod {:?} is not Ready", pod.metadata.name);
    }
    namespace.cleanup().await
}

#[tokio::test]
async fn deleting_a_namespace_finishes() -> anyhow::Result<()> {
    let client = client().await?;
    let namespace = TestNamespace::new(&client, "delete").await?;
    let name = namespace.name().to_owned();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &name);
    let config_map: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "content" },
        "data": { "key": "value" },
    }))?;
    config_maps
        .create(&PostParams::default(), &config_map)
        .await?;

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces.delete(&name, &DeleteParams::default()).await?;
    // The namespace controller must empty it and remove the finalizer; without it this waits
    // forever in Terminating.
    wait_for(
        format!("namespace {name} to be gone"),
        Duration::from_secs(90),
        async || Ok(namespaces.get_opt(&name).await?.is_none().then_some(())),
    )
    .await?;
    namespace.cleanup().await
}

#[tokio::test]
async fn a_dropped_test_namespace_is_deleted() -> anyhow::Result<()> {
    let client = client().await?;
    let namespace = TestNamespace::new(&client, "dropped").await?;
    let name = namespace.name().to_owned();
    drop(namespace);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    wait_for(
        format!("namespace {name} to be deleted"),
        Duration::from_secs(90),
        async || {
            let deleting = match namespaces.get_opt(&name).await? {
                None => true,
                Some(namespace) => namespace.metadata.deletion_timestamp.is_some(),
            };
            Ok(deleting.then_some(()))
        },
    )
    .await
}

#[tokio::test]
async fn the_workspace_crds_install_and_serve() -> anyhow::Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

    let client = client().await?;
    let installed = eddy_test_support::install_crds(&client).await?;
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/crd/bases"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
                .count()
        })
        .unwrap_or(0);
    assert!(
        installed.len() >= files,
        "{files} CRD files but only {installed:?} applied"
    );
    // Installing twice must be harmless (every test may call it).
    assert_eq!(eddy_test_support::install_crds(&client).await?, installed);
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in &installed {
        let crd = crds.get(name).await?;
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established, "{name} is not Established");
    }
    Ok(())
}
