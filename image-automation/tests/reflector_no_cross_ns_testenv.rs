//! `--no-cross-namespace-refs`: an ImagePolicy naming an ImageRepository in another namespace
//! is denied even when the repository's `accessFrom` admits every namespace. A test binary of
//! its own, so no controller without the flag (from another test) reconciles the same policy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use clap::Parser;
use eddy_api::image::ImagePolicy;
use eddy_image_automation::args::ReflectorArgs;
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use kube::{
    Api, Client,
    api::{DynamicObject, PostParams},
    core::{ApiResource, GroupVersionKind},
};
use tokio_util::sync::CancellationToken;

const TIMEOUT: Duration = Duration::from_secs(60);

async fn create(client: &Client, namespace: &str, object: serde_json::Value) {
    let gvk = GroupVersionKind::gvk(
        "image.toolkit.fluxcd.io",
        "v1",
        object["kind"].as_str().unwrap(),
    );
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk(&gvk));
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cross_namespace_refs_denies_a_policy_in_another_namespace() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let home = eddy_test_support::TestNamespace::new(&client, "irc-nocross-repo")
        .await
        .unwrap();
    let away = eddy_test_support::TestNamespace::new(&client, "irc-nocross-policy")
        .await
        .unwrap();
    let (home_ns, away_ns) = (home.name().to_owned(), away.name().to_owned());
    let storage = tempfile::tempdir().unwrap();
    eddy_runtime::tls::install_crypto_provider();
    let storage_flag = format!("--storage-path={}", storage.path().display());
    let args = ReflectorArgs::try_parse_from([
        "image-reflector-controller",
        "--metrics-addr=127.0.0.1:0",
        "--health-addr=127.0.0.1:0",
        "--no-cross-namespace-refs=true",
        &storage_flag,
    ])
    .unwrap();
    let process = Arc::new(ControllerProcess {
        name: "image-reflector-controller",
        client: client.clone(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    });
    tokio::spawn(eddy_image_automation::reflector::run::run_reconcilers(
        process,
        args,
        CancellationToken::new(),
    ));
    create(
        &client,
        &home_ns,
        serde_json::json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "shared", "namespace": home_ns},
            "spec": {"image": "127.0.0.1:9/team/none", "interval": "1m",
                     "accessFrom": {"namespaceSelectors": [{}]}}
        }),
    )
    .await;
    create(
        &client,
        &away_ns,
        serde_json::json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": {"name": "shared", "namespace": away_ns},
            "spec": {"imageRepositoryRef": {"name": "shared", "namespace": home_ns},
                     "policy": {"alphabetical": {}}}
        }),
    )
    .await;
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), &away_ns);
    let (reason, message, stalled) =
        eddy_test_support::wait_for("the denied policy", TIMEOUT, async || {
            let conditions = policies
                .get("shared")
                .await?
                .status
                .and_then(|status| status.conditions)
                .unwrap_or_default();
            let stalled = conditions
                .iter()
                .any(|condition| condition.type_ == "Stalled" && condition.status == "True");
            Ok(conditions
                .into_iter()
                .find(|condition| condition.type_ == "Ready" && condition.status == "False")
                .map(|ready| (ready.reason, ready.message, stalled)))
        })
        .await
        .unwrap();
    assert_eq!(reason, "AccessDenied", "{message}");
    assert!(message.contains("--no-cross-namespace-refs"), "{message}");
    assert!(stalled, "a flag-denied reference does not heal by retrying");
    away.cleanup().await.unwrap();
    home.cleanup().await.unwrap();
}
