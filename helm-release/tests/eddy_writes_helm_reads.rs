//! Compatibility, direction two: Eddy writes a release (chart snapshot and manifest from
//! `eddy_helm`); the real `helm` lists it, shows it, upgrades on top of it, rolls back to it and
//! uninstalls it.

#![allow(clippy::unwrap_used)] // a test: a failure is a failed test

mod common;

use common::{fixture, helm, release_secrets, render_fixture};
use eddy_helm_release::{Info, Release, SecretStorage, Status, Time};
use serde_json::{Map, Value, json};

/// The record Helm would store for installing the fixture as revision 1.
fn eddy_release(name: &str, namespace: &str, config: Map<String, Value>) -> Release {
    let rendered = render_fixture(name, namespace, &config);
    let now = Time::now();
    Release {
        name: name.into(),
        namespace: namespace.into(),
        version: 1,
        info: Info {
            first_deployed: now,
            last_deployed: now,
            status: Status::Deployed,
            description: "Install complete".into(),
            notes: rendered.notes,
            ..Info::default()
        },
        chart: rendered.chart,
        config,
        manifest: rendered.manifest,
        hooks: rendered.hooks,
        apply_method: "ssa".into(),
        ..Release::default()
    }
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn helm_reads_upgrades_rolls_back_and_uninstalls_an_eddy_release() {
    let client = eddy_test_support::client().await.unwrap();
    let ns = eddy_test_support::TestNamespace::new(&client, "helmstore-write")
        .await
        .unwrap();
    let ns_name = ns.name().to_owned();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let storage = SecretStorage::new(client.clone(), &ns_name);
    let config = json!({"message": "from <eddy>"})
        .as_object()
        .unwrap()
        .clone();
    let mut release = eddy_release("rel", &ns_name, config);
    release.labels.insert("team".into(), "storage".into());
    storage.create(&release).await.unwrap();

    let list = json_of(&helm(dir, &ns_name, &["list", "-o", "json"]));
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let entry = &list[0];
    assert_eq!(entry["name"], "rel");
    assert_eq!(entry["namespace"], ns_name.as_str());
    assert_eq!(entry["revision"], "1");
    assert_eq!(entry["status"], "deployed");
    assert_eq!(entry["chart"], "demo-0.1.0");
    assert_eq!(entry["app_version"], "1.2.3");
    let filtered = json_of(&helm(
        dir,
        &ns_name,
        &["list", "-o", "json", "--selector", "team=storage"],
    ));
    assert_eq!(filtered.as_array().unwrap().len(), 1, "{filtered}");

    let history = json_of(&helm(dir, &ns_name, &["history", "rel", "-o", "json"]));
    assert_eq!(history[0]["revision"], 1);
    assert_eq!(history[0]["status"], "deployed");
    assert_eq!(history[0]["description"], "Install complete");
    assert_eq!(history[0]["chart"], "demo-0.1.0");

    let status = json_of(&helm(dir, &ns_name, &["status", "rel", "-o", "json"]));
    assert_eq!(status["name"], "rel");
    assert_eq!(status["version"], 1);
    assert_eq!(status["info"]["status"], "deployed");
    assert_eq!(
        status["info"]["notes"],
        "rel is installed: revision 1, message from <eddy>.\n"
    );
    assert_eq!(status["hooks"][0]["name"], "rel-demo-hook");
    assert_eq!(status["hooks"][0]["weight"], 5);

    let values = json_of(&helm(
        dir,
        &ns_name,
        &["get", "values", "rel", "-o", "json"],
    ));
    assert_eq!(values, json!({"message": "from <eddy>"}));
    let all = json_of(&helm(
        dir,
        &ns_name,
        &["get", "values", "rel", "--all", "-o", "json"],
    ));
    assert_eq!(all["replicaCount"], 1);
    assert_eq!(all["message"], "from <eddy>");
    let manifest = helm(dir, &ns_name, &["get", "manifest", "rel"]);
    assert_eq!(manifest.trim_end(), release.manifest.trim_end());
    assert!(manifest.contains("message: \"from <eddy>\""), "{manifest}");
    let hooks = helm(dir, &ns_name, &["get", "hooks", "rel"]);
    assert!(hooks.contains("name: rel-demo-hook"), "{hooks}");

    // helm upgrade continues the history; with no values given it reuses ours.
    let chart = fixture().display().to_string();
    helm(
        dir,
        &ns_name,
        &["upgrade", "rel", &chart, "--set", "replicaCount=3"],
    );
    let history = storage.history("rel").await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|r| (r.version, r.info.status))
            .collect::<Vec<_>>(),
        [(1, Status::Superseded), (2, Status::Deployed)]
    );
    assert_eq!(history[1].info.first_deployed, release.info.first_deployed);
    assert_eq!(
        history[0].labels.get("team").map(String::as_str),
        Some("storage")
    );
    assert_eq!(history[1].config["replicaCount"], 3);

    helm(dir, &ns_name, &["rollback", "rel", "1"]);
    let deployed = storage.deployed("rel").await.unwrap().unwrap();
    assert_eq!(deployed.version, 3);
    assert_eq!(deployed.info.description, "Rollback to 1");
    assert_eq!(deployed.manifest, release.manifest);
    assert_eq!(deployed.config, release.config);
    let history = json_of(&helm(dir, &ns_name, &["history", "rel", "-o", "json"]));
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "superseded", "deployed"]);

    helm(dir, &ns_name, &["uninstall", "rel"]);
    assert!(release_secrets(&client, &ns_name, "rel").await.is_empty());
    assert!(storage.history("rel").await.unwrap().is_empty());
    ns.cleanup().await.unwrap();
}
