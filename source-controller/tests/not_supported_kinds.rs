//! The source kinds source-controller does not fetch yet are marked `NotSupported` by the
//! running controller instead of being left without status.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod gitrepository_support;

use eddy_test_support::{TestNamespace, install_crds, not_supported};
use gitrepository_support::{RunningController, SHARD_LABEL, shard};
use kube::api::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use source_controller::controller::not_supported::message;

#[tokio::test(flavor = "multi_thread")]
async fn buckets_are_marked_not_supported() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let ns = TestNamespace::new(&client, "sc-unsupported").await.unwrap();
    let storage = tempfile::tempdir().unwrap();
    let shard = shard("unsupported");
    let controller = RunningController::start(&client, storage.path(), &shard, &[])
        .await
        .unwrap();
    let cases: [(&str, Value); 1] = [(
        "Bucket",
        json!({"bucketName": "podinfo", "endpoint": "minio.example.com", "interval": "5m"}),
    )];
    for (kind, spec) in cases {
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
            "source.toolkit.fluxcd.io",
            "v1",
            kind,
        ));
        let manifest = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": kind,
            "metadata": {"name": "podinfo", "labels": {SHARD_LABEL: shard}},
            "spec": spec,
        });
        not_supported::create_and_expect_not_supported(
            &client,
            ns.name(),
            &resource,
            manifest,
            &message(kind),
        )
        .await
        .unwrap();
    }
    controller.stop().await;
    ns.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_flag_without_behaviour_stops_the_start() {
    use clap::Parser;
    let args = source_controller::args::Args::try_parse_from([
        "source-controller",
        "--helm-cache-max-size=10",
    ])
    .unwrap();
    let error = source_controller::run_with_client(args, None)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("--helm-cache-max-size=10 is not supported yet"),
        "{error}"
    );
}
