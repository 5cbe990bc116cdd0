//! The commands that need the whole loop — a Git source fetched by Eddy's source-controller and
//! applied by Eddy's kustomize-controller, both in-process — from `eddy` and from the real
//! `flux` CLI: `reconcile --with-source`, `tree`, `events`, `trace`, `stats`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod controllers;
mod support;

use std::process::Output;

use controllers::{
    ConfigRepo, apply, git_repositories, kustomizations, start_controllers, wait_applied,
};
use eddy_test_support::{TestNamespace, install_crds};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde_json::json;
use support::{eddy, flux::flux, kubeconfig, succeeded};

const OVERLAY: &str = "apps/myapp/overlays/production";

/// stdout and stderr together: `flux` prints its progress lines (`✔ applied revision …`) on
/// stderr and its results on stdout.
fn all_output(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn must_succeed(output: Output, what: &str) -> String {
    let text = all_output(&output);
    assert!(output.status.success(), "{what} failed:\n{text}");
    text
}

async fn replicas(client: &kube::Client, namespace: &str) -> i32 {
    Api::<Deployment>::namespaced(client.clone(), namespace)
        .get("myapp")
        .await
        .unwrap()
        .spec
        .unwrap()
        .replicas
        .unwrap()
}

/// The annotation a reconcile request wrote and the status field that echoes it must agree.
async fn assert_request_handled(api: &Api<kube::api::DynamicObject>, name: &str) {
    let object = api.get(name).await.unwrap();
    let requested = object
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("reconcile.fluxcd.io/requestedAt"))
        .cloned()
        .unwrap_or_else(|| panic!("{name} was not annotated"));
    assert_eq!(
        object.data["status"]["lastHandledReconcileAt"],
        requested.as_str(),
        "{name}"
    );
}

