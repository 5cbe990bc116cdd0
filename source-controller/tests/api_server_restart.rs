//! Issue #12 (6a): after the API server restarts, work resumes within 5 s of it answering again:
//! a change made then is reconciled, and so is an object whose reconciles failed during the
//! outage. Runs source-controller in-process against a private control plane (restarting the
//! shared one would break every other test), built from the shared testenv's cached binaries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gitrepository_support;

use eddy_test_support::PrivateCluster;
use std::time::{Duration, Instant};

use clap::Parser;
use eddy_api::source::GitRepository;
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot};
use eddy_test_support::{TestNamespace, install_crds};
use gitrepository_support::*;
use kube::api::Api;
use source_controller::args::Args;

/// The goal the issue sets.
const RESUME_WITHIN: Duration = Duration::from_secs(5);
/// Long enough for the failing object's error backoff to grow past the goal (0.75 s doubling:
/// its next retry is 6–12 s away by then) and for every watch to have broken.
const OUTAGE: Duration = Duration::from_secs(12);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How many reconciles of GitRepository `name` the controller's `/metrics` counts.
async fn reconcile_count(metrics_addr: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series =
        format!("gotk_reconcile_duration_seconds_count{{kind=\"GitRepository\",name=\"{name}\",");
    text.lines()
        .find(|line| line.starts_with(&series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn reconciling_resumes_within_5s_of_the_api_server_answering_after_a_restart() {
    eddy_test_support::client().await.unwrap(); // the shared environment, for its binaries
    let plane = tokio::task::spawn_blocking(PrivateCluster::start)
        .await
        .unwrap()
        .unwrap();
    let layout = plane.layout().clone();
    let client = plane.client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "restart").await.unwrap();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), namespace.name());

    let root = RepoRoot::new().unwrap();
    let repo = root.create("app").unwrap();
    repo.write("deploy/app.yaml", "kind: ConfigMap\n").unwrap();
    repo.commit_all("first commit").unwrap();
    repo.push("master").unwrap();
    let git = GitHttpServer::start(root.path(), HttpServerOptions::default())
        .await
        .unwrap();

    // Flux's default retry delays, so the error backoff is what a real deployment has.
    let storage = tempfile::tempdir().unwrap();
    let shard = shard("restart");
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let args = Args::try_parse_from([
        "source-controller",
        "--storage-addr=127.0.0.1:0",
        &format!("--storage-path={}", storage.path().display()),
        &format!("--metrics-addr={metrics_addr}"),
        &format!("--health-addr=127.0.0.1:{}", free_port()),
        &format!("--watch-label-selector={SHARD_LABEL}={shard}"),
    ])
    .unwrap();
    let controller = tokio::spawn(source_controller::run_with_client(
        args,
        Some(client.clone()),
    ));

    // `changed` is changed right after the restart; `missed` reconciles every 2 s, so its
    // reconciles fail throughout the outage.
    for (name, interval) in [("changed", "10m"), ("missed", "2s")] {
        create_repository(
            &api,
            name,
            &shard,
            serde_json::json!({"url": git.url("app"), "interval": interval, "ref": {"branch": "master"}}),
        )
        .await
        .unwrap();
    }
    wait_ready(&api, "changed").await.unwrap();
    wait_ready(&api, "missed").await.unwrap();

    let stop_layout = layout.clone();
    tokio::task::spawn_blocking(move || eddy_testenv::stop_apiserver_at(&stop_layout))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(OUTAGE).await;
    let failed_during_outage = reconcile_count(&metrics_addr, "missed").await;
    tokio::task::spawn_blocking(move || eddy_testenv::start_apiserver_at(&layout))
        .await
        .unwrap()
        .unwrap();
    let answering = Instant::now();
    let missed_before = reconcile_count(&metrics_addr, "missed").await;

    // The test's own client reconnects too; retry the change until it lands.
    let token = "after-restart";
    while let Err(error) = request_reconcile(&api, "changed", token).await {
        assert!(
            answering.elapsed() < RESUME_WITHIN,
            "the API does not take the change: {error}"
        );
        eprintln!(
            "{:?}: cannot change the object yet: {error}",
            answering.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("{:?}: object changed", answering.elapsed());
    let (mut changed_after, mut missed_after) = (None, None);
    while changed_after.is_none() || missed_after.is_none() {
        assert!(
            answering.elapsed() < Duration::from_secs(60),
            "nothing reconciled a minute after the restart (changed: {changed_after:?}, missed: {missed_after:?})"
        );
        if changed_after.is_none() {
            let object = api.get("changed").await;
            let handled = object
                .ok()
                .and_then(|o| o.status?.last_handled_reconcile_at);
            if handled.as_deref() == Some(token) {
                changed_after = Some(answering.elapsed());
            }
        }
        if missed_after.is_none() && reconcile_count(&metrics_addr, "missed").await > missed_before
        {
            missed_after = Some(answering.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (changed_after, missed_after) = (changed_after.unwrap(), missed_after.unwrap());
    println!(
        "API server restart ({OUTAGE:?} down, `missed` counted {failed_during_outage} reconciles by then): \
         change reconciled {changed_after:?} and the missed object {missed_after:?} after the API answered again"
    );
    assert!(changed_after < RESUME_WITHIN, "{changed_after:?}");
    assert!(missed_after < RESUME_WITHIN, "{missed_after:?}");
    wait_ready(&api, "missed").await.unwrap();

    controller.abort();
    let _ = controller.await;
    drop(plane);
}
