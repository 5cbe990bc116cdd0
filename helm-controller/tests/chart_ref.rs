//! helm-controller alone on the testenv, with a `chartRef` to a HelmChart whose artifact the
//! test serves itself: values from a ConfigMap and a Secret (`targetPath`), a release a crashed
//! run left `pending-upgrade` unlocked and upgraded, and refusals (a field Eddy cannot act on,
//! a chart with hooks) before anything is released.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::time::Duration;

use clap::Parser;
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use eddy_test_support::{
    TestNamespace,
    artifact_server::{ArtifactServer, write_text_tarball},
    install_crds, wait_for,
};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const SHARD: &str = "eddy.test/shard";
const TIMEOUT: Duration = Duration::from_secs(90);

const CHART_YAML: &str = "apiVersion: v2\nname: myapp\nversion: 1.0.0\n";
const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  token: {{ .Values.auth.token | quote }}\n  size: {{ .Values.size | quote }}\n";
const HOOK: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n";

fn resource(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// A HelmChart whose `status.artifact` points at `file` on `server` (nothing reconciles it).
async fn helm_chart_with_artifact(
    client: &kube::Client,
    ns: &str,
    name: &str,
    server: &ArtifactServer,
    file: &str,
    digest: &str,
) {
    let charts = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        ns,
        &resource("source.toolkit.fluxcd.io", "v1", "HelmChart"),
    );
    let chart = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"chart": "myapp", "interval": "1h",
                 "sourceRef": {"kind": "HelmRepository", "name": "unused"}},
    });
    let params = PatchParams::apply("chart-ref-test").force();
    charts
        .patch(name, &params, &Patch::Apply(&chart))
        .await
        .unwrap();
    let status = json!({"status": {"artifact": {
        "path": format!("helmchart/{ns}/{name}/{file}"),
        "url": server.url(file),
        "revision": "1.0.0",
        "digest": digest,
        "lastUpdateTime": "2026-01-01T00:00:00Z",
    }}});
    charts
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

fn start_controller(client: &kube::Client, ns: &str, cache: &std::path::Path) -> CancellationToken {
    eddy_runtime::tls::install_crypto_provider();
    let args = helm_controller::Args::try_parse_from([
        "helm-controller".to_owned(),
        "--log-encoding=console".into(),
        "--requeue-dependency=1s".into(),
        "--min-retry-delay=200ms".into(),
        "--max-retry-delay=5s".into(),
        "--events-addr=".into(),
        format!("--watch-label-selector={SHARD}={ns}"),
        format!("--artifact-cache-path={}", cache.display()),
    ])
    .unwrap();
    let process = ControllerProcess {
        name: helm_controller::CONTROLLER_NAME,
        client: client.clone(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    };
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        if let Err(error) = helm_controller::run_with(&process, &args, token).await {
            eprintln!("helm-controller stopped: {error}");
        }
    });
    stop
}

fn condition(object: &DynamicObject, type_: &str) -> Option<(String, String, String)> {
    let generation = object.metadata.generation?;
    let conditions = object.data.pointer("/status/conditions")?.as_array()?;
    let found = conditions.iter().find(|c| c["type"] == type_)?;
    if found["observedGeneration"].as_i64() != Some(generation) {
        return None;
    }
    let text = |key: &str| found[key].as_str().unwrap_or_default().to_owned();
    Some((text("status"), text("reason"), text("message")))
}

async fn wait_condition(
    api: &Api<DynamicObject>,
    name: &str,
    type_: &str,
    wanted: impl Fn(&(String, String, String)) -> bool,
) -> DynamicObject {
    let mut last = None;
    let result = wait_for(format!("{type_} of {name}"), TIMEOUT, async || {
        let object = api.get(name).await?;
        last = condition(&object, type_);
        Ok(last.clone().filter(&wanted).map(|_| object))
    })
    .await;
    result.unwrap_or_else(|error| panic!("{error}; last {type_}: {last:?}"))
}

fn helm_release(ns: &str, name: &str, chart: &str, extra: Value) -> Value {
    let mut release = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": ns, "labels": {SHARD: ns}},
        "spec": {"interval": "1h", "chartRef": {"kind": "HelmChart", "name": chart}},
    });
    if let (Some(spec), Some(extra)) = (release["spec"].as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    release
}

