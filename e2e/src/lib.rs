//! The one test harness of Eddy's end-to-end and CLI tests: the real controllers running
//! in-process against the testenv, the seed's config repository pushed to a real Git server, and
//! helpers to drive and observe GitRepositories and Kustomizations. Test tooling only: this crate
//! is the one allowed to link several controllers, and nothing shipped depends on it.
//!
//! Every test gets a namespace and a shard of its own: the controllers it starts only watch
//! objects labelled `SHARD_LABEL=<shard>`, so tests running in parallel (in this binary or in
//! other test binaries against the same testenv) never reconcile each other's objects.

// Test tooling: a failed set-up step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, http::StatusCode};
use clap::Parser;
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use eddy_test_support::{
    TestNamespace, client,
    git_server::{GitHttpServer, HttpServerOptions, RepoRoot, TestRepo},
    install_crds, wait_for,
};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Generous: the machine is small and many test binaries share the testenv.
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// The label every test puts on its sources and Kustomizations; its controllers watch only
/// objects carrying their shard's value.
pub const SHARD_LABEL: &str = "e2e.eddy.dev/run";

/// The annotation a reconcile request sets (what `flux reconcile` and Receivers write).
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

/// The field manager of the test's own writes.
const FIELD_MANAGER: &str = "eddy-e2e";

/// A connected client and a fresh namespace, with Eddy's CRDs installed.
///
/// Tests end with [`TestEnv::cleanup`] while their controllers still run, so the controllers
/// release their finalizers. A test that panics drops its controllers first; dropping the
/// `TestEnv` then removes the finalizers they left, or the namespace would stay `Terminating`
/// in the shared testenv for good.
pub struct TestEnv {
    pub client: kube::Client,
    namespace: Option<TestNamespace>,
    /// The namespace's name, also used as the controllers' shard.
    pub ns: String,
    /// Whether the controllers released everything in the namespace.
    finalized: bool,
}

/// The kinds whose objects Eddy's controllers put finalizers on.
fn finalized_resources() -> [ApiResource; 3] {
    [
        kustomization_resource("v1"),
        git_repository_resource("v1"),
        ApiResource::from_gvk(&GroupVersionKind::gvk(
            "image.toolkit.fluxcd.io",
            "v1",
            "ImageUpdateAutomation",
        )),
    ]
}

impl TestEnv {
    pub async fn new(prefix: &str) -> Self {
        eddy_runtime::tls::install_crypto_provider();
        let client = client().await.unwrap();
        install_crds(&client).await.unwrap();
        let namespace = TestNamespace::new(&client, prefix).await.unwrap();
        let ns = namespace.name().to_owned();
        Self {
            client,
            namespace: Some(namespace),
            ns,
            finalized: false,
        }
    }

    pub fn kustomizations(&self) -> Api<DynamicObject> {
        namespaced(&self.client, &self.ns, &kustomization_resource("v1"))
    }

