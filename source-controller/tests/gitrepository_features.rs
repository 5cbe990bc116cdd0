//! GitRepository features beyond the basic fetch: submodules, sparse checkout, Flux-format event
//! POSTs to `--events-addr`, the reconcile metrics, and symlinks left out with a warning.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gitrepository_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eddy_api::source::GitRepository;
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot};
use eddy_test_support::{TestNamespace, install_crds, wait_for};
use gitrepository_support::*;
use kube::api::Api;

/// Collects the JSON bodies POSTed to it, as notification-controller's event endpoint would.
async fn event_sink() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push(body);
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/"), received)
}

#[tokio::test(flavor = "multi_thread")]
async fn submodules_sparse_checkout_events_and_metrics() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "gitrepo-feat").await.unwrap();
    let ns = namespace.name().to_owned();

    let root = RepoRoot::new().unwrap();
    let server = GitHttpServer::start(root.path(), HttpServerOptions::default())
        .await
        .unwrap();
    let shared = root.create("shared").unwrap();
    shared.write("base/common.yaml", "shared: true\n").unwrap();
    shared.commit_all("shared base").unwrap();
    shared.push("master").unwrap();
    let app = root.create("app").unwrap();
    app.write("apps/app.yaml", "app: true\n").unwrap();
    app.write("infra/infra.yaml", "infra: true\n").unwrap();
    app.commit_all("layout").unwrap();
    app.add_submodule(&shared, "vendor/shared", &server.url("shared"))
        .unwrap();
    app.push("master").unwrap();

    let (events_addr, received) = event_sink().await;
    let storage = tempfile::tempdir().unwrap();
    let shard = shard("feat");
    let controller = RunningController::start(
        &client,
        storage.path(),
        &shard,
        &["--events-addr", &events_addr],
    )
    .await
    .unwrap();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &ns);
    let url = server.url("app");
    create_repository(
        &api,
        "with-submodules",
        &shard,
        serde_json::json!({"url": url, "interval": "10m", "recurseSubmodules": true}),
    )
    .await
    .unwrap();
    create_repository(
        &api,
        "without-submodules",
        &shard,
        serde_json::json!({"url": url, "interval": "10m"}),
    )
    .await
    .unwrap();
    create_repository(
        &api,
        "sparse",
        &shard,
        serde_json::json!({"url": url, "interval": "10m", "sparseCheckout": ["./apps/"]}),
    )
    .await
    .unwrap();

    let with = wait_ready(&api, "with-submodules").await.unwrap();
    let files = download_artifact(&with).await.unwrap();
    assert_eq!(
        files
            .get("vendor/shared/base/common.yaml")
            .map(String::as_str),
        Some("shared: true\n")
    );
    assert!(!files.contains_key(".gitmodules"));
    assert_eq!(
        with.status.as_ref().unwrap().observed_recurse_submodules,
        Some(true)
    );

    let without = wait_ready(&api, "without-submodules").await.unwrap();
    let files = download_artifact(&without).await.unwrap();
    assert!(files.contains_key("apps/app.yaml"));
    assert!(
        !files.keys().any(|path| path.starts_with("vendor/shared/")),
        "{files:?}"
    );

    let sparse = wait_ready(&api, "sparse").await.unwrap();
    let files = download_artifact(&sparse).await.unwrap();
    assert!(files.contains_key("apps/app.yaml"), "{files:?}");
    assert!(!files.contains_key("infra/infra.yaml"), "{files:?}");
    assert_eq!(
        sparse.status.as_ref().unwrap().observed_sparse_checkout,
        Some(vec!["./apps/".to_owned()])
    );

    // Flux-format event JSON reached the events address, with group-scoped metadata.
    let revision = revision(&with);
    let event = wait_for("a NewArtifact POST", Duration::from_secs(30), async || {
        Ok(received
            .lock()
            .unwrap()
            .iter()
            .find(|body| {
                body["reason"] == "NewArtifact"
                    && body["involvedObject"]["name"] == "with-submodules"
            })
            .cloned())
    })
    .await
    .unwrap();
    assert_eq!(event["involvedObject"]["kind"], "GitRepository");
    assert_eq!(event["severity"], "info");
    assert_eq!(event["reportingController"], "source-controller");
    assert_eq!(
        event["metadata"]["source.toolkit.fluxcd.io/revision"],
        revision.as_str()
    );
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .starts_with("stored artifact for commit 'add submodule")
    );

    // The reconcile metrics carry the objects.
    let metrics = reqwest::get(format!("http://{}/metrics", controller.metrics_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("gotk_reconcile_duration_seconds")
                && line.contains("kind=\"GitRepository\"")
                && line.contains("name=\"sparse\"")),
        "{metrics}"
    );

    controller.stop().await;
    namespace.cleanup().await.unwrap();
}

/// A symlink pointing outside the repository (moved here from the failure cases: it used to fail
/// the whole artifact) is left out, like every symlink, and a warning event names it; the rest
/// of the repository is served.
#[tokio::test(flavor = "multi_thread")]
async fn symlinks_are_left_out_with_a_warning_naming_them() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "gitrepo-links").await.unwrap();
    let ns = namespace.name().to_owned();

    let root = RepoRoot::new().unwrap();
    let server = GitHttpServer::start(root.path(), HttpServerOptions::default())
        .await
        .unwrap();
    let linky = root.create("linky").unwrap();
    linky.write("ok.yaml", "a: b\n").unwrap();
    std::os::unix::fs::symlink("../../../etc/passwd", linky.work.join("leak")).unwrap();
    linky.commit_all("a link out of the repository").unwrap();
    linky.push("master").unwrap();

    let storage = tempfile::tempdir().unwrap();
    let shard = shard("links");
    let controller = RunningController::start(&client, storage.path(), &shard, &[])
        .await
        .unwrap();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &ns);
    create_repository(
        &api,
        "symlink",
        &shard,
        serde_json::json!({"url": server.url("linky"), "interval": "10m"}),
    )
    .await
    .unwrap();

    let ready = wait_ready(&api, "symlink").await.unwrap();
    let files = download_artifact(&ready).await.unwrap();
    assert_eq!(files.keys().collect::<Vec<_>>(), ["ok.yaml"]);
    let warning = wait_for(
        "a SymlinksSkipped event",
        Duration::from_secs(30),
        async || {
            let events = events_for(&client, &ns, "symlink").await?;
            Ok(events
                .into_iter()
                .find(|(reason, _, _)| reason == "SymlinksSkipped"))
        },
    )
    .await
    .unwrap();
    assert!(
        warning
            .1
            .contains("'leak' -> '../../../etc/passwd' (outside the repository)"),
        "{warning:?}"
    );

    controller.stop().await;
    namespace.cleanup().await.unwrap();
}