#[tokio::test(flavor = "multi_thread")]
async fn values_from_references_unlock_and_refusals() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "hc-chartref").await.unwrap();
    let ns = namespace.name().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let server = ArtifactServer::start(dir.path()).await;
    let (digest, _) = write_text_tarball(
        &dir.path().join("myapp-1.0.0.tgz"),
        &[
            ("myapp/Chart.yaml", CHART_YAML),
            (
                "myapp/values.yaml",
                "greeting: default\nsize: small\nauth:\n  token: none\n",
            ),
            ("myapp/templates/settings.yaml", CONFIG_MAP),
        ],
    );
    helm_chart_with_artifact(&client, &ns, "myapp", &server, "myapp-1.0.0.tgz", &digest).await;
    let (hooked_digest, _) = write_text_tarball(
        &dir.path().join("hooked-1.0.0.tgz"),
        &[
            ("myapp/Chart.yaml", CHART_YAML),
            ("myapp/values.yaml", "auth:\n  token: none\n"),
            ("myapp/templates/settings.yaml", CONFIG_MAP),
            ("myapp/templates/hook.yaml", HOOK),
        ],
    );
    helm_chart_with_artifact(
        &client,
        &ns,
        "hooked",
        &server,
        "hooked-1.0.0.tgz",
        &hooked_digest,
    )
    .await;
    let cache = tempfile::tempdir().unwrap();
    let stop = start_controller(&client, &ns, cache.path());

    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let values: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "values"},
        "data": {"values.yaml": "greeting: from-configmap\nsize: large\n"},
    }))
    .unwrap();
    config_maps
        .create(&PostParams::default(), &values)
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let token: Secret = serde_json::from_value(json!({
        "metadata": {"name": "token"},
        "stringData": {"token": "s3cret"},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &token)
        .await
        .unwrap();

    let releases = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &resource("helm.toolkit.fluxcd.io", "v2", "HelmRelease"),
    );
    let params = PatchParams::apply("chart-ref-test").force();
    let spec = json!({
        "valuesFrom": [
            {"kind": "ConfigMap", "name": "values"},
            {"kind": "Secret", "name": "token", "valuesKey": "token", "targetPath": "auth.token"},
        ],
        "values": {"greeting": "inline"},
    });
    releases
        .patch(
            "app",
            &params,
            &Patch::Apply(helm_release(&ns, "app", "myapp", spec)),
        )
        .await
        .unwrap();

    // Values: ConfigMap, then inline over it, the Secret at its targetPath.
    let hr = wait_condition(&releases, "app", "Ready", |c| c.0 == "True").await;
    let settings = config_maps.get("app-settings").await.unwrap();
    let data = settings.data.unwrap();
    assert_eq!(
        (
            data["greeting"].as_str(),
            data["size"].as_str(),
            data["token"].as_str()
        ),
        ("inline", "large", "s3cret")
    );
    let status = &hr.data["status"];
    assert_eq!(status["helmChart"], format!("{ns}/myapp"));
    assert_eq!(
        status["history"][0]["configDigest"],
        status["lastAttemptedConfigDigest"]
    );
    assert_eq!(status["storageNamespace"], ns.as_str());
    let released = condition(&hr, "Released").unwrap();
    assert_eq!(
        (released.0.as_str(), released.1.as_str()),
        ("True", "InstallSucceeded")
    );

    // A values change upgrades to v2.
    let second = json!({"spec": {"values": {"greeting": "second"}}});
    releases
        .patch("app", &PatchParams::default(), &Patch::Merge(&second))
        .await
        .unwrap();
    wait_condition(&releases, "app", "Ready", |c| {
        c.0 == "True" && c.2.ends_with("app.v2 with chart myapp@1.0.0")
    })
    .await;

    // A run that crashed mid-upgrade left v2 `pending-upgrade`: it is unlocked, then upgraded.
    let stored = secrets.get("sh.helm.release.v1.app.v2").await.unwrap();
    let mut release = eddy_helm_release::from_secret(&stored).unwrap();
    release.info.status = eddy_helm_release::Status::PendingUpgrade;
    let mut stale =
        eddy_helm_release::to_secret(&release, eddy_helm_release::Write::Update, 0).unwrap();
    stale.metadata.namespace = Some(ns.clone());
    stale.metadata.resource_version = stored.metadata.resource_version.clone();
    secrets
        .replace("sh.helm.release.v1.app.v2", &PostParams::default(), &stale)
        .await
        .unwrap();
    let request =
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "unlock"}}});
    releases
        .patch("app", &PatchParams::default(), &Patch::Merge(&request))
        .await
        .unwrap();
    wait_condition(&releases, "app", "Ready", |c| {
        c.0 == "True" && c.2.ends_with("app.v3 with chart myapp@1.0.0")
    })
    .await;
    let read = async |version: u32| {
        let secret = secrets
            .get(&format!("sh.helm.release.v1.app.v{version}"))
            .await
            .unwrap();
        eddy_helm_release::from_secret(&secret).unwrap()
    };
    let unlocked = read(2).await;
    assert_eq!(unlocked.info.status, eddy_helm_release::Status::Failed);
    assert_eq!(
        unlocked.info.description,
        "Release unlocked from stale 'pending-upgrade' state"
    );
    assert_eq!(
        read(1).await.info.status,
        eddy_helm_release::Status::Superseded
    );
    assert_eq!(
        read(3).await.info.status,
        eddy_helm_release::Status::Deployed
    );

    // A field Eddy cannot act on: stalled before anything is read or released.
    let refused =
        json!({"postRenderers": [{"kustomize": {"images": [{"name": "a", "newTag": "b"}]}}]});
    releases
        .patch(
            "refused",
            &params,
            &Patch::Apply(helm_release(&ns, "refused", "myapp", refused)),
        )
        .await
        .unwrap();
    let hr = wait_condition(&releases, "refused", "Ready", |c| c.0 == "False").await;
    assert_eq!(
        condition(&hr, "Ready").unwrap().2,
        "spec.postRenderers is not supported yet"
    );
    assert_eq!(condition(&hr, "Stalled").unwrap().1, "NotSupported");

    // Hooks are refused rather than skipped, unless disabled.
    releases
        .patch(
            "hooked",
            &params,
            &Patch::Apply(helm_release(&ns, "hooked", "hooked", json!({}))),
        )
        .await
        .unwrap();
    let hr = wait_condition(&releases, "hooked", "Stalled", |c| c.0 == "True").await;
    let (_, reason, message) = condition(&hr, "Ready").unwrap();
    assert_eq!(reason, "NotSupported");
    assert!(
        message.starts_with("Helm hooks are not supported yet"),
        "{message}"
    );
    assert!(message.contains("myapp/templates/hook.yaml"), "{message}");
    let stored = secrets
        .list(&ListParams::default().labels("owner=helm,name=hooked"))
        .await
        .unwrap();
    assert!(
        stored.items.is_empty(),
        "nothing is stored for a refused release"
    );
    let disabled = json!({"install": {"disableHooks": true}});
    releases
        .patch(
            "hooked",
            &params,
            &Patch::Apply(helm_release(&ns, "hooked", "hooked", disabled)),
        )
        .await
        .unwrap();
    wait_condition(&releases, "hooked", "Ready", |c| c.0 == "True").await;
    assert!(
        config_maps.get_opt("migrate").await.unwrap().is_none(),
        "a disabled hook ran"
    );

    // Deleting releases everything: the controller uninstalls before letting go.
    for name in ["app", "refused", "hooked"] {
        releases.delete(name, &Default::default()).await.unwrap();
    }
    wait_for("the HelmReleases to be finalized", TIMEOUT, async || {
        Ok(releases
            .list(&ListParams::default())
            .await?
            .items
            .is_empty()
            .then_some(()))
    })
    .await
    .unwrap();
    assert!(config_maps.get_opt("app-settings").await.unwrap().is_none());
    stop.cancel();
    namespace.cleanup().await.unwrap();
}

