//! HelmRepository and HelmChart against a real chart repository: a directory where the real
//! `helm create`, `helm package` and `helm repo index` ran, served over HTTP behind basic auth.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod gitrepository_support;

use std::path::Path;
use std::time::Duration;

use eddy_api::source::{HelmChart, HelmRepository};
use eddy_test_support::helm::{ChartRepository, helm};
use eddy_test_support::{TestNamespace, install_crds};
use gitrepository_support::{RunningController, SHARD_LABEL, events_for, shard};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use sha2::Digest as _;

const USER: &str = "chartuser";
const PASSWORD: &str = "chartpass";

/// A repository with chart `demo` 0.1.0 and 0.2.0 (each carrying `prod.yaml`), indexed by helm.
fn chart_repository_dir(root: &Path) -> std::path::PathBuf {
    let repo = root.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    helm(root, &["create", "demo"]);
    std::fs::write(
        root.join("demo/prod.yaml"),
        "replicaCount: 3\nextra: prod\n",
    )
    .unwrap();
    for version in ["0.1.0", "0.2.0"] {
        helm(
            root,
            &["package", "demo", "--version", version, "-d", "repo"],
        );
    }
    helm(root, &["repo", "index", "repo"]);
    repo
}

async fn create<K>(api: &Api<K>, name: &str, shard: &str, spec: serde_json::Value)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let object: K = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": K::kind(&()),
        "metadata": {"name": name, "labels": {SHARD_LABEL: shard}},
        "spec": spec,
    }))
    .unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
}

/// Waits until `Ready` has `status` and the object's generation was observed; returns the object
/// and the Ready (reason, message).
async fn wait_ready_status<K>(
    api: &Api<K>,
    name: &str,
    status: &str,
    conditions: impl Fn(&K) -> Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>>,
) -> (K, String, String)
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let object = api.get(name).await.unwrap();
        let ready = conditions(&object)
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == "Ready" && c.observed_generation == object.meta().generation);
        if let Some(ready) = ready.as_ref()
            && ready.status == status
        {
            return (object, ready.reason.clone(), ready.message.clone());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} never became Ready={status}: {ready:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn repo_conditions(
    r: &HelmRepository,
) -> Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>> {
    r.status.as_ref().and_then(|s| s.conditions.clone())
}

fn chart_conditions(
    c: &HelmChart,
) -> Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>> {
    c.status.as_ref().and_then(|s| s.conditions.clone())
}

async fn fetch(url: &str) -> Vec<u8> {
    reqwest::get(url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn helm_repository_and_charts_from_a_real_chart_repository() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let ns = TestNamespace::new(&client, "sc-helm").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let repo_dir = chart_repository_dir(work.path());
    let server = ChartRepository::serve(&repo_dir, Some((USER, PASSWORD))).await;
    let storage = tempfile::tempdir().unwrap();
    let shard = shard("helm");
    let controller = RunningController::start(&client, storage.path(), &shard, &[])
        .await
        .unwrap();

    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    for (name, password) in [("auth", PASSWORD), ("wrong-auth", "nope")] {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name},
            "stringData": {"username": USER, "password": password},
        }))
        .unwrap();
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }

    // The repository: Ready with the index digest as revision, the index served as artifact.
    let repositories: Api<HelmRepository> = Api::namespaced(client.clone(), ns.name());
    create(
        &repositories,
        "charts",
        &shard,
        json!({"url": server.url(), "interval": "10m", "secretRef": {"name": "auth"}}),
    )
    .await;
    let (repository, reason, message) =
        wait_ready_status(&repositories, "charts", "True", repo_conditions).await;
    let index = std::fs::read(repo_dir.join("index.yaml")).unwrap();
    let revision = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&index)));
    let status = repository.status.unwrap();
    let artifact = status.artifact.unwrap();
    assert_eq!(reason, "Succeeded");
    assert_eq!(message, format!("stored artifact: revision '{revision}'"));
    assert_eq!(artifact.revision, revision);
    assert_eq!(fetch(&artifact.url).await, index);
    assert!(status.url.unwrap().ends_with("/index.yaml"));

    // A chart from it: the highest version, the archive helm packaged.
    let charts: Api<HelmChart> = Api::namespaced(client.clone(), ns.name());
    create(
        &charts,
        "demo",
        &shard,
        json!({"chart": "demo", "interval": "10m",
               "sourceRef": {"kind": "HelmRepository", "name": "charts"}}),
    )
    .await;
    let (chart, reason, message) =
        wait_ready_status(&charts, "demo", "True", chart_conditions).await;
    assert_eq!(reason, "ChartPullSucceeded");
    assert_eq!(message, "pulled 'demo' chart with version '0.2.0'");
    let artifact = chart.status.as_ref().unwrap().artifact.clone().unwrap();
    assert_eq!(artifact.revision, "0.2.0");
    assert!(artifact.path.ends_with("/demo-0.2.0.tgz"));
    let packaged = std::fs::read(repo_dir.join("demo-0.2.0.tgz")).unwrap();
    assert_eq!(fetch(&artifact.url).await, packaged);

    // valuesFiles merged in order; the revision carries the generation.
    create(
        &charts,
        "demo-prod",
        &shard,
        json!({"chart": "demo", "version": "0.1.x", "interval": "10m",
               "valuesFiles": ["values.yaml", "prod.yaml"],
               "sourceRef": {"kind": "HelmRepository", "name": "charts"}}),
    )
    .await;
    let (chart, _, message) =
        wait_ready_status(&charts, "demo-prod", "True", chart_conditions).await;
    assert_eq!(
        message,
        "pulled 'demo' chart with version '0.1.0+1' and merged values files [values.yaml prod.yaml]"
    );
    let artifact = chart.status.unwrap().artifact.unwrap();
    let archive = fetch(&artifact.url).await;
    std::fs::write(work.path().join("merged.tgz"), &archive).unwrap();
    let values = helm(work.path(), &["show", "values", "merged.tgz"]);
    assert!(
        values.contains("replicaCount: 3") && values.contains("extra: prod"),
        "{values}"
    );
    assert!(
        values.contains("repository: nginx"),
        "values.yaml kept under prod.yaml: {values}"
    );

    // Bad input, each Ready=False with Flux's reason and an event.
    create(
        &charts,
        "no-match",
        &shard,
        json!({"chart": "demo", "version": ">=9.0.0", "interval": "10m",
               "sourceRef": {"kind": "HelmRepository", "name": "charts"}}),
    )
    .await;
    let (_, reason, message) =
        wait_ready_status(&charts, "no-match", "False", chart_conditions).await;
    assert_eq!(reason, "InvalidChartReference");
    assert!(
        message.contains("no 'demo' chart with version matching '>=9.0.0'"),
        "{message}"
    );

    create(
        &charts,
        "missing-values",
        &shard,
        json!({"chart": "demo", "interval": "10m", "valuesFiles": ["absent.yaml"],
               "sourceRef": {"kind": "HelmRepository", "name": "charts"}}),
    )
    .await;
    let (_, reason, message) =
        wait_ready_status(&charts, "missing-values", "False", chart_conditions).await;
    assert_eq!(reason, "ValuesFilesError");
    assert!(message.contains("'absent.yaml'"), "{message}");
    let events = events_for(&client, ns.name(), "missing-values")
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|(reason, ..)| reason == "ValuesFilesError"),
        "{events:?}"
    );
    charts
        .patch(
            "missing-values",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"ignoreMissingValuesFiles": true}})),
        )
        .await
        .unwrap();
    let (_, reason, _) =
        wait_ready_status(&charts, "missing-values", "True", chart_conditions).await;
    assert_eq!(reason, "ChartPullSucceeded");

    create(
        &repositories,
        "wrong-credentials",
        &shard,
        json!({"url": server.url(), "interval": "10m", "secretRef": {"name": "wrong-auth"}}),
    )
    .await;
    let (_, reason, message) =
        wait_ready_status(&repositories, "wrong-credentials", "False", repo_conditions).await;
    assert_eq!(reason, "IndexationFailed");
    assert!(message.contains("401"), "{message}");

    create(
        &repositories,
        "unreachable",
        &shard,
        json!({"url": "http://127.0.0.1:9/charts", "interval": "10m"}),
    )
    .await;
    let (_, reason, message) =
        wait_ready_status(&repositories, "unreachable", "False", repo_conditions).await;
    assert_eq!(reason, "IndexationFailed");
    assert!(message.contains("127.0.0.1:9"), "{message}");

    controller.stop().await;
}

