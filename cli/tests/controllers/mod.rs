//! The GitOps loop for the CLI's tests: Eddy's source-controller and kustomize-controller
//! running in the test's runtime, a Git repository served over HTTP made from the seed's
//! `examples/config-repo`, and the objects that connect them.
//!
//! Each test gives its objects a shard label and its controllers watch only that label, so
//! tests running at the same time (and other people's controllers) never touch each other's
//! objects.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use clap::Parser;
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use eddy_test_support::{
    git_server::{GitHttpServer, HttpServerOptions, RepoRoot, TestRepo},
    wait_for,
};
use kube::{
    Api,
    api::{ApiResource, DynamicObject, Patch, PatchParams},
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The label that assigns objects to one test's controllers.
pub const SHARD_LABEL: &str = "eddy.test/shard";

/// How long the loop may take to fetch and apply on a loaded two-core machine.
pub const LOOP_TIMEOUT: Duration = Duration::from_secs(120);

/// Both controllers, stopped when dropped.
pub struct Controllers {
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _storage: tempfile::TempDir,
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.stop.cancel();
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts source-controller and kustomize-controller watching objects labelled
/// `SHARD_LABEL=<shard>`.
pub async fn start_controllers(client: &kube::Client, shard: &str) -> Controllers {
    let stop = CancellationToken::new();
    let storage = tempfile::tempdir().unwrap();
    let selector = format!("--watch-label-selector={SHARD_LABEL}={shard}");
    let source_args = source_controller::args::Args::try_parse_from([
        "source-controller".to_owned(),
        "--storage-addr=127.0.0.1:0".into(),
        "--metrics-addr=127.0.0.1:0".into(),
        "--health-addr=127.0.0.1:0".into(),
        "--min-retry-delay=200ms".into(),
        "--max-retry-delay=5s".into(),
        "--watch-all-namespaces".into(),
        selector.clone(),
        format!("--storage-path={}", storage.path().display()),
    ])
    .unwrap();
    let source_client = client.clone();
    let source = tokio::spawn(async move {
        if let Err(error) =
            source_controller::run_with_client(source_args, Some(source_client)).await
        {
            eprintln!("source-controller stopped: {error}");
        }
    });
    let kustomize_args = kustomize_controller::Args::try_parse_from([
        "kustomize-controller".to_owned(),
        "--requeue-dependency=2s".into(),
        "--min-retry-delay=200ms".into(),
        "--max-retry-delay=5s".into(),
        "--http-retry=2".into(),
        selector,
        format!(
            "--artifact-cache-path={}",
            storage.path().join("kustomize-cache").display()
        ),
    ])
    .unwrap();
    let process = ControllerProcess {
        name: kustomize_controller::CONTROLLER_NAME,
        client: client.clone(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    };
    let token = stop.clone();
    let kustomize = tokio::spawn(async move {
        if let Err(error) =
            kustomize_controller::run_with(&process, &kustomize_args, None, token).await
        {
            eprintln!("kustomize-controller stopped: {error}");
        }
    });
    Controllers {
        stop,
        tasks: vec![source, kustomize],
        _storage: storage,
    }
}

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: "v1".into(),
        api_version: format!("{group}/v1"),
        kind: kind.into(),
        plural: plural.into(),
    }
}

pub fn git_repositories(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource = resource(
        "source.toolkit.fluxcd.io",
        "GitRepository",
        "gitrepositories",
    );
    Api::namespaced_with(client.clone(), namespace, &resource)
}

pub fn kustomizations(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource = resource(
        "kustomize.toolkit.fluxcd.io",
        "Kustomization",
        "kustomizations",
    );
    Api::namespaced_with(client.clone(), namespace, &resource)
}

/// Server-side applies `object` (apiVersion, kind and name set) into `namespace` with the shard
/// label added.
pub async fn apply(api: &Api<DynamicObject>, shard: &str, mut object: Value) {
    object["metadata"]["labels"][SHARD_LABEL] = json!(shard);
    let name = object["metadata"]["name"].as_str().unwrap().to_owned();
    api.patch(
        &name,
        &PatchParams::apply("eddy-cli-test").force(),
        &Patch::Apply(&object),
    )
    .await
    .unwrap();
}

/// A GitRepository following `branch` of `url`, polled hourly so every fetch in a test has a
/// cause the test controls (creation or a reconcile request).
pub async fn create_git_repository(
    client: &kube::Client,
    namespace: &str,
    shard: &str,
    name: &str,
    url: &str,
) {
    let object = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"url": url, "interval": "1h", "ref": {"branch": "master"}},
    });
    apply(&git_repositories(client, namespace), shard, object).await;
}

/// Waits until the Kustomization is Ready with `revision` applied, and returns it.
pub async fn wait_applied(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    revision: &str,
) -> DynamicObject {
    let api = kustomizations(client, namespace);
    wait_for(
        format!("Kustomization {namespace}/{name} to apply {revision}"),
        LOOP_TIMEOUT,
        async || {
            let ks = api.get(name).await?;
            let applied = ks.data.pointer("/status/lastAppliedRevision") == Some(&json!(revision));
            Ok((applied && is_ready(&ks)).then_some(ks))
        },
    )
    .await
    .unwrap()
}

pub fn is_ready(object: &DynamicObject) -> bool {
    object
        .data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// Deletes the test's Flux objects while the controllers still run (they own the finalizers)
/// and waits until they are gone.
pub async fn delete_flux_objects(client: &kube::Client, namespace: &str) {
    for api in [
        kustomizations(client, namespace),
        git_repositories(client, namespace),
    ] {
        let names: Vec<String> = api
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|object| object.metadata.name)
            .collect();
        for name in &names {
            let _ = api.delete(name, &Default::default()).await;
        }
        wait_for(
            "the test's Flux objects to be finalized",
            LOOP_TIMEOUT,
            async || {
                Ok(api
                    .list(&Default::default())
                    .await?
                    .items
                    .is_empty()
                    .then_some(()))
            },
        )
        .await
        .unwrap();
    }
}

/// A Git repository holding a copy of the seed's `examples/config-repo`, served over HTTP.
pub struct ConfigRepo {
    pub repo: TestRepo,
    pub server: GitHttpServer,
    _root: RepoRoot,
}

impl ConfigRepo {
    pub async fn start() -> Self {
        let root = RepoRoot::new().unwrap();
        let repo = root.create("config").unwrap();
        copy_tree(&examples_dir(), &repo.work);
        let server = GitHttpServer::start(root.path(), HttpServerOptions::default())
            .await
            .unwrap();
        Self {
            repo,
            server,
            _root: root,
        }
    }

    pub fn url(&self) -> String {
        self.server.url("config")
    }

    /// The working clone's path of `relative`.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.repo.work.join(relative)
    }

    pub fn write(&self, relative: &str, contents: &str) {
        self.repo.write(relative, contents).unwrap();
    }

    pub fn edit(&self, relative: &str, change: impl FnOnce(String) -> String) {
        let path = self.path(relative);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, change(text)).unwrap();
    }

    /// Commits everything and pushes `master`; returns Flux's revision string for the commit.
    pub fn commit_and_push(&self, message: &str) -> String {
        let sha = self.repo.commit_all(message).unwrap();
        self.repo.push("master").unwrap();
        format!("master@sha1:{sha}")
    }
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn examples_dir() -> PathBuf {
    workspace().join("examples/config-repo")
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
