//! The commands that need the whole loop — a Git source fetched by Eddy's source-controller and
//! applied by Eddy's kustomize-controller, both in-process — from `eddy` and from the real
//! `flux` CLI: `reconcile --with-source`, `tree`, `events`, `trace`, `stats`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use eddy_test_support::PrivateCluster;
use std::process::Output;

use eddy_e2e::{
    ConfigRepo,
    in_namespace::{self, apply, git_repositories, kustomizations, wait_applied},
    start_controllers,
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

    let config = ConfigRepo::seed("master").await;
    let first = config.revision();
    let _controllers = start_controllers(&client, &shard, false).await;
    in_namespace::create_git_repository(&client, &ns, &shard, "config", &config.url(), "master")
        .await;
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
    let second = config.commit("four replicas");
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
    assert!(in_namespace::is_ready(&ks));
    assert_eq!(replicas(&client, &ns).await, 4);

    // The real flux CLI does the same against Eddy's controllers.
    config.edit(&format!("{OVERLAY}/kustomization.yaml"), |text| {
        text.replace("count: 4", "count: 3")
    });
    let third = config.commit("three replicas");
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

    in_namespace::delete_flux_objects(&client, &ns).await;
    namespace.cleanup().await.unwrap();
}

/// Plays the kubelet for the controller pods (the fake node marks pods ready once; a missed
/// heartbeat on a loaded machine can mark them not ready again) until `done` is set.
async fn keep_pods_ready(
    client: kube::Client,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use k8s_openapi::api::core::v1::Pod;
    let pods: Api<Pod> = Api::namespaced(client, "flux-system");
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        for pod in pods
            .list(&Default::default())
            .await
            .map(|list| list.items)
            .unwrap_or_default()
        {
            let Some(name) = pod.metadata.name else {
                continue;
            };
            let ready = json!({"status": {"conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "ContainersReady", "status": "True"},
            ]}});
            let _ = pods
                .patch_status(
                    &name,
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Strategic(&ready),
                )
                .await;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// Whether the object `eddy install --export` printed still exists.
async fn still_exists(client: &kube::Client, object: &serde_json::Value) -> bool {
    let api_version = object["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = kube::api::GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap());
    // A kind no longer served (its CRD is gone) has no objects left.
    let Ok((resource, capabilities)) = kube::discovery::pinned_kind(client, &gvk).await else {
        return false;
    };
    let api: Api<kube::api::DynamicObject> =
        if capabilities.scope == kube::discovery::Scope::Namespaced {
            Api::namespaced_with(
                client.clone(),
                object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("flux-system"),
                &resource,
            )
        } else {
            Api::all_with(client.clone(), &resource)
        };
    api.get_opt(object["metadata"]["name"].as_str().unwrap())
        .await
        .unwrap()
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_removes_everything_install_created() {
    let plane = tokio::task::spawn_blocking(PrivateCluster::start)
        .await
        .unwrap()
        .unwrap();
    let kubeconfig = plane.kubeconfig().to_path_buf();
    let client = eddy_testenv::client(&kubeconfig).await.unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let kubelet = tokio::spawn(keep_pods_ready(client.clone(), done.clone()));

    let exported = succeeded(
        eddy(&kubeconfig, &["install", "--export"]),
        "eddy install --export",
    );
    let installed: Vec<serde_json::Value> = serde_yaml_ng::Deserializer::from_str(&exported)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .filter(|value: &serde_json::Value| !value.is_null())
        .collect();
    assert!(installed.len() > 20, "{exported}");
    let install_kubeconfig = kubeconfig.clone();
    let output = tokio::task::spawn_blocking(move || {
        eddy(&install_kubeconfig, &["install", "--timeout", "3m"])
    })
    .await
    .unwrap();
    succeeded(output, "eddy install");
    for object in &installed {
        assert!(still_exists(&client, object).await, "{object}");
    }
    // A Flux object whose controller is gone keeps its finalizer: uninstall releases it.
    let repositories = git_repositories(&client, "flux-system");
    repositories
        .create(
            &Default::default(),
            &serde_json::from_value(json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "GitRepository",
                "metadata": {"name": "orphan", "finalizers": ["finalizers.fluxcd.io"]},
                "spec": {"url": "https://example.invalid/repo.git", "interval": "1m"},
            }))
            .unwrap(),
        )
        .await
        .unwrap();

    // Without a terminal to ask, uninstall refuses unless --silent; nothing is touched.
    let refused = eddy(&kubeconfig, &["uninstall"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--silent"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(repositories.get_opt("orphan").await.unwrap().is_some());

    let uninstall_kubeconfig = kubeconfig.clone();
    let output = tokio::task::spawn_blocking(move || {
        eddy(&uninstall_kubeconfig, &["uninstall", "--silent"])
    })
    .await
    .unwrap();
    let text = succeeded(output, "eddy uninstall --silent");
    assert!(text.contains("uninstall finished"), "{text}");
    for object in &installed {
        eddy_test_support::wait_for(
            format!(
                "{} {} to be deleted",
                object["kind"], object["metadata"]["name"]
            ),
            std::time::Duration::from_secs(90),
            async || Ok((!still_exists(&client, object).await).then_some(())),
        )
        .await
        .unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    kubelet.await.unwrap();
    drop(plane);
}