/// Index that is not YAML, an entry URL that escapes, a chart larger than the limit: each fails
/// with the previous artifact still served.
#[tokio::test(flavor = "multi_thread")]
async fn broken_indexes_and_archives_keep_the_previous_artifact() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let ns = TestNamespace::new(&client, "sc-helm-bad").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let repo_dir = chart_repository_dir(work.path());
    // Served one level up, so the repository URL has a path an entry could climb out of.
    let server = ChartRepository::serve(work.path(), None).await;
    let repository_url = format!("{}/repo", server.url());
    let storage = tempfile::tempdir().unwrap();
    let shard = shard("helm-bad");
    let controller = RunningController::start(
        &client,
        storage.path(),
        &shard,
        &["--helm-chart-max-size", "4096"],
    )
    .await
    .unwrap();
    let repositories: Api<HelmRepository> = Api::namespaced(client.clone(), ns.name());
    create(
        &repositories,
        "charts",
        &shard,
        json!({"url": repository_url, "interval": "1s"}),
    )
    .await;
    let (repository, ..) =
        wait_ready_status(&repositories, "charts", "True", repo_conditions).await;
    let good = repository.status.unwrap().artifact.unwrap();

    // The packaged chart is larger than 4096 bytes: ChartPullError naming the limit.
    let charts: Api<HelmChart> = Api::namespaced(client.clone(), ns.name());
    create(
        &charts,
        "too-large",
        &shard,
        json!({"chart": "demo", "interval": "10m",
               "sourceRef": {"kind": "HelmRepository", "name": "charts"}}),
    )
    .await;
    let (_, reason, message) =
        wait_ready_status(&charts, "too-large", "False", chart_conditions).await;
    assert_eq!(reason, "ChartPullError");
    assert!(
        message.contains("larger than the limit of 4096 bytes"),
        "{message}"
    );

    // An entry whose URL climbs out of the repository.
    let index = std::fs::read_to_string(repo_dir.join("index.yaml")).unwrap();
    std::fs::write(
        repo_dir.join("index.yaml"),
        index.replace("- demo-0.2.0.tgz", "- ../../etc/demo-0.2.0.tgz"),
    )
    .unwrap();
    let (repository, ..) = loop {
        let got = wait_ready_status(&repositories, "charts", "True", repo_conditions).await;
        if got
            .0
            .status
            .as_ref()
            .unwrap()
            .artifact
            .as_ref()
            .unwrap()
            .revision
            != good.revision
        {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let escaped = repository.status.unwrap().artifact.unwrap();
    create(
        &charts,
        "escaping",
        &shard,
        json!({"chart": "demo", "interval": "10m",
               "sourceRef": {"kind": "HelmRepository", "name": "charts"}}),
    )
    .await;
    let (_, reason, message) =
        wait_ready_status(&charts, "escaping", "False", chart_conditions).await;
    assert_eq!(reason, "ChartPullError");
    assert!(message.contains("escapes the repository URL"), "{message}");

    // The index stops being YAML: IndexationFailed, the last good index still served.
    std::fs::write(
        repo_dir.join("index.yaml"),
        "apiVersion: v1\nentries: [\n  : :",
    )
    .unwrap();
    let (repository, reason, message) =
        wait_ready_status(&repositories, "charts", "False", repo_conditions).await;
    assert_eq!(reason, "IndexationFailed");
    assert!(message.contains("not valid YAML"), "{message}");
    let kept = repository.status.unwrap().artifact.unwrap();
    assert_eq!(kept.revision, escaped.revision);
    assert!(reqwest::get(&kept.url).await.unwrap().status().is_success());
    controller.stop().await;
}

/// A chart packaged from a GitRepository path: a `file://` dependency built into `charts/`,
/// values files from the repository root, and the `Revision` strategy's `+<commit>` version.
#[tokio::test(flavor = "multi_thread")]
async fn charts_packaged_from_a_git_repository() {
    use eddy_api::source::GitRepository;
    use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot};

    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let ns = TestNamespace::new(&client, "sc-helm-git").await.unwrap();
    let root = RepoRoot::new().unwrap();
    let repo = root.create("charts").unwrap();
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 1.4.0\ndependencies:\n- name: sub\n  version: 0.1.0\n  repository: file://../sub\n",
    )
    .unwrap();
    repo.write("charts/app/values.yaml", "greeting: hello\n")
        .unwrap();
    repo.write(
        "charts/app/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  greeting: {{ .Values.greeting }}\n",
    )
    .unwrap();
    repo.write(
        "charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    )
    .unwrap();
    repo.write(
        "charts/sub/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\n",
    )
    .unwrap();
    repo.write("env/prod.yaml", "greeting: prod\n").unwrap();
    let commit = repo.commit_all("charts").unwrap();
    repo.push("master").unwrap();
    let server = GitHttpServer::start(root.path(), HttpServerOptions::default())
        .await
        .unwrap();

    let storage = tempfile::tempdir().unwrap();
    let shard = shard("helm-git");
    let controller = RunningController::start(&client, storage.path(), &shard, &[])
        .await
        .unwrap();
    let gits: Api<GitRepository> = Api::namespaced(client.clone(), ns.name());
    create(
        &gits,
        "charts",
        &shard,
        json!({"url": server.url("charts"), "interval": "10m", "ref": {"branch": "master"}}),
    )
    .await;
    let charts: Api<HelmChart> = Api::namespaced(client.clone(), ns.name());
    create(
        &charts,
        "app",
        &shard,
        json!({"chart": "./charts/app", "interval": "10m", "reconcileStrategy": "Revision",
               "valuesFiles": ["charts/app/values.yaml", "env/prod.yaml"],
               "sourceRef": {"kind": "GitRepository", "name": "charts"}}),
    )
    .await;
    let (chart, reason, message) =
        wait_ready_status(&charts, "app", "True", chart_conditions).await;
    let version = format!("1.4.0+{}", &commit[..12]);
    assert_eq!(reason, "ChartPackageSucceeded");
    assert_eq!(
        message,
        format!(
            "packaged 'app' chart with version '{version}' and merged values files [charts/app/values.yaml env/prod.yaml]"
        )
    );
    let status = chart.status.unwrap();
    assert_eq!(status.artifact.as_ref().unwrap().revision, version);
    assert_eq!(
        status.observed_source_artifact_revision.as_deref(),
        Some(format!("master@sha1:{commit}").as_str())
    );
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("app.tgz"),
        fetch(&status.artifact.unwrap().url).await,
    )
    .unwrap();
    // The real helm renders the package: merged values and the built dependency.
    let rendered = helm(work.path(), &["template", "rel", "app.tgz"]);
    assert!(rendered.contains("greeting: prod"), "{rendered}");
    assert!(rendered.contains("name: sub"), "{rendered}");
    controller.stop().await;
}