    pub fn git_repositories(&self) -> Api<DynamicObject> {
        namespaced(&self.client, &self.ns, &git_repository_resource("v1"))
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Server-side-applies `manifest` (any namespaced kind) in the test namespace, labelled
    /// with the test's shard.
    pub async fn apply(&self, resource: &ApiResource, manifest: Value) -> DynamicObject {
        let mut manifest = manifest;
        manifest["metadata"]["namespace"] = json!(self.ns);
        manifest["metadata"]["labels"][SHARD_LABEL] = json!(self.ns);
        let name = manifest["metadata"]["name"].as_str().unwrap().to_owned();
        namespaced(&self.client, &self.ns, resource)
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&manifest),
            )
            .await
            .unwrap_or_else(|e| panic!("applying {name}: {e}"))
    }

    /// A GitRepository following `branch` of `url`, polled only every hour so that every fetch
    /// in a test is explained by a reconcile request.
    pub async fn create_git_repository(&self, name: &str, url: &str, branch: &str) {
        in_namespace::create_git_repository(&self.client, &self.ns, &self.ns, name, url, branch)
            .await;
    }

    pub async fn create_kustomization(&self, manifest: Value) {
        self.apply(&kustomization_resource("v1"), manifest).await;
    }

    /// Asks for a reconcile of `name` through `api` (what `flux reconcile` does) and returns
    /// the token written.
    pub async fn request_reconcile(&self, api: &Api<DynamicObject>, name: &str) -> String {
        let token = format!("{:?}", std::time::SystemTime::now());
        let patch = json!({"metadata": {"annotations": {REQUESTED_AT: token}}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        token
    }

    /// Requests a fetch of the GitRepository `name` and waits until its artifact is
    /// `revision`.
    pub async fn fetch(&self, name: &str, revision: &str) {
        let api = self.git_repositories();
        self.request_reconcile(&api, name).await;
        self.wait_artifact(name, revision).await;
    }

    /// Waits until the GitRepository `name` serves an artifact for `revision`.
    pub async fn wait_artifact(&self, name: &str, revision: &str) -> DynamicObject {
        let api = self.git_repositories();
        wait_for(
            format!("GitRepository {name} to store {revision}"),
            TIMEOUT,
            async || {
                let object = api.get(name).await?;
                Ok((artifact_revision(&object).as_deref() == Some(revision)).then_some(object))
            },
        )
        .await
        .unwrap()
    }

    /// Waits until the Kustomization is Ready and has applied `revision`.
    pub async fn wait_applied(&self, name: &str, revision: &str) -> DynamicObject {
        in_namespace::wait_applied(&self.client, &self.ns, name, revision).await
    }

    /// Waits until the Kustomization reports `Ready=False` after attempting `revision`.
    pub async fn wait_not_ready(&self, name: &str, revision: &str) -> Condition {
        self.wait_ready_false(name, |object, _| {
            string_at(object, "/status/lastAttemptedRevision").as_deref() == Some(revision)
        })
        .await
    }

    /// Waits until the Kustomization reports `Ready=False` with `reason`.
    pub async fn wait_not_ready_because(&self, name: &str, reason: &str) -> Condition {
        self.wait_ready_false(name, |_, ready| ready.reason == reason)
            .await
    }

    async fn wait_ready_false(
        &self,
        name: &str,
        accept: impl Fn(&DynamicObject, &Condition) -> bool,
    ) -> Condition {
        let api = self.kustomizations();
        wait_for(
            format!("Kustomization {name} to be Ready=False"),
            TIMEOUT,
            async || {
                let object = api.get(name).await?;
                Ok(ready_condition(&object)
                    .filter(|ready| ready.status == "False" && accept(&object, ready)))
            },
        )
        .await
        .unwrap()
    }

    /// Deletes the namespace and waits until the controllers, still running, have finalized
    /// their objects in it (the namespace controller removes the rest in the background).
    pub async fn cleanup(mut self) {
        let keep = keep_namespaces();
        self.namespace.take().unwrap().cleanup().await.unwrap();
        if keep {
            return;
        }
        for resource in finalized_resources() {
            let api = namespaced(&self.client, &self.ns, &resource);
            wait_for(
                format!(
                    "the controllers to finalize every {} in {}",
                    resource.kind, self.ns
                ),
                TIMEOUT,
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
        self.finalized = true;
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if self.finalized || keep_namespaces() {
            return;
        }
        // The test's runtime and client may be gone (a panic): a thread with its own.
        let ns = self.ns.clone();
        let released = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(release_finalizers(&ns))
        });
        if let Ok(Err(error)) = released.join() {
            eprintln!("finalizers left in {}: {error:#}", self.ns);
        }
    }
}

/// Removes every finalizer from Eddy's objects in `ns` (their controllers have stopped).
async fn release_finalizers(ns: &str) -> anyhow::Result<()> {
    let client = eddy_testenv::client(&eddy_testenv::kubeconfig_path()?).await?;
    let patch = json!({"metadata": {"finalizers": null}});
    for resource in finalized_resources() {
        let api = namespaced(&client, ns, &resource);
        for object in api.list(&Default::default()).await? {
            let name = object.metadata.name.unwrap_or_default();
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
    }
    Ok(())
}

fn keep_namespaces() -> bool {
    std::env::var(eddy_test_support::KEEP_NAMESPACES_ENV).is_ok_and(|value| value == "1")
}

/// A status condition's essentials.
#[derive(Debug, Clone)]
pub struct Condition {
    pub status: String,
    pub reason: String,
    pub message: String,
}

pub fn condition(object: &DynamicObject, kind: &str) -> Option<Condition> {
    let conditions = object.data.pointer("/status/conditions")?.as_array()?;
    let found = conditions.iter().find(|c| c["type"] == kind)?;
    Some(Condition {
        status: found["status"].as_str()?.to_owned(),
        reason: found["reason"].as_str()?.to_owned(),
        message: found["message"].as_str().unwrap_or_default().to_owned(),
    })
}

pub fn ready_condition(object: &DynamicObject) -> Option<Condition> {
    condition(object, "Ready")
}

pub fn string_at(object: &DynamicObject, pointer: &str) -> Option<String> {
    object
        .data
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub fn last_applied_revision(object: &DynamicObject) -> Option<String> {
    string_at(object, "/status/lastAppliedRevision")
}

pub fn artifact_revision(object: &DynamicObject) -> Option<String> {
    string_at(object, "/status/artifact/revision")
}

/// The ids of a Kustomization's inventory entries, in stored order.
pub fn inventory_ids(object: &DynamicObject) -> Vec<String> {
    object
        .data
        .pointer("/status/inventory/entries")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn namespaced(client: &kube::Client, ns: &str, resource: &ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, resource)
}

pub fn kustomization_resource(version: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", version, "Kustomization"),
        "kustomizations",
    )
}

pub fn git_repository_resource(version: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("source.toolkit.fluxcd.io", version, "GitRepository"),
        "gitrepositories",
    )
}

/// Creates a typed object from JSON in `ns`.
pub async fn create<K>(client: &kube::Client, ns: &str, object: Value) -> K
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let object: K = serde_json::from_value(object).unwrap();
    Api::<K>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &object)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Controllers