const BAD_CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  - not a map\n";

/// An upgrade the API server refuses is rolled back while retries remain, retried at the
/// interval, and stalled once they are used up; the rollback re-deploys the last good manifest.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_upgrade_rolls_back_and_stalls_after_its_retries() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "hc-rollback").await.unwrap();
    let ns = namespace.name().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let server = ArtifactServer::start(dir.path()).await;
    let (good, _) = write_text_tarball(
        &dir.path().join("good.tgz"),
        &[
            ("myapp/Chart.yaml", CHART_YAML),
            (
                "myapp/values.yaml",
                "greeting: hi\nsize: s\nauth:\n  token: t\n",
            ),
            ("myapp/templates/settings.yaml", CONFIG_MAP),
        ],
    );
    helm_chart_with_artifact(&client, &ns, "rb", &server, "good.tgz", &good).await;
    let cache = tempfile::tempdir().unwrap();
    let stop = start_controller(&client, &ns, cache.path());
    let releases = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &resource("helm.toolkit.fluxcd.io", "v2", "HelmRelease"),
    );
    let spec = json!({"interval": "2s", "upgrade": {"remediation": {"retries": 1}}});
    releases
        .patch(
            "rb",
            &PatchParams::apply("chart-ref-test").force(),
            &Patch::Apply(helm_release(&ns, "rb", "rb", spec)),
        )
        .await
        .unwrap();
    wait_condition(&releases, "rb", "Ready", |c| c.0 == "True").await;

    let (bad, _) = write_text_tarball(
        &dir.path().join("bad.tgz"),
        &[
            (
                "myapp/Chart.yaml",
                "apiVersion: v2\nname: myapp\nversion: 2.0.0\n",
            ),
            ("myapp/templates/settings.yaml", BAD_CONFIG_MAP),
        ],
    );
    let charts = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &resource("source.toolkit.fluxcd.io", "v1", "HelmChart"),
    );
    let status = json!({"status": {"artifact": {
        "path": format!("helmchart/{ns}/rb/bad.tgz"), "url": server.url("bad.tgz"),
        "revision": "2.0.0", "digest": bad, "lastUpdateTime": "2026-01-01T00:00:01Z",
    }}});
    charts
        .patch_status("rb", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();

    let hr = wait_condition(&releases, "rb", "Stalled", |c| c.0 == "True").await;
    let (_, reason, message) = condition(&hr, "Stalled").unwrap();
    assert_eq!(
        (reason.as_str(), message.as_str()),
        ("RetriesExceeded", "Failed to upgrade after 2 attempt(s)")
    );
    let remediated = condition(&hr, "Remediated").unwrap();
    assert_eq!(remediated.1, "RollbackSucceeded", "{remediated:?}");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let mut statuses = Vec::new();
    for version in 1..=5 {
        let secret = secrets
            .get(&format!("sh.helm.release.v1.rb.v{version}"))
            .await
            .unwrap();
        let release = eddy_helm_release::from_secret(&secret).unwrap();
        statuses.push((release.info.status.as_str(), release.chart.metadata.version));
    }
    assert_eq!(
        statuses,
        [
            ("superseded", "1.0.0".to_owned()),
            ("failed", "2.0.0".to_owned()),
            ("superseded", "1.0.0".to_owned()),
            ("failed", "2.0.0".to_owned()),
            ("deployed", "1.0.0".to_owned()),
        ]
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let settings = config_maps.get("rb-settings").await.unwrap();
    assert_eq!(settings.data.unwrap()["greeting"], "hi");

    releases.delete("rb", &Default::default()).await.unwrap();
    wait_for("the HelmRelease to be finalized", TIMEOUT, async || {
        Ok(releases.get_opt("rb").await?.is_none().then_some(()))
    })
    .await
    .unwrap();
    stop.cancel();
    namespace.cleanup().await.unwrap();
}

/// `targetNamespace` apart from the HelmRelease's namespace: the objects go there, the release
/// records stay in the storage namespace (the HelmRelease's), named `<target>-<name>` as Flux
/// names the release.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_namespace_keeps_records_in_the_storage_namespace() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "hc-target").await.unwrap();
    let target = TestNamespace::new(&client, "hc-target-apps").await.unwrap();
    let ns = namespace.name().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let server = ArtifactServer::start(dir.path()).await;
    let (chart, _) = write_text_tarball(
        &dir.path().join("chart.tgz"),
        &[
            ("myapp/Chart.yaml", CHART_YAML),
            (
                "myapp/values.yaml",
                "greeting: hi\nsize: s\nauth:\n  token: t\n",
            ),
            ("myapp/templates/settings.yaml", CONFIG_MAP),
        ],
    );
    helm_chart_with_artifact(&client, &ns, "app", &server, "chart.tgz", &chart).await;
    let cache = tempfile::tempdir().unwrap();
    let stop = start_controller(&client, &ns, cache.path());
    let releases = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &resource("helm.toolkit.fluxcd.io", "v2", "HelmRelease"),
    );
    let spec = json!({"targetNamespace": target.name()});
    releases
        .patch(
            "app",
            &PatchParams::apply("chart-ref-test").force(),
            &Patch::Apply(helm_release(&ns, "app", "app", spec)),
        )
        .await
        .unwrap();
    wait_condition(&releases, "app", "Ready", |c| c.0 == "True").await;
    let release_name = format!("{}-app", target.name());
    let in_target: Api<ConfigMap> = Api::namespaced(client.clone(), target.name());
    let settings = in_target
        .get(&format!("{release_name}-settings"))
        .await
        .unwrap();
    assert_eq!(settings.data.unwrap()["greeting"], "hi");
    let records: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let record = records
        .get(&format!("sh.helm.release.v1.{release_name}.v1"))
        .await
        .unwrap();
    let release = eddy_helm_release::from_secret(&record).unwrap();
    assert_eq!(release.namespace, target.name());
    stop.cancel();
}
