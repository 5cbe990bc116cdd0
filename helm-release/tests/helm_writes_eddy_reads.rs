//! Compatibility, direction one: the real `helm` installs and upgrades a chart; Eddy's storage
//! reads every revision, and what it encodes again is what helm wrote.

mod common;

use common::{
    fixture, helm, helm_env, raw_json, release_secrets, render_fixture, without_mod_times,
};
use eddy_helm_release::{SecretStorage, Status, decode, encode, from_secret, to_go_json};
use serde_json::Value;

#[tokio::test]
async fn helm_install_and_upgrade_decode_and_round_trip() {
    let client = eddy_test_support::client().await.unwrap();
    let ns = eddy_test_support::TestNamespace::new(&client, "helmstore-read")
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let chart = fixture().display().to_string();
    helm(
        work.path(),
        ns.name(),
        &[
            "install",
            "rel",
            &chart,
            "--set",
            "message=a<b&c",
            "--labels",
            "team=storage",
        ],
    );
    // The upgrade runs in another time zone: Helm writes local times with their offset.
    let (ok, _, stderr) = helm_env(
        work.path(),
        ns.name(),
        &["upgrade", "rel", &chart, "--set", "replicaCount=2"],
        &[("TZ", "Asia/Kolkata")],
    );
    assert!(ok, "helm upgrade failed: {stderr}");

    let storage = SecretStorage::new(client.clone(), ns.name());
    let history = storage.history("rel").await.unwrap();
    assert_eq!(
        history.iter().map(|r| r.version).collect::<Vec<_>>(),
        [1, 2]
    );
    let (first, second) = (&history[0], &history[1]);
    assert_eq!(first.info.status, Status::Superseded);
    assert_eq!(second.info.status, Status::Deployed);
    assert_eq!(first.info.description, "Install complete");
    assert_eq!(second.info.description, "Upgrade complete");
    assert_eq!(first.info.first_deployed, second.info.first_deployed);
    assert!(second.info.last_deployed.timestamp > first.info.last_deployed.timestamp);
    assert!(second.info.deleted.is_zero());
    assert_eq!(second.info.last_deployed.offset.seconds(), 5 * 3600 + 1800);
    assert!(second.info.last_deployed.to_string().ends_with("+05:30"));
    assert_eq!(
        first.info.notes,
        "rel is installed: revision 1, message a<b&c.\n"
    );
    assert_eq!(first.config["message"], "a<b&c");
    assert_eq!(second.config["replicaCount"], 2);
    assert_eq!(first.namespace, ns.name());
    assert_eq!(first.apply_method, "ssa");
    assert_eq!(
        first.labels.get("team").map(String::as_str),
        Some("storage")
    );
    assert!(
        first
            .manifest
            .starts_with("---\n# Source: demo/templates/configmap.yaml\n")
    );
    assert!(second.manifest.contains("replicas: 2"));

    let hook = &first.hooks[0];
    assert_eq!(first.hooks.len(), 1);
    assert_eq!(
        (hook.name.as_str(), hook.kind.as_str()),
        ("rel-demo-hook", "ConfigMap")
    );
    assert_eq!(hook.path, "demo/templates/hook.yaml");
    assert_eq!(hook.events, ["post-install", "post-upgrade"]);
    assert_eq!(hook.weight, 5);
    assert_eq!(hook.delete_policies, ["before-hook-creation"]);
    assert_eq!(hook.last_run.phase, "Succeeded");
    assert!(!hook.last_run.completed_at.is_zero());

    let md = &first.chart.metadata;
    assert_eq!((md.name.as_str(), md.version.as_str()), ("demo", "0.1.0"));
    assert_eq!(md.app_version, "1.2.3");
    assert_eq!(md.api_version, "v2");
    assert_eq!(md.maintainers[0].email, "eddy@example.com");
    assert_eq!(first.chart.values["message"], "hello");
    assert!(first.chart.schema.as_deref().unwrap().starts_with(b"{"));
    assert_eq!(
        first
            .chart
            .files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        ["README.md"]
    );
    let template_names: Vec<&str> = first
        .chart
        .templates
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert!(
        template_names.contains(&"templates/NOTES.txt"),
        "{template_names:?}"
    );
    // Helm v4's file times.
    assert!(first.chart.templates[0].mod_time.is_some());
    assert!(first.chart.schema_mod_time.is_some());

    // What Eddy renders and snapshots for the same install is what helm stored (Helm v4's file
    // times aside: eddy_helm does not keep them).
    let ours = render_fixture("rel", ns.name(), &first.config);
    assert_eq!(ours.chart, without_mod_times(&first.chart));
    assert_eq!(ours.manifest, first.manifest);
    assert_eq!(ours.notes, first.info.notes);
    let mut helm_hooks = first.hooks.clone();
    for hook in &mut helm_hooks {
        hook.last_run = Default::default();
    }
    assert_eq!(ours.hooks, helm_hooks);

    assert_eq!(storage.last("rel").await.unwrap().unwrap().version, 2);
    assert_eq!(storage.deployed("rel").await.unwrap().unwrap().version, 2);
    assert_eq!(storage.get("rel", 1).await.unwrap().unwrap(), *first);
    assert!(storage.get("rel", 7).await.unwrap().is_none());
    assert!(storage.history("other").await.unwrap().is_empty());

    for secret in release_secrets(&client, ns.name(), "rel").await {
        let helm_json = raw_json(&secret);
        let release = from_secret(&secret).unwrap();
        // Every key helm wrote survives, and Go's encoding comes back byte for byte.
        let ours = to_go_json(&release).unwrap();
        let helm_value: Value = serde_json::from_slice(&helm_json).unwrap();
        let our_value: Value = serde_json::from_slice(&ours).unwrap();
        assert_eq!(our_value, helm_value);
        assert_same_bytes(&ours, &helm_json);
        // decode → encode → decode is the identity (labels live on the Secret, not the JSON).
        let mut again = decode(&encode(&release).unwrap()).unwrap();
        again.labels = release.labels.clone();
        assert_eq!(again, release);
    }
    ns.cleanup().await.unwrap();
}

/// Byte equality, reporting where the texts part.
fn assert_same_bytes(ours: &[u8], helm: &[u8]) {
    if ours == helm {
        return;
    }
    let at = ours.iter().zip(helm).take_while(|(a, b)| a == b).count();
    let context = |b: &[u8]| {
        String::from_utf8_lossy(&b[at.saturating_sub(80)..(at + 80).min(b.len())]).into_owned()
    };
    panic!(
        "JSON differs at byte {at}:\n ours: {}\n helm: {}",
        context(ours),
        context(helm)
    );
}