// Multi-threaded: the test blocks its thread running `eddy`/`flux` while the in-process
// controllers must keep reconciling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eddy_and_flux_drive_the_loop_run_by_eddy_controllers() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "cli-loop").await.unwrap();
    let ns = namespace.name().to_owned();
    let kubeconfig = kubeconfig().await;
    let shard = format!("flux-loop-{}", std::process::id());

    let config = ConfigRepo::start().await;
    let first = config.commit_and_push("the seed's config repo");
    let _controllers = start_controllers(&client, &shard).await;
    controllers::create_git_repository(&client, &ns, &shard, "config", &config.url()).await;
    apply(
        &kustomizations(&client, &ns),
        &shard,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "myapp", "namespace": ns},
            "spec": {
                "interval": "1h",
                "path": format!("./{OVERLAY}"),
                "prune": true,
                "targetNamespace": ns,
                "sourceRef": {"kind": "GitRepository", "name": "config"},
            },
        }),
    )
    .await;
    wait_applied(&client, &ns, "myapp", &first).await;
    assert_eq!(replicas(&client, &ns).await, 5);

    // A new commit is picked up only when asked (the intervals are an hour): eddy annotates the
    // source, waits for the new artifact, then does the same for the Kustomization.
    config.edit(&format!("{OVERLAY}/kustomization.yaml"), |text| {
        text.replace("count: 5", "count: 4")
    });
    let second = config.commit_and_push("four replicas");
    let reconciled = succeeded(
        eddy(
            &kubeconfig,
            &[
                "-n",
                &ns,
                "reconcile",
                "kustomization",
                "myapp",
                "--with-source",
                "--timeout",
                "2m",
            ],
        ),
        "eddy reconcile ks --with-source",
    );
    assert!(
        reconciled.contains(&format!("✔ applied revision {second}")),
        "{reconciled}"
    );
    assert_request_handled(&git_repositories(&client, &ns), "config").await;
    assert_request_handled(&kustomizations(&client, &ns), "myapp").await;
    let ks = kustomizations(&client, &ns).get("myapp").await.unwrap();
    assert_eq!(ks.data["status"]["lastAppliedRevision"], second.as_str());
    assert!(controllers::is_ready(&ks));
    assert_eq!(replicas(&client, &ns).await, 4);

    // The real flux CLI does the same against Eddy's controllers.
    config.edit(&format!("{OVERLAY}/kustomization.yaml"), |text| {
        text.replace("count: 4", "count: 3")
    });
    let third = config.commit_and_push("three replicas");
    let text = must_succeed(
        flux(
            &kubeconfig,
            &[
                "-n",
                &ns,
                "reconcile",
                "ks",
                "myapp",
                "--with-source",
                "--timeout",
                "2m",
            ],
        ),
        "flux reconcile ks --with-source",
    );
    let short = |revision: &str| {
        let (prefix, sha) = revision.split_once("sha1:").unwrap();
        format!("{prefix}sha1:{}", &sha[..8])
    };
    assert!(
        text.contains(&format!("fetched revision {third}"))
            || text.contains(&format!("fetched revision {}", short(&third))),
        "{text}"
    );
    assert!(
        text.contains(&format!("applied revision {third}"))
            || text.contains(&format!("applied revision {}", short(&third))),
        "{text}"
    );
    assert_eq!(replicas(&client, &ns).await, 3);

    // flux tree: the inventory the controller recorded.
    let tree = must_succeed(
        flux(&kubeconfig, &["-n", &ns, "tree", "ks", "myapp"]),
        "flux tree ks",
    );
    assert!(
        tree.starts_with(&format!("Kustomization/{ns}/myapp\n")),
        "{tree}"
    );
    assert!(tree.contains(&format!("Deployment/{ns}/myapp")), "{tree}");
    assert!(tree.contains(&format!("Service/{ns}/myapp")), "{tree}");
    let ours = succeeded(
        eddy(&kubeconfig, &["-n", &ns, "tree", "kustomization", "myapp"]),
        "eddy tree",
    );
    assert_eq!(
        ours.trim_end(),
        tree.trim_end(),
        "eddy tree and flux tree differ"
    );

    // flux events: the Kubernetes Events the controllers recorded, for both objects.
    let events = must_succeed(flux(&kubeconfig, &["-n", &ns, "events"]), "flux events");
    assert!(events.contains("Kustomization/myapp"), "{events}");
    assert!(events.contains("GitRepository/config"), "{events}");
    assert!(events.contains("ReconciliationSucceeded"), "{events}");
    let for_ks = must_succeed(
        flux(
            &kubeconfig,
            &["-n", &ns, "events", "--for", "Kustomization/myapp"],
        ),
        "flux events --for",
    );
    // `--for` follows the Kustomization's sourceRef too.
    assert!(for_ks.contains("Kustomization/myapp"), "{for_ks}");
    assert!(for_ks.contains("GitRepository/config"), "{for_ks}");

    // flux trace: from an applied Deployment back to its Kustomization and source.
    let trace = must_succeed(
        flux(&kubeconfig, &["-n", &ns, "trace", "deployment", "myapp"]),
        "flux trace",
    );
    assert!(
        trace.contains("Status:          Managed by Flux"),
        "{trace}"
    );
    assert!(trace.contains("Kustomization:   myapp"), "{trace}");
    assert!(
        trace.contains(&format!("Path:            ./{OVERLAY}")),
        "{trace}"
    );
    assert!(
        trace.contains(&format!("Revision:        {third}")),
        "{trace}"
    );
    assert!(trace.contains("GitRepository:   config"), "{trace}");
    assert!(
        trace.contains(&format!("URL:             {}", config.url())),
        "{trace}"
    );
    assert!(
        trace.contains(&format!("Message:         Applied revision: {third}")),
        "{trace}"
    );

    // flux stats: one of each running, none failing or suspended, the artifact's size counted.
    let stats = must_succeed(flux(&kubeconfig, &["-n", &ns, "stats"]), "flux stats");
    let row = |kind: &str| -> Vec<String> {
        stats
            .lines()
            .find(|line| line.split_whitespace().next() == Some(kind))
            .unwrap_or_else(|| panic!("no {kind} row in\n{stats}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let git = row("GitRepository");
    assert_eq!(&git[1..4], ["1", "0", "0"], "{stats}");
    // Storage prints as a number and a unit (`1.2 KiB`).
    assert_ne!(git[4], "0", "{stats}");
    assert_eq!(&row("Kustomization")[1..4], ["1", "0", "0"], "{stats}");
    assert_eq!(&row("HelmRelease")[1..4], ["0", "0", "0"], "{stats}");

    controllers::delete_flux_objects(&client, &ns).await;
    namespace.cleanup().await.unwrap();
}