/// source-controller and kustomize-controller (and notification-controller when asked) running
/// in this test's runtime; stopped when dropped.
pub struct Controllers {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    kustomize: KustomizeController,
    _storage: tempfile::TempDir,
    /// Where notification-controller listens, when it was started.
    pub notifications: Option<notification_controller::Running>,
}

/// kustomize-controller's task and what it takes to start it again.
struct KustomizeController {
    task: Option<JoinHandle<()>>,
    client: kube::Client,
    flags: Vec<String>,
    stop: CancellationToken,
}

impl KustomizeController {
    async fn start(&mut self) {
        let args = kustomize_controller::Args::try_parse_from(&self.flags).unwrap();
        // The configuration lets the controller build clients that impersonate a
        // Kustomization's `serviceAccountName`, as it does in a cluster.
        let config = admin_config().await;
        let process = ControllerProcess {
            name: kustomize_controller::CONTROLLER_NAME,
            client: self.client.clone(),
            metrics: Metrics::new(),
            readiness: Readiness::default(),
        };
        let token = self.stop.child_token();
        self.task = Some(tokio::spawn(async move {
            if let Err(error) =
                kustomize_controller::run_with(&process, &args, Some(config), token).await
            {
                eprintln!("kustomize-controller stopped: {error}");
            }
        }));
    }
}

