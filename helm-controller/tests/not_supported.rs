//! Until the Helm engine lands, a running helm-controller marks every HelmRelease
//! `NotSupported` instead of leaving it without status, and refuses flags it cannot honour.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
};

use eddy_test_support::{TestNamespace, install_crds, not_supported};
use kube::api::{ApiResource, GroupVersionKind};
use serde_json::json;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_helm_release_is_marked_not_supported() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let ns = TestNamespace::new(&client, "hc-unsupported").await.unwrap();
    let kubeconfig = eddy_testenv::kubeconfig_path().unwrap();
    let _controller = Running(
        Command::new(env!("CARGO_BIN_EXE_helm-controller"))
            .args([
                format!("--health-addr=127.0.0.1:{}", free_port()),
                format!("--metrics-addr=127.0.0.1:{}", free_port()),
                "--watch-all-namespaces".to_owned(),
            ])
            .env("KUBECONFIG", &kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
    ));
    let release = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo"},
        "spec": {
            "interval": "10m",
            "chart": {"spec": {"chart": "podinfo", "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}},
        },
    });
    not_supported::create_and_expect_not_supported(
        &client,
        ns.name(),
        &resource,
        release,
        "helm-controller does not reconcile HelmReleases yet",
    )
    .await
    .unwrap();
    ns.cleanup().await.unwrap();
}

#[test]
fn a_flag_without_behaviour_stops_the_start_with_its_name() {
    let output = Command::new(env!("CARGO_BIN_EXE_helm-controller"))
        .args(["--feature-gates=OOMWatch=true", "--http-retry=3"])
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--feature-gates=OOMWatch=true is not supported yet")
            && stderr.contains("--http-retry=3 is not supported yet"),
        "{stderr}"
    );
}
