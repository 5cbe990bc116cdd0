//! Until image automation lands, the running image-automation-controller marks
//! ImageUpdateAutomations `NotSupported` instead of leaving them without status.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
};

use eddy_image_automation::NOT_AUTOMATED;
use eddy_test_support::{TestNamespace, install_crds, not_supported};
use kube::api::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(binary: &str) -> Running {
    let port = || {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    Running(
        Command::new(binary)
            .args([
                format!("--health-addr=127.0.0.1:{}", port()),
                format!("--metrics-addr=127.0.0.1:{}", port()),
                "--watch-all-namespaces".to_owned(),
            ])
            .env("KUBECONFIG", eddy_testenv::kubeconfig_path().unwrap())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn image_kind(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "image.toolkit.fluxcd.io",
        "v1",
        kind,
    ))
}

fn object(kind: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1",
        "kind": kind,
        "metadata": {"name": "podinfo"},
        "spec": spec,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_image_update_automation_is_marked_not_supported() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let ns = TestNamespace::new(&client, "image-unsupported")
        .await
        .unwrap();
    let _automation = start(env!("CARGO_BIN_EXE_image-automation-controller"));
    let cases = [(
        "ImageUpdateAutomation",
        json!({
            "interval": "30m",
            "sourceRef": {"kind": "GitRepository", "name": "config"},
            "git": {"commit": {"author": {"name": "bot", "email": "bot@example.com"}}},
        }),
        NOT_AUTOMATED,
    )];
    for (kind, spec, message) in cases {
        not_supported::create_and_expect_not_supported(
            &client,
            ns.name(),
            &image_kind(kind),
            object(kind, spec),
            message,
        )
        .await
        .unwrap();
    }
    ns.cleanup().await.unwrap();
}
