//! `eddy` and the real `flux` CLI against the testenv with Eddy's CRDs: each reads what the other
//! wrote, and with Eddy's source-controller running in-process, `reconcile`, `create` and
//! `resume` wait for a real Ready.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use clap::Parser;
use eddy_test_support::{
    TestNamespace,
    git_server::{GitHttpServer, HttpServerOptions, RepoRoot},
    install_crds,
};
use kube::{Api, api::DynamicObject, discovery::ApiResource};
use serde_json::Value;
use support::{eddy, failed, flux::flux, kubeconfig, succeeded};

fn git_repositories(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "source.toolkit.fluxcd.io".into(),
        version: "v1".into(),
        api_version: "source.toolkit.fluxcd.io/v1".into(),
        kind: "GitRepository".into(),
        plural: "gitrepositories".into(),
    };
    Api::namespaced_with(client.clone(), namespace, &resource)
}

fn kustomizations(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "kustomize.toolkit.fluxcd.io".into(),
        version: "v1".into(),
        api_version: "kustomize.toolkit.fluxcd.io/v1".into(),
        kind: "Kustomization".into(),
        plural: "kustomizations".into(),
    };
    Api::namespaced_with(client.clone(), namespace, &resource)
}

async fn setup(prefix: &str) -> (kube::Client, TestNamespace, std::path::PathBuf) {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, prefix).await.unwrap();
    (client, namespace, kubeconfig().await)
}

/// The row of `name` in a `get` table, split on runs of spaces.
fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in\n{table}"))
        .split("   ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .collect()
}

