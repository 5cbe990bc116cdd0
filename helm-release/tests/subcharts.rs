//! A chart with a dependency: Helm stores the parent only (no subcharts), with its `Chart.lock`
//! and the dependency's `enabled` flag; Eddy's snapshot of the same chart matches.
#![allow(clippy::unwrap_used)] // a test: a failure is a failed test

mod common;

use std::path::Path;

use common::{helm, raw_json, release_secrets, without_mod_times};
use eddy_helm::{Capabilities, LoadLimits, ReleaseOptions};
use eddy_helm_release::{ChartSnapshot, Lock, SecretStorage, release_manifest, to_go_json};
use serde_json::Map;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn helm_stores_the_parent_chart_with_its_lock_and_eddy_agrees() {
    let client = eddy_test_support::client().await.unwrap();
    let ns = eddy_test_support::TestNamespace::new(&client, "helmstore-sub")
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/umbrella");
    copy_dir(&fixture, work.path());
    helm(work.path(), ns.name(), &["dependency", "build", "parent"]);
    helm(work.path(), ns.name(), &["install", "um", "parent"]);

    let stored = SecretStorage::new(client.clone(), ns.name())
        .get("um", 1)
        .await
        .unwrap()
        .unwrap();
    let lock = stored.chart.lock.clone().expect("helm stores Chart.lock");
    assert_eq!(lock.dependencies[0].name, "sub");
    assert!(lock.digest.starts_with("sha256:"));
    let dependency = &stored.chart.metadata.dependencies[0];
    assert!(dependency.enabled);
    assert_eq!(dependency.condition, "sub.enabled");
    // No subchart in the record: not as files, not as templates.
    assert!(stored.chart.files.is_empty());
    assert!(
        stored
            .chart
            .templates
            .iter()
            .all(|t| !t.name.contains("sub"))
    );
    assert!(
        stored
            .manifest
            .contains("# Source: parent/charts/sub/templates/cm.yaml")
    );
    // The lock survives a re-encode byte for byte, like everything else.
    let secret = &release_secrets(&client, ns.name(), "um").await[0];
    assert_eq!(to_go_json(&stored).unwrap(), raw_json(secret));

    // Eddy's snapshot of the same chart and lock file.
    let parent = work.path().join("parent");
    let mut chart = eddy_helm::load_dir(&parent, LoadLimits::default()).unwrap();
    let config = Map::new();
    eddy_helm::process_dependencies(&mut chart, &config).unwrap();
    let values = eddy_helm::coalesce_values(&chart, &config);
    let mut ours = ChartSnapshot::from_chart(&chart);
    let lock_text = std::fs::read_to_string(parent.join("Chart.lock")).unwrap();
    ours.lock = Some(Lock::from_yaml(&lock_text).unwrap());
    assert_eq!(ours.lock, stored.chart.lock);
    assert_eq!(ours.metadata, stored.chart.metadata);
    assert_eq!(ours.templates.len(), stored.chart.templates.len());
    let options = ReleaseOptions {
        name: "um".into(),
        namespace: ns.name().into(),
        revision: 1,
        is_install: true,
        is_upgrade: false,
    };
    let capabilities = Capabilities::for_kube_version("v1.34.0").unwrap();
    let rendered = eddy_helm::render_chart(&chart, &values, &options, &capabilities, &[]).unwrap();
    let (manifests, _) = eddy_helm::sort_manifests(&rendered).unwrap();
    assert_eq!(release_manifest(&manifests), stored.manifest);
    // Everything else too, down to the `global: {}` Helm's processing leaves in the
    // subchart's section of the stored defaults.
    assert_eq!(ours.values["sub"]["global"], serde_json::json!({}));
    assert_eq!(ours, without_mod_times(&stored.chart));
    ns.cleanup().await.unwrap();
}
