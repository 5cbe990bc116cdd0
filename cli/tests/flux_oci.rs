//! The real `flux` CLI against an OCIRepository reconciled by Eddy's source-controller: an
//! artifact pushed with `flux push artifact` to Debian's real `docker-registry`, listed by
//! `flux get sources oci` and refetched by `flux reconcile source oci`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use eddy_e2e::{in_namespace::apply, namespaced, start_controllers};
use eddy_test_support::registry::Registry;
use eddy_test_support::{TestNamespace, install_crds, wait_for};
use kube::api::{ApiResource, GroupVersionKind};
use serde_json::json;
use support::{eddy, flux::flux, kubeconfig, succeeded};

/// `latest@sha256:<8 hex>`, the form flux prints.
fn short(revision: &str) -> String {
    let (prefix, hex) = revision.split_once("sha256:").unwrap();
    format!("{prefix}sha256:{}", &hex[..8])
}

fn all_output(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `flux push artifact` of `dir` to `oci://<registry>/app:latest`; returns the digest.
fn push(registry: &Registry, dir: &std::path::Path, revision: &str) -> String {
    let output = std::process::Command::new(support::flux::binary().unwrap())
        .args(["push", "artifact"])
        .arg(format!("oci://{}/app:latest", registry.address()))
        .arg(format!("--path={}", dir.display()))
        .arg("--source=https://git.example.com/app.git")
        .arg(format!("--revision={revision}"))
        .args(["--insecure-registry", "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", all_output(&output));
    let pushed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    pushed["digest"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn flux_lists_and_reconciles_an_oci_source_run_by_eddy() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "cli-oci").await.unwrap();
    let ns = namespace.name().to_owned();
    let kubeconfig = kubeconfig().await;
    let shard = format!("flux-oci-{}", std::process::id());
    let _controllers = start_controllers(&client, &shard, false).await;
    let registry = Registry::start().await.unwrap();
    let content = tempfile::tempdir().unwrap();
    std::fs::write(content.path().join("app.yaml"), "kind: ConfigMap\n").unwrap();
    let first = push(
        &registry,
        content.path(),
        &format!("main@sha1:{}", "1".repeat(40)),
    );

    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "OCIRepository"),
        "ocirepositories",
    );
    let api = namespaced(&client, &ns, &resource);
    apply(
        &api,
        &shard,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "OCIRepository",
            "metadata": {"name": "app", "namespace": ns},
            "spec": {"url": format!("oci://{}/app", registry.address()),
                     "interval": "1h", "insecure": true},
        }),
    )
    .await;
    let first_revision = format!("latest@{first}");
    wait_for("the first artifact", Duration::from_secs(90), async || {
        let object = api.get("app").await?;
        Ok(
            (object.data["status"]["artifact"]["revision"] == first_revision.as_str())
                .then_some(()),
        )
    })
    .await
    .unwrap();

    let listed = flux(&kubeconfig, &["-n", &ns, "get", "sources", "oci"]);
    let text = all_output(&listed);
    assert!(listed.status.success(), "{text}");
    let row = text
        .lines()
        .find(|line| line.starts_with("app"))
        .unwrap_or_else(|| panic!("no row for app:\n{text}"));
    assert!(row.contains("True"), "{row}");
    // flux shortens digests to 8 hex digits in its tables and messages.
    assert!(
        row.contains(&format!(
            "stored artifact for digest '{}'",
            short(&first_revision)
        )),
        "{row}"
    );

    std::fs::write(content.path().join("app.yaml"), "kind: ConfigMap\nv: 2\n").unwrap();
    let second = push(
        &registry,
        content.path(),
        &format!("main@sha1:{}", "2".repeat(40)),
    );
    let reconciled = flux(
        &kubeconfig,
        &[
            "-n",
            &ns,
            "reconcile",
            "source",
            "oci",
            "app",
            "--timeout",
            "2m",
        ],
    );
    let text = all_output(&reconciled);
    assert!(reconciled.status.success(), "{text}");
    let second_revision = format!("latest@{second}");
    assert!(
        text.contains(&format!("fetched revision {second_revision}"))
            || text.contains(&format!("fetched revision {}", short(&second_revision))),
        "{text}"
    );

    // Eddy's own CLI lists the same source.
    let table = succeeded(
        eddy(&kubeconfig, &["-n", &ns, "get", "sources", "oci"]),
        "eddy get sources oci",
    );
    let row = table
        .lines()
        .find(|line| line.starts_with("app"))
        .unwrap_or_else(|| panic!("no row for app:\n{table}"));
    assert!(row.contains("True"), "{row}");
    assert!(
        row.contains(&second_revision) || row.contains(&short(&second_revision)),
        "{row}"
    );
    namespace.cleanup().await.unwrap();
}