#[tokio::test]
async fn eddy_creates_lists_exports_suspends_and_refuses_to_reconcile_suspended_objects() {
    let (client, namespace, kubeconfig) = setup("cli-eddy").await;
    let ns = namespace.name();
    let url = "http://127.0.0.1:9/nowhere.git";
    succeeded(
        eddy(
            &kubeconfig,
            &[
                "-n",
                ns,
                "create",
                "source",
                "git",
                "repo",
                "--url",
                url,
                "--branch",
                "main",
                "--wait=false",
            ],
        ),
        "eddy create source git",
    );
    succeeded(
        eddy(
            &kubeconfig,
            &[
                "-n",
                ns,
                "create",
                "kustomization",
                "apps",
                "--source",
                "repo",
                "--path",
                "./deploy",
                "--prune",
                "--wait=false",
            ],
        ),
        "eddy create kustomization",
    );
    let stored = kustomizations(&client, ns).get("apps").await.unwrap();
    assert_eq!(stored.data["spec"]["sourceRef"]["name"], "repo");
    assert_eq!(stored.data["spec"]["prune"], true);
    assert_eq!(stored.data["spec"]["interval"], "1m0s");

    let table = succeeded(
        eddy(&kubeconfig, &["-n", ns, "get", "sources", "git"]),
        "eddy get",
    );
    assert!(table.starts_with("NAME"), "{table}");
    assert_eq!(
        row(&table, "repo"),
        ["repo", "False", "False", "waiting to be reconciled"]
    );

    let mut watch = std::process::Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(["-n", ns, "get", "sources", "git", "--watch"])
        .env("KUBECONFIG", &kubeconfig)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(watch.stdout.take().unwrap()));
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "NAME\tREVISION\tSUSPENDED\tREADY\tMESSAGE"
    );
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("repo\t"), "{first}");
    watch.kill().unwrap();
    watch.wait().unwrap();

    let listed = succeeded(
        eddy(
            &kubeconfig,
            &["-n", ns, "get", "sources", "git", "-o", "json"],
        ),
        "eddy get -o json",
    );
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["spec"]["url"], url);

    let exported = succeeded(
        eddy(&kubeconfig, &["-n", ns, "export", "source", "git", "repo"]),
        "eddy export",
    );
    let exported: Value = serde_yaml_ng::from_str(exported.trim_start_matches("---\n")).unwrap();
    assert_eq!(exported["spec"]["url"], url);
    assert_eq!(exported["spec"]["ref"]["branch"], "main");
    assert!(exported.get("status").is_none());
    assert!(exported["metadata"].get("uid").is_none());

    succeeded(
        eddy(&kubeconfig, &["-n", ns, "suspend", "kustomization", "apps"]),
        "eddy suspend",
    );
    let stored = kustomizations(&client, ns).get("apps").await.unwrap();
    assert_eq!(stored.data["spec"]["suspend"], true);
    let table = succeeded(eddy(&kubeconfig, &["-n", ns, "get", "ks"]), "eddy get ks");
    assert_eq!(row(&table, "apps")[1], "True", "{table}");
    let stderr = failed(
        eddy(&kubeconfig, &["-n", ns, "reconcile", "ks", "apps"]),
        "reconcile of a suspended object",
    );
    assert!(stderr.contains("resource is suspended"), "{stderr}");
    assert!(stderr.contains("eddy resume"), "{stderr}");
    succeeded(
        eddy(
            &kubeconfig,
            &["-n", ns, "resume", "ks", "apps", "--wait=false"],
        ),
        "eddy resume",
    );
    let stored = kustomizations(&client, ns).get("apps").await.unwrap();
    assert_eq!(stored.data["spec"]["suspend"], false);

    let stderr = failed(
        eddy(
            &kubeconfig,
            &["-n", ns, "reconcile", "source", "git", "missing"],
        ),
        "reconcile of a missing object",
    );
    assert!(stderr.contains("\"missing\" not found"), "{stderr}");
    let stderr = failed(
        eddy(&kubeconfig, &["-n", ns, "get", "sources", "svn"]),
        "get of an unknown kind",
    );
    assert!(stderr.contains("source git"), "{stderr}");
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn flux_reads_and_suspends_what_eddy_created() {
    let (client, namespace, kubeconfig) = setup("cli-flux").await;
    let ns = namespace.name();
    let url = "https://example.invalid/repo.git";
    succeeded(
        eddy(
            &kubeconfig,
            &[
                "-n",
                ns,
                "create",
                "source",
                "git",
                "repo",
                "--url",
                url,
                "--tag",
                "v1.0.0",
                "--wait=false",
            ],
        ),
        "eddy create source git",
    );
    succeeded(
        eddy(
            &kubeconfig,
            &[
                "-n",
                ns,
                "create",
                "ks",
                "apps",
                "--source",
                "repo",
                "--wait=false",
            ],
        ),
        "eddy create kustomization",
    );
    let table = succeeded(
        flux(&kubeconfig, &["-n", ns, "get", "sources", "git"]),
        "flux get sources git",
    );
    assert!(table.contains("repo"), "{table}");
    assert!(table.contains("waiting to be reconciled"), "{table}");
    let table = succeeded(
        flux(&kubeconfig, &["-n", ns, "get", "kustomizations"]),
        "flux get kustomizations",
    );
    assert!(table.contains("apps"), "{table}");

    let exported = succeeded(
        flux(&kubeconfig, &["-n", ns, "export", "source", "git", "repo"]),
        "flux export",
    );
    let exported: Value = serde_yaml_ng::from_str(exported.trim_start_matches("---\n")).unwrap();
    assert_eq!(exported["apiVersion"], "source.toolkit.fluxcd.io/v1");
    assert_eq!(exported["spec"]["url"], url);
    assert_eq!(exported["spec"]["ref"]["tag"], "v1.0.0");

    succeeded(
        flux(&kubeconfig, &["-n", ns, "suspend", "kustomization", "apps"]),
        "flux suspend",
    );
    let stored = kustomizations(&client, ns).get("apps").await.unwrap();
    assert_eq!(stored.data["spec"]["suspend"], true);
    let table = succeeded(eddy(&kubeconfig, &["-n", ns, "get", "ks"]), "eddy get ks");
    assert_eq!(row(&table, "apps")[1], "True", "{table}");
    let output = flux(
        &kubeconfig,
        &["-n", ns, "reconcile", "kustomization", "apps"],
    );
    let stderr = failed(output, "flux reconcile of a suspended object");
    assert!(stderr.contains("resource is suspended"), "{stderr}");
    succeeded(
        eddy(
            &kubeconfig,
            &["-n", ns, "resume", "ks", "apps", "--wait=false"],
        ),
        "eddy resume",
    );
    let table = succeeded(flux(&kubeconfig, &["-n", ns, "get", "ks"]), "flux get ks");
    assert!(table.contains("False"), "{table}");
    namespace.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_and_eddy_check_the_installed_controllers() {
    let (client, namespace, kubeconfig) = setup("cli-check").await;
    let pre = succeeded(flux(&kubeconfig, &["check", "--pre"]), "flux check --pre");
    assert!(
        pre.contains("prerequisites checks passed") || pre.is_empty(),
        "{pre}"
    );
    succeeded(eddy(&kubeconfig, &["check", "--pre"]), "eddy check --pre");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let kubelet = tokio::spawn(keep_controller_pods_ready(client.clone(), done.clone()));
    let install_kubeconfig = kubeconfig.clone();
    let installed = tokio::task::spawn_blocking(move || {
        eddy(&install_kubeconfig, &["install", "--timeout", "3m"])
    })
    .await
    .unwrap();
    succeeded(installed, "eddy install");
    let checked = succeeded(eddy(&kubeconfig, &["check"]), "eddy check");
    assert!(
        checked.contains("✔ source-controller: deployment ready"),
        "{checked}"
    );
    assert!(
        checked.contains("gitrepositories.source.toolkit.fluxcd.io/v1"),
        "{checked}"
    );
    let output = flux(&kubeconfig, &["check"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{all}");
    assert!(all.contains("source-controller: deployment ready"), "{all}");
    assert!(
        all.contains(&format!(
            "distribution: flux-v{}",
            env!("CARGO_PKG_VERSION")
        )),
        "{all}"
    );
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    kubelet.await.unwrap();
    namespace.cleanup().await.unwrap();
}

// Multi-threaded: the test blocks its thread running `flux`/`eddy` while the in-process
// controller must keep reconciling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_and_eddy_reconcile_and_resume_with_eddy_source_controller() {
    let (client, namespace, kubeconfig) = setup("cli-reconcile").await;
    let ns = namespace.name();
    let root = RepoRoot::new().unwrap();
    let repo = root.create("app").unwrap();
    repo.write("deploy/app.yaml", "v: 1\n").unwrap();
    let first = repo.commit_all("one").unwrap();
    repo.push("master").unwrap();
    let server = GitHttpServer::start(root.path(), HttpServerOptions::default())
        .await
        .unwrap();

    let storage = tempfile::tempdir().unwrap();
    let shard = format!("cli-{}", std::process::id());
    let controller = start_source_controller(&client, storage.path(), &shard);

    // flux creates the object and waits for Eddy's controller to make it Ready.
    let label = format!("eddy.test/shard={shard}");
    let output = flux(
        &kubeconfig,
        &[
            "-n",
            ns,
            "create",
            "source",
            "git",
            "app",
            "--url",
            &server.url("app"),
            "--branch",
            "master",
            "--label",
            &label,
            "--timeout",
            "2m",
        ],
    );
    succeeded(output, "flux create source git");
    let table = succeeded(
        flux(&kubeconfig, &["-n", ns, "get", "sources", "git"]),
        "flux get",
    );
    assert!(
        table.contains(&format!("master@sha1:{}", &first[..8])),
        "{table}"
    );
    let table = succeeded(
        eddy(&kubeconfig, &["-n", ns, "get", "sources", "git"]),
        "eddy get",
    );
    assert_eq!(
        row(&table, "app")[1],
        format!("master@sha1:{}", &first[..8]),
        "{table}"
    );
    assert_eq!(row(&table, "app")[3], "True", "{table}");

    repo.write("deploy/app.yaml", "v: 2\n").unwrap();
    let second = repo.commit_all("two").unwrap();
    repo.push("master").unwrap();
    let reconciled = succeeded(
        eddy(
            &kubeconfig,
            &[
                "-n",
                ns,
                "reconcile",
                "source",
                "git",
                "app",
                "--timeout",
                "2m",
            ],
        ),
        "eddy reconcile",
    );
    assert!(
        reconciled.contains(&format!("fetched revision master@sha1:{}", &second[..8])),
        "{reconciled}"
    );
    let stored = git_repositories(&client, ns).get("app").await.unwrap();
    let requested = stored.metadata.annotations.unwrap()["reconcile.fluxcd.io/requestedAt"].clone();
    assert_eq!(
        stored.data["status"]["lastHandledReconcileAt"],
        requested.as_str()
    );

    succeeded(
        flux(
            &kubeconfig,
            &[
                "-n",
                ns,
                "reconcile",
                "source",
                "git",
                "app",
                "--timeout",
                "2m",
            ],
        ),
        "flux reconcile",
    );
    succeeded(
        flux(&kubeconfig, &["-n", ns, "suspend", "source", "git", "app"]),
        "flux suspend",
    );
    succeeded(
        flux(
            &kubeconfig,
            &[
                "-n",
                ns,
                "resume",
                "source",
                "git",
                "app",
                "--timeout",
                "2m",
            ],
        ),
        "flux resume",
    );
    succeeded(
        eddy(&kubeconfig, &["-n", ns, "suspend", "source", "git", "app"]),
        "eddy suspend",
    );
    let resumed = succeeded(
        eddy(
            &kubeconfig,
            &[
                "-n",
                ns,
                "resume",
                "source",
                "git",
                "app",
                "--timeout",
                "2m",
            ],
        ),
        "eddy resume",
    );
    assert!(resumed.contains("resumed"), "{resumed}");
    let events = succeeded(
        eddy(
            &kubeconfig,
            &["-n", ns, "events", "--for", "GitRepository/app"],
        ),
        "eddy events",
    );
    assert!(events.contains("GitRepository/app"), "{events}");

    // Delete while the controller still runs: it owns the finalizer, and a namespace holding
    // an object nobody will finalize would stay Terminating for good.
    let repositories = git_repositories(&client, ns);
    repositories
        .delete("app", &Default::default())
        .await
        .unwrap();
    eddy_test_support::wait_for(
        "GitRepository app to be finalized",
        eddy_test_support::DEFAULT_TIMEOUT,
        async || Ok(repositories.get_opt("app").await?.is_none().then_some(())),
    )
    .await
    .unwrap();
    controller.abort();
    let _ = controller.await;
    namespace.cleanup().await.unwrap();
}

/// Plays the kubelet for the pods in flux-system until `done` is set: the testenv's fake node
/// (kwok) marks new pods ready once, but the node controller may then mark them not ready after
/// a missed heartbeat on a loaded machine, and nothing would mark them ready again.
async fn keep_controller_pods_ready(
    client: kube::Client,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use k8s_openapi::api::core::v1::Pod;
    let pods: Api<Pod> = Api::namespaced(client, "flux-system");
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        for pod in pods
            .list(&Default::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            let Some(name) = pod.metadata.name else {
                continue;
            };
            let ready = serde_json::json!({"status": {"conditions": [
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
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[tokio::test]
async fn tree_shows_the_inventory_with_nested_kustomizations_expanded() {
    let (client, namespace, kubeconfig) = setup("cli-tree").await;
    let ns = namespace.name();
    for name in ["parent", "child"] {
        succeeded(
            eddy(
                &kubeconfig,
                &[
                    "-n",
                    ns,
                    "create",
                    "ks",
                    name,
                    "--source",
                    "repo",
                    "--wait=false",
                ],
            ),
            "eddy create kustomization",
        );
    }
    let api = kustomizations(&client, ns);
    let set_inventory = async |name: &str, ids: &[String]| {
        let entries: Vec<Value> = ids
            .iter()
            .map(|id| serde_json::json!({"id": id, "v": "v1"}))
            .collect();
        let status = serde_json::json!({"status": {"inventory": {"entries": entries}}});
        api.patch_status(
            name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&status),
        )
        .await
        .unwrap();
    };
    set_inventory(
        "parent",
        &[
            "_apps__Namespace".to_string(),
            format!("{ns}_child_kustomize.toolkit.fluxcd.io_Kustomization"),
            "apps_web_apps_Deployment".to_string(),
        ],
    )
    .await;
    set_inventory("child", &["apps_web__Service".to_string()]).await;
    let tree = succeeded(
        eddy(&kubeconfig, &["-n", ns, "tree", "kustomization", "parent"]),
        "eddy tree",
    );
    let expected = format!(
        "Kustomization/{ns}/parent\n\
         ├── Namespace/apps\n\
         ├── Kustomization/{ns}/child\n\
         │   └── Service/apps/web\n\
         └── Deployment/apps/web\n"
    );
    assert_eq!(tree, expected);
    namespace.cleanup().await.unwrap();
}

fn start_source_controller(
    client: &kube::Client,
    storage: &std::path::Path,
    shard: &str,
) -> tokio::task::JoinHandle<Result<(), source_controller::Error>> {
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let argv = [
        "source-controller".to_string(),
        "--storage-addr=127.0.0.1:0".into(),
        format!("--metrics-addr=127.0.0.1:{}", free_port()),
        format!("--health-addr=127.0.0.1:{}", free_port()),
        "--watch-all-namespaces".into(),
        format!("--watch-label-selector=eddy.test/shard={shard}"),
        format!("--storage-path={}", storage.display()),
    ];
    let args = source_controller::args::Args::try_parse_from(argv).unwrap();
    tokio::spawn(source_controller::run_with_client(
        args,
        Some(client.clone()),
    ))
}
