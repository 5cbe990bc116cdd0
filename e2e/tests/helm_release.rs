//! End-to-end (issue #17): the tutorial's `helm.toolkit.fluxcd.io/v2beta1` HelmRelease as
//! written, its chart `myapp` served by a real chart repository (packaged and indexed by the
//! real `helm`), fetched by the real source-controller through the HelmChart helm-controller
//! creates, and released by helm-controller — both in-process against the testenv. The real
//! `helm` reads the release Eddy stored.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::{path::Path, time::Duration};

use clap::Parser;
use eddy_e2e::SHARD_LABEL;
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use eddy_test_support::{
    TestNamespace,
    helm::{ChartRepository, helm},
    install_crds, wait_for,
};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{Secret, Service},
};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const TIMEOUT: Duration = Duration::from_secs(120);

/// `../shared/seed/examples/helmrelease-v2beta1.yaml`, as the tutorial writes it.
const TUTORIAL: &str = r#"apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata:
  name: myapp
  namespace: production
spec:
  interval: 5m
  chart:
    spec:
      chart: myapp
      sourceRef:
        kind: HelmRepository
        name: my-charts
      version: "1.0.0"
  values:
    replicaCount: 3
    image:
      tag: "1.0.0"
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    app: {{ .Chart.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app: {{ .Chart.Name }}
  template:
    metadata:
      labels:
        app: {{ .Chart.Name }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports:
            - containerPort: 8080
"#;

const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    app: {{ .Chart.Name }}
  ports:
    - port: 80
      targetPort: 8080
"#;

/// `myapp` 1.0.0 (Deployment + Service) and 2.0.0 (a template that does not render), packaged
/// and indexed by the real helm.
fn chart_repository(root: &Path) -> std::path::PathBuf {
    let chart = root.join("myapp");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: myapp\nversion: 1.0.0\nappVersion: \"1.0.0\"\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("values.yaml"),
        "replicaCount: 1\nimage:\n  repository: ghcr.io/example/myapp\n  tag: latest\n",
    )
    .unwrap();
    std::fs::write(chart.join("templates/deployment.yaml"), DEPLOYMENT).unwrap();
    std::fs::write(chart.join("templates/service.yaml"), SERVICE).unwrap();
    let repo = root.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    helm(
        root,
        &["package", "myapp", "--version", "1.0.0", "-d", "repo"],
    );
    std::fs::write(
        chart.join("templates/broken.yaml"),
        "data: {{ .Values.replicaCount | nosuchfunction }}\n",
    )
    .unwrap();
    // helm lints nothing when packaging, so the broken template ships.
    helm(
        root,
        &["package", "myapp", "--version", "2.0.0", "-d", "repo"],
    );
    helm(root, &["repo", "index", "repo"]);
    repo
}

struct Controllers {
    stop: CancellationToken,
    _cache: tempfile::TempDir,
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn start_controllers(client: &kube::Client, shard: &str) -> Controllers {
    eddy_runtime::tls::install_crypto_provider();
    let stop = CancellationToken::new();
    let cache = tempfile::tempdir().unwrap();
    let selector = format!("--watch-label-selector={SHARD_LABEL}={shard}");
    let source_args = source_controller::args::Args::try_parse_from([
        "source-controller".to_owned(),
        "--storage-addr=127.0.0.1:0".into(),
        "--metrics-addr=127.0.0.1:0".into(),
        "--health-addr=127.0.0.1:0".into(),
        "--log-encoding=console".into(),
        "--min-retry-delay=200ms".into(),
        "--max-retry-delay=5s".into(),
        "--events-addr=".into(),
        selector.clone(),
        format!("--storage-path={}", cache.path().join("storage").display()),
    ])
    .unwrap();
    let source_client = client.clone();
    let source_stop = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            result = source_controller::run_with_client(source_args, Some(source_client)) => {
                if let Err(error) = result {
                    eprintln!("source-controller stopped: {error}");
                }
            }
            () = source_stop.cancelled() => {}
        }
    });
    let helm_args = helm_controller::Args::try_parse_from([
        "helm-controller".to_owned(),
        "--log-encoding=console".into(),
        "--requeue-dependency=1s".into(),
        "--min-retry-delay=200ms".into(),
        "--max-retry-delay=5s".into(),
        "--events-addr=".into(),
        selector,
        format!(
            "--artifact-cache-path={}",
            cache.path().join("helm-cache").display()
        ),
    ])
    .unwrap();
    let process = ControllerProcess {
        name: helm_controller::CONTROLLER_NAME,
        client: client.clone(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    };
    let token = stop.child_token();
    tokio::spawn(async move {
        if let Err(error) = helm_controller::run_with(&process, &helm_args, token).await {
            eprintln!("helm-controller stopped: {error}");
        }
    });
    Controllers {
        stop,
        _cache: cache,
    }
}

fn resource(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// The Ready condition's (status, reason, message) once it reports the current generation.
fn ready(object: &DynamicObject) -> Option<(String, String, String)> {
    let generation = object.metadata.generation?;
    let conditions = object.data.pointer("/status/conditions")?.as_array()?;
    let ready = conditions.iter().find(|c| c["type"] == "Ready")?;
    if ready["observedGeneration"].as_i64() != Some(generation) {
        return None;
    }
    let text = |key: &str| ready[key].as_str().unwrap_or_default().to_owned();
    Some((text("status"), text("reason"), text("message")))
}

async fn wait_ready_with(
    api: &Api<DynamicObject>,
    name: &str,
    wanted: impl Fn(&(String, String, String)) -> bool,
) -> (DynamicObject, (String, String, String)) {
    let mut last = None;
    let found = wait_for(format!("HelmRelease {name}"), TIMEOUT, async || {
        let object = api.get(name).await?;
        let condition = ready(&object);
        last = condition.clone();
        Ok(condition.filter(&wanted).map(|c| (object, c)))
    })
    .await;
    found.unwrap_or_else(|error| panic!("{error}; last Ready: {last:?}"))
}

fn container_image(deployment: &Deployment) -> String {
    deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .image
        .clone()
        .unwrap()
}

fn replicas(deployment: &Deployment) -> i32 {
    deployment.spec.as_ref().unwrap().replicas.unwrap()
}

async fn release_secrets(secrets: &Api<Secret>) -> Vec<(String, String)> {
    let list = secrets
        .list(&kube::api::ListParams::default().labels("owner=helm,name=myapp"))
        .await
        .unwrap();
    let mut found: Vec<(String, String)> = list
        .items
        .into_iter()
        .map(|s| {
            let status = s.metadata.labels.unwrap_or_default()["status"].clone();
            (s.metadata.name.unwrap(), status)
        })
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tutorial_helm_release_installs_upgrades_refuses_a_broken_chart_and_uninstalls() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "hr-tutorial").await.unwrap();
    let ns = namespace.name().to_owned();
    let work = tempfile::tempdir().unwrap();
    let repo = chart_repository(work.path());
    let server = ChartRepository::serve(&repo, None).await;
    let controllers = start_controllers(&client, &ns).await;
    let params = PatchParams::apply("e2e-test").force();

    let repositories = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &resource("source.toolkit.fluxcd.io", "v1", "HelmRepository"),
    );
    let repository = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": "my-charts", "namespace": ns, "labels": {SHARD_LABEL: ns}},
        "spec": {"url": server.url(), "interval": "1h"},
    });
    repositories
        .patch("my-charts", &params, &Patch::Apply(&repository))
        .await
        .unwrap();

    // The tutorial's object as written; only the namespace and the shard labels a shared
    // control plane needs (on the object, and on the HelmChart it makes) are added.
    let mut release: Value = serde_yaml_ng::from_str(TUTORIAL).unwrap();
    release["metadata"]["namespace"] = json!(ns);
    release["metadata"]["labels"] = json!({SHARD_LABEL: ns});
    release["spec"]["chart"]["metadata"] = json!({"labels": {SHARD_LABEL: ns}});
    let releases = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &resource("helm.toolkit.fluxcd.io", "v2beta1", "HelmRelease"),
    );
    releases
        .patch("myapp", &params, &Patch::Apply(&release))
        .await
        .unwrap();

    // 1. Installed: Ready, release v1 deployed, 3 replicas of tag 1.0.0.
    let (hr, (_, reason, message)) = wait_ready_with(&releases, "myapp", |c| c.0 == "True").await;
    assert_eq!(reason, "InstallSucceeded");
    assert_eq!(
        message,
        format!("Helm install succeeded for release {ns}/myapp.v1 with chart myapp@1.0.0")
    );
    assert_eq!(hr.data["status"]["helmChart"], format!("{ns}/{ns}-myapp"));
    assert_eq!(hr.data["status"]["history"][0]["version"], 1);
    assert_eq!(hr.data["status"]["history"][0]["status"], "deployed");
    assert_eq!(hr.data["status"]["history"][0]["chartVersion"], "1.0.0");
    assert_eq!(hr.data["status"]["lastAttemptedReleaseAction"], "install");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    assert_eq!(
        release_secrets(&secrets).await,
        [(
            "sh.helm.release.v1.myapp.v1".to_owned(),
            "deployed".to_owned()
        )]
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let deployment = deployments.get("myapp").await.unwrap();
    assert_eq!(replicas(&deployment), 3);
    assert_eq!(container_image(&deployment), "ghcr.io/example/myapp:1.0.0");
    let labels = deployment.metadata.labels.clone().unwrap();
    assert_eq!(labels["helm.toolkit.fluxcd.io/name"], "myapp");
    assert_eq!(labels["helm.toolkit.fluxcd.io/namespace"], ns);
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    services.get("myapp").await.unwrap();

    // 2. A values change upgrades: v2 deployed, v1 superseded.
    let values = json!({"spec": {"values": {"replicaCount": 2, "image": {"tag": "1.0.0"}}}});
    releases
        .patch("myapp", &PatchParams::default(), &Patch::Merge(&values))
        .await
        .unwrap();
    let (_, (_, _, message)) = wait_ready_with(&releases, "myapp", |c| {
        c.0 == "True" && c.1 == "UpgradeSucceeded"
    })
    .await;
    assert_eq!(
        message,
        format!("Helm upgrade succeeded for release {ns}/myapp.v2 with chart myapp@1.0.0")
    );
    assert_eq!(replicas(&deployments.get("myapp").await.unwrap()), 2);
    assert_eq!(
        release_secrets(&secrets).await,
        [
            (
                "sh.helm.release.v1.myapp.v1".to_owned(),
                "superseded".to_owned()
            ),
            (
                "sh.helm.release.v1.myapp.v2".to_owned(),
                "deployed".to_owned()
            ),
        ]
    );

    // 3. The real helm reads Eddy's release.
    let kubeconfig = eddy_testenv::kubeconfig_path().unwrap();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let list = helm(
        work.path(),
        &["list", "-n", &ns, "--kubeconfig", kubeconfig, "-o", "json"],
    );
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["name"], "myapp");
    assert_eq!(list[0]["revision"], "2");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "myapp-1.0.0");
    let values = helm(
        work.path(),
        &[
            "get",
            "values",
            "myapp",
            "-n",
            &ns,
            "--kubeconfig",
            kubeconfig,
            "-o",
            "json",
        ],
    );
    let values: Value = serde_json::from_str(&values).unwrap();
    assert_eq!(
        values,
        json!({"replicaCount": 2, "image": {"tag": "1.0.0"}})
    );
    let history = helm(
        work.path(),
        &[
            "history",
            "myapp",
            "-n",
            &ns,
            "--kubeconfig",
            kubeconfig,
            "-o",
            "json",
        ],
    );
    let history: Value = serde_json::from_str(&history).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "deployed"]);

    // 4. A chart that does not render: Ready=False naming the template, nothing applied.
    let broken = json!({"spec": {"chart": {"spec": {"version": "2.0.0"}}}});
    releases
        .patch("myapp", &PatchParams::default(), &Patch::Merge(&broken))
        .await
        .unwrap();
    let (_, (_, reason, message)) = wait_ready_with(&releases, "myapp", |c| {
        c.0 == "False" && c.1 == "UpgradeFailed"
    })
    .await;
    assert!(
        message.contains("myapp/templates/broken.yaml") && message.contains("nosuchfunction"),
        "{message}"
    );
    assert_eq!(reason, "UpgradeFailed");
    assert_eq!(replicas(&deployments.get("myapp").await.unwrap()), 2);
    assert_eq!(
        release_secrets(&secrets).await.len(),
        2,
        "a failed render stores nothing"
    );

    // 5. Deletion uninstalls: objects, release records and the HelmChart go.
    releases
        .delete("myapp", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("the HelmRelease to be finalized", TIMEOUT, async || {
        Ok(releases.get_opt("myapp").await?.is_none().then_some(()))
    })
    .await
    .unwrap();
    assert!(release_secrets(&secrets).await.is_empty());
    assert!(services.get_opt("myapp").await.unwrap().is_none());
    let gone = deployments.get_opt("myapp").await.unwrap();
    assert!(
        gone.is_none() || gone.unwrap().metadata.deletion_timestamp.is_some(),
        "the Deployment was not uninstalled"
    );
    let charts = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &resource("source.toolkit.fluxcd.io", "v1", "HelmChart"),
    );
    wait_for("the HelmChart to be deleted", TIMEOUT, async || {
        Ok(charts
            .get_opt(&format!("{ns}-myapp"))
            .await?
            .is_none()
            .then_some(()))
    })
    .await
    .unwrap();
    repositories
        .delete("my-charts", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("the HelmRepository to be finalized", TIMEOUT, async || {
        Ok(repositories
            .get_opt("my-charts")
            .await?
            .is_none()
            .then_some(()))
    })
    .await
    .unwrap();
    drop(controllers);
    namespace.cleanup().await.unwrap();
}