impl Controllers {
    /// Stops kustomize-controller wherever it is, as a SIGKILL would: its task is dropped at
    /// its next await point, requests in flight are abandoned, nothing is cleaned up.
    pub async fn crash_kustomize_controller(&mut self) {
        if let Some(task) = self.kustomize.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stops every controller and waits until their tasks are gone (a test that must know no
    /// controller acts any more, e.g. before removing finalizers by hand).
    pub async fn stop(mut self) {
        self.stop.cancel();
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .drain(..)
            .chain(self.kustomize.task.take())
            .collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }

    /// Starts kustomize-controller again with the same flags and cache directory.
    pub async fn restart_kustomize_controller(&mut self) {
        self.crash_kustomize_controller().await;
        self.kustomize.start().await;
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.stop.cancel();
        for task in self.tasks.iter().chain(&self.kustomize.task) {
            task.abort();
        }
    }
}

/// Starts source-controller and kustomize-controller for `shard`, both sending their events to
/// an in-process notification-controller when `with_notifications`.
pub async fn start_controllers(
    client: &kube::Client,
    shard: &str,
    with_notifications: bool,
) -> Controllers {
    start_controllers_with(client, shard, with_notifications, &[]).await
}

/// [`start_controllers`] with extra kustomize-controller flags (e.g. the multi-tenancy lockdown).
pub async fn start_controllers_with(
    client: &kube::Client,
    shard: &str,
    with_notifications: bool,
    extra_kustomize_flags: &[&str],
) -> Controllers {
    let stop = CancellationToken::new();
    let notifications = if with_notifications {
        Some(start_notification_controller(client, stop.clone()).await)
    } else {
        None
    };
    let events_addr = notifications
        .map(|running| format!("--events-addr=http://{}/", running.events_addr))
        .unwrap_or_else(|| "--events-addr=".to_owned());
    let storage = tempfile::tempdir().unwrap();
    let source_args = source_controller::args::Args::try_parse_from([
        "source-controller".to_owned(),
        "--storage-addr=127.0.0.1:0".into(),
        "--metrics-addr=127.0.0.1:0".into(),
        "--health-addr=127.0.0.1:0".into(),
        "--log-encoding=console".into(),
        "--min-retry-delay=200ms".into(),
        "--max-retry-delay=5s".into(),
        events_addr.clone(),
        format!("--watch-label-selector={SHARD_LABEL}={shard}"),
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

    let mut kustomize_flags = vec![
        "kustomize-controller".to_owned(),
        "--log-encoding=console".into(),
        "--requeue-dependency=2s".into(),
        "--min-retry-delay=200ms".into(),
        "--max-retry-delay=5s".into(),
        "--http-retry=2".into(),
        events_addr,
        format!("--watch-label-selector={SHARD_LABEL}={shard}"),
        format!(
            "--artifact-cache-path={}",
            storage.path().join("kustomize-cache").display()
        ),
    ];
    kustomize_flags.extend(extra_kustomize_flags.iter().map(|flag| (*flag).to_owned()));
    let kustomize_args = kustomize_controller::Args::try_parse_from(&kustomize_flags).unwrap();
    eddy_runtime::logging::init(
        kustomize_args.common.log_level,
        kustomize_args.common.log_encoding,
    );
    let mut kustomize = KustomizeController {
        task: None,
        client: client.clone(),
        flags: kustomize_flags,
        stop: stop.clone(),
    };
    kustomize.start().await;
    Controllers {
        stop,
        tasks: vec![source],
        kustomize,
        _storage: storage,
        notifications,
    }
}

async fn start_notification_controller(
    client: &kube::Client,
    stop: CancellationToken,
) -> notification_controller::Running {
    let args = notification_controller::Args::try_parse_from([
        "notification-controller",
        "--events-addr=127.0.0.1:0",
        "--receiverAddr=127.0.0.1:0",
        "--metrics-addr=127.0.0.1:0",
        "--health-addr=127.0.0.1:0",
        "--log-encoding=console",
    ])
    .unwrap();
    let process = Arc::new(ControllerProcess {
        name: notification_controller::NAME,
        client: client.clone(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    });
    notification_controller::start(process, args, stop)
        .await
        .unwrap()
}

/// The testenv admin's client configuration (the test client is built from the same file).
async fn admin_config() -> kube::Config {
    let path = eddy_testenv::kubeconfig_path().unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The image controllers

/// image-reflector-controller and image-automation-controller for one shard, in this test's
/// runtime; stopped when dropped.
pub struct ImageControllers {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    _storage: tempfile::TempDir,
}

impl Drop for ImageControllers {
    fn drop(&mut self) {
        self.stop.cancel();
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts both image controllers watching only objects labelled with `shard`.
pub async fn start_image_controllers(client: &kube::Client, shard: &str) -> ImageControllers {
    use eddy_image_automation::args::{AutomationArgs, ReflectorArgs};
    let stop = CancellationToken::new();
    let storage = tempfile::tempdir().unwrap();
    let common = |name: &str| {
        vec![
            name.to_owned(),
            "--metrics-addr=127.0.0.1:0".to_owned(),
            "--health-addr=127.0.0.1:0".to_owned(),
            "--min-retry-delay=200ms".to_owned(),
            "--max-retry-delay=5s".to_owned(),
            format!("--watch-label-selector={SHARD_LABEL}={shard}"),
        ]
    };
    let mut reflector_flags = common("image-reflector-controller");
    reflector_flags.push(format!("--storage-path={}", storage.path().display()));
    let reflector_args = ReflectorArgs::try_parse_from(reflector_flags).unwrap();
    let automation_args =
        AutomationArgs::try_parse_from(common("image-automation-controller")).unwrap();
    let process = |name: &'static str| {
        Arc::new(ControllerProcess {
            name,
            client: client.clone(),
            metrics: Metrics::new(),
            readiness: Readiness::default(),
        })
    };
    let reflector = eddy_image_automation::reflector::run::run_reconcilers(
        process("image-reflector-controller"),
        reflector_args,
        stop.clone(),
    );
    let automation = eddy_image_automation::automation::run::run_reconciler(
        process("image-automation-controller"),
        automation_args,
        stop.clone(),
    );
    let tasks = vec![
        tokio::spawn(async move {
            if let Err(error) = reflector.await {
                eprintln!("image-reflector-controller stopped: {error}");
            }
        }),
        tokio::spawn(async move {
            if let Err(error) = automation.await {
                eprintln!("image-automation-controller stopped: {error}");
            }
        }),
    ];
    ImageControllers {
        stop,
        tasks,
        _storage: storage,
    }
}

// ---------------------------------------------------------------------------------------------
// The config repository

pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The seed's examples (`examples/` of the workspace, a copy of the tutorial's).
pub fn seed_examples() -> PathBuf {
    workspace_root().join("examples")
}

/// The seed's config repository in a real Git repository, served by `git http-backend`.
pub struct ConfigRepo {
    _root: RepoRoot,
    pub repo: TestRepo,
    pub server: GitHttpServer,
    /// The branch commits are pushed to.
    pub branch: String,
}

impl ConfigRepo {
    /// The seed's `config-repo` as the first commit of `branch`.
    pub async fn seed(branch: &str) -> Self {
        Self::seed_with(branch, HttpServerOptions::default()).await
    }

    pub async fn seed_with(branch: &str, options: HttpServerOptions) -> Self {
        let root = RepoRoot::new().unwrap();
        let repo = root.create("config").unwrap();
        copy_dir(&seed_examples().join("config-repo"), &repo.work);
        let server = GitHttpServer::start(root.path(), options).await.unwrap();
        let config = Self {
            _root: root,
            repo,
            server,
            branch: branch.to_owned(),
        };
        config.commit("the seed's config repository");
        config
    }

    pub fn url(&self) -> String {
        self.server.url("config")
    }

    /// The revision of the working clone's HEAD, as source-controller names it.
    pub fn revision(&self) -> String {
        format!("{}@sha1:{}", self.branch, self.repo.head().unwrap())
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.repo.work.join(relative)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    pub fn write(&self, relative: &str, text: &str) {
        self.repo.write(relative, text).unwrap();
    }

    /// Rewrites a file, failing the test when `edit` changed nothing (a stale fixture).
    pub fn edit(&self, relative: &str, edit: impl FnOnce(&str) -> String) {
        let before = self.read(relative);
        let after = edit(&before);
        assert_ne!(before, after, "the edit of {relative} changed nothing");
        self.write(relative, &after);
    }

    pub fn remove(&self, relative: &str) {
        std::fs::remove_file(self.path(relative)).unwrap();
    }

    /// Copies a directory of the seed's examples into the repository at `to`.
    pub fn add_seed_dir(&self, example: &str, to: &str) {
        copy_dir(&seed_examples().join(example), &self.path(to));
    }

    /// Commits everything, pushes, and returns the revision as source-controller names it.
    pub fn commit(&self, message: &str) -> String {
        let sha = self.repo.commit_all(message).unwrap();
        self.repo.push(&format!("HEAD:{}", self.branch)).unwrap();
        format!("{}@sha1:{sha}", self.branch)
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A Slack-like service

/// One request a recording service received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

pub type Recordings = Arc<Mutex<Vec<Recorded>>>;

/// An HTTP server standing in for Slack's incoming webhooks: answers 200 and records every
/// request. Returns the webhook URL and the recordings.
pub async fn slack_like_service() -> (String, Recordings) {
    async fn record(
        State(seen): State<Recordings>,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        seen.lock().unwrap().push(Recorded {
            path: uri.path().to_owned(),
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        StatusCode::OK
    }
    let seen: Recordings = Arc::default();
    let router = Router::new().fallback(record).with_state(seen.clone());
    let addr = eddy_runtime::admin::spawn_server("127.0.0.1:0".parse().unwrap(), "slack", router)
        .await
        .unwrap();
    (format!("http://{addr}/services/T0/B0/x"), seen)
}

// ---------------------------------------------------------------------------------------------
// Tests that manage their own namespace (the CLI's): the same helpers as free functions

/// Helpers for a test holding a client, a namespace and a shard of its own rather than a
/// [`TestEnv`].
pub mod in_namespace {
    use super::*;

    pub fn kustomizations(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
        namespaced(client, ns, &kustomization_resource("v1"))
    }

    pub fn git_repositories(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
        namespaced(client, ns, &git_repository_resource("v1"))
    }

    /// Server-side applies `object` (apiVersion, kind, name and namespace set) with the shard
    /// label added.
    pub async fn apply(api: &Api<DynamicObject>, shard: &str, mut object: Value) {
        object["metadata"]["labels"][SHARD_LABEL] = json!(shard);
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&object),
        )
        .await
        .unwrap_or_else(|e| panic!("applying {name}: {e}"));
    }

    /// A GitRepository following `branch` of `url`, polled only every hour so that every fetch
    /// in a test is explained by a reconcile request.
    pub async fn create_git_repository(
        client: &kube::Client,
        ns: &str,
        shard: &str,
        name: &str,
        url: &str,
        branch: &str,
    ) {
        let object = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"url": url, "interval": "1h", "ref": {"branch": branch}},
        });
        apply(&git_repositories(client, ns), shard, object).await;
    }

    /// Waits until the Kustomization is Ready and has applied `revision`.
    pub async fn wait_applied(
        client: &kube::Client,
        ns: &str,
        name: &str,
        revision: &str,
    ) -> DynamicObject {
        let api = kustomizations(client, ns);
        wait_for(
            format!("Kustomization {ns}/{name} to apply {revision}"),
            TIMEOUT,
            async || {
                let object = api.get(name).await?;
                let applied = last_applied_revision(&object).as_deref() == Some(revision);
                Ok((applied && is_ready(&object)).then_some(object))
            },
        )
        .await
        .unwrap()
    }

    pub fn is_ready(object: &DynamicObject) -> bool {
        ready_condition(object).is_some_and(|ready| ready.status == "True")
    }

    /// Deletes the test's Flux objects while the controllers still run (they own the
    /// finalizers) and waits until they are gone.
    pub async fn delete_flux_objects(client: &kube::Client, ns: &str) {
        for api in [kustomizations(client, ns), git_repositories(client, ns)] {
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
                TIMEOUT,
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
}
