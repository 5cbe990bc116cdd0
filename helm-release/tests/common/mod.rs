//! Shared by the compatibility tests: the fixture chart, the real `helm` against the testenv.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // test helpers: a failure is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use eddy_helm::{Capabilities, LoadLimits, ReleaseOptions};
use eddy_helm_release::{ChartSnapshot, Hook, release_manifest};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use serde_json::{Map, Value};

pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo")
}

pub fn kubeconfig() -> String {
    std::env::var("KUBECONFIG")
        .ok()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| {
            eddy_testenv::kubeconfig_path()
                .unwrap()
                .display()
                .to_string()
        })
}

/// `helm args… --namespace ns --kubeconfig …` in `dir`; panics with helm's stderr on failure.
pub fn helm(dir: &Path, namespace: &str, args: &[&str]) -> String {
    let kubeconfig = kubeconfig();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--namespace", namespace, "--kubeconfig", &kubeconfig]);
    eddy_test_support::helm::helm(dir, &all)
}

/// Runs helm with extra environment variables and returns (success, stdout, stderr).
pub fn helm_env(
    dir: &Path,
    namespace: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let home = dir.join(".helm-home");
    let output = Command::new(eddy_test_support::helm::binary().unwrap())
        .current_dir(dir)
        .args(args)
        .args(["--namespace", namespace, "--kubeconfig", &kubeconfig()])
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The release Secrets of `name`, by Secret name.
pub async fn release_secrets(client: &kube::Client, namespace: &str, name: &str) -> Vec<Secret> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut items = api
        .list(&ListParams::default().labels(&format!("name={name},owner=helm")))
        .await
        .unwrap()
        .items;
    items.sort_by_key(|s| s.metadata.name.clone());
    items
}

/// The JSON bytes inside a release Secret, unpacked independently of the crate under test.
pub fn raw_json(secret: &Secret) -> Vec<u8> {
    use std::io::Read;
    let data = &secret.data.as_ref().unwrap()["release"].0;
    let gz = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut json)
        .unwrap();
    json
}

/// What Eddy makes of the fixture for an install (revision 1): the record's parts.
pub struct Rendered {
    pub chart: ChartSnapshot,
    pub manifest: String,
    pub hooks: Vec<Hook>,
    pub notes: String,
}

pub fn render_fixture(name: &str, namespace: &str, config: &Map<String, Value>) -> Rendered {
    let mut chart = eddy_helm::load_dir(&fixture(), LoadLimits::default()).unwrap();
    eddy_helm::process_dependencies(&mut chart, config).unwrap();
    let values = eddy_helm::coalesce_values(&chart, config);
    let options = ReleaseOptions {
        name: name.into(),
        namespace: namespace.into(),
        revision: 1,
        is_install: true,
        is_upgrade: false,
    };
    let capabilities = Capabilities::for_kube_version("v1.34.0").unwrap();
    let mut rendered =
        eddy_helm::render_chart(&chart, &values, &options, &capabilities, &[]).unwrap();
    let notes = rendered
        .remove(&format!("{}/templates/NOTES.txt", chart.name()))
        .unwrap_or_default();
    let (manifests, hooks) = eddy_helm::sort_manifests(&rendered).unwrap();
    Rendered {
        chart: ChartSnapshot::from_chart(&chart),
        manifest: release_manifest(&manifests),
        hooks: hooks.iter().map(Hook::from_rendered).collect(),
        notes,
    }
}

/// A stored chart without Helm v4's file times (eddy_helm does not keep them).
pub fn without_mod_times(chart: &ChartSnapshot) -> ChartSnapshot {
    let mut chart = chart.clone();
    chart.mod_time = None;
    chart.schema_mod_time = None;
    for file in chart.templates.iter_mut().chain(chart.files.iter_mut()) {
        file.mod_time = None;
    }
    chart
}
