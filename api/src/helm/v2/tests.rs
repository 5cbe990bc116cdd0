//! Tests of the HelmRelease types: deserialization of real-world manifests (including the
//! v2beta1 seed example), legacy fields, and schema details that are easy to get wrong.

use super::helmrelease::*;
use serde_json::{Value, json};

fn seed_example(name: &str) -> String {
    let path = format!(
        "{}/../../shared/seed/examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {path}: {err}"))
}

/// The generated root schema with every `description` removed, so that assertions compare
/// structure only.
fn schema_of_crd() -> Value {
    fn strip_descriptions(value: &mut Value) {
        match value {
            Value::Object(object) => {
                object.remove("description");
                object.values_mut().for_each(strip_descriptions);
            }
            Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
            _ => {}
        }
    }
    let crd = serde_json::to_value(crd()).unwrap();
    let mut schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
    strip_descriptions(&mut schema);
    schema
}

#[test]
fn minimal_release_deserializes() {
    let release: HelmRelease = serde_yaml_ng::from_str(
        r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: apps}
spec:
  interval: 10m
  chartRef: {kind: OCIRepository, name: podinfo}
"#,
    )
    .unwrap();
    let chart_ref = release.spec.chart_ref.as_ref().unwrap();
    assert_eq!(chart_ref.kind, ChartReferenceKind::OciRepository);
    assert_eq!(release.spec.interval, "10m");
    assert_eq!(release.spec.timeout_for(None), DEFAULT_TIMEOUT);
    assert_eq!(release.spec.max_history(), DEFAULT_MAX_HISTORY);
    assert!(release.status.is_none());
}

#[test]
fn seed_v2beta1_example_keeps_every_setting() {
    let text = seed_example("helmrelease-v2beta1.yaml");
    let original: Value = serde_yaml_ng::from_str(&text).unwrap();
    let release: HelmRelease = serde_yaml_ng::from_str(&text).unwrap();

    let chart = release.spec.chart.as_ref().unwrap();
    assert_eq!(chart.spec.chart, "myapp");
    assert_eq!(chart.spec.version.as_deref(), Some("1.0.0"));
    assert_eq!(chart.spec.source_ref.kind, ChartSourceKind::HelmRepository);
    assert_eq!(chart.spec.source_ref.name, "my-charts");
    assert_eq!(release.spec.values.as_ref().unwrap()["replicaCount"], 3);

    // Nothing is dropped or added on the way back to JSON.
    let round_tripped = serde_json::to_value(&release).unwrap();
    assert_eq!(round_tripped["spec"], original["spec"]);
    assert_eq!(round_tripped["metadata"], original["metadata"]);
}

#[test]
fn legacy_fields_survive_a_round_trip() {
    let spec = json!({
        "interval": "5m",
        "chart": {"spec": {
            "chart": "./charts/app",
            "valuesFile": "values-prod.yaml",
            "valuesFiles": ["values-extra.yaml"],
            "sourceRef": {"kind": "GitRepository", "name": "repo"}
        }},
        "postRenderers": [{"kustomize": {
            "patchesStrategicMerge": [{"kind": "Deployment", "metadata": {"name": "app"}}],
            "patchesJson6902": [{
                "target": {"kind": "Deployment", "name": "app"},
                "patch": [{"op": "add", "path": "/spec/replicas", "value": 2}]
            }]
        }}]
    });
    let parsed: HelmReleaseSpec = serde_json::from_value(spec.clone()).unwrap();
    let chart_spec = &parsed.chart.as_ref().unwrap().spec;
    assert_eq!(
        chart_spec.effective_values_files(),
        ["values-prod.yaml", "values-extra.yaml"]
    );
    let kustomize = parsed.post_renderers.as_ref().unwrap()[0]
        .kustomize
        .as_ref()
        .unwrap();
    let json6902 = &kustomize.patches_json6902.as_ref().unwrap()[0];
    assert_eq!(json6902.patch[0].op, JsonPatchOp::Add);
    assert_eq!(json6902.patch[0].value, Some(json!(2)));
    assert_eq!(serde_json::to_value(&parsed).unwrap(), spec);
}

#[test]
fn full_status_round_trips() {
    let status = json!({
        "observedGeneration": 3,
        "lastAttemptedGeneration": 3,
        "lastAttemptedReleaseAction": "upgrade",
        "failures": 1,
        "upgradeFailures": 1,
        "lastAppliedRevision": "1.0.0",
        "lastReleaseRevision": 4,
        "helmChart": "flux-system/apps-podinfo",
        "storageNamespace": "apps",
        "history": [{
            "digest": "sha256:abc",
            "name": "podinfo",
            "namespace": "apps",
            "version": 4,
            "status": "deployed",
            "chartName": "podinfo",
            "chartVersion": "6.5.0",
            "configDigest": "sha256:def",
            "firstDeployed": "2026-01-01T00:00:00Z",
            "lastDeployed": "2026-01-02T00:00:00Z",
            "testHooks": {"podinfo-test": {"phase": "Succeeded"}}
        }],
        "inventory": {"entries": [{"id": "apps_podinfo_apps_Deployment", "v": "v1"}]}
    });
    let parsed: HelmReleaseStatus = serde_json::from_value(status.clone()).unwrap();
    assert_eq!(
        parsed.last_attempted_release_action,
        Some(ReleaseAction::Upgrade)
    );
    assert_eq!(parsed.history.as_ref().unwrap()[0].version, 4);
    assert_eq!(serde_json::to_value(&parsed).unwrap(), status);
}

#[test]
fn go_int_fields_have_no_integer_format() {
    let schema = schema_of_crd();
    let spec = &schema["properties"]["spec"]["properties"];
    let status = &schema["properties"]["status"]["properties"];
    for field in [
        &spec["maxHistory"],
        &spec["install"]["properties"]["remediation"]["properties"]["retries"],
        &spec["upgrade"]["properties"]["remediation"]["properties"]["retries"],
        &status["lastReleaseRevision"],
        &status["history"]["items"]["properties"]["version"],
    ] {
        assert_eq!(field, &json!({"type": "integer"}), "{field}");
    }
    assert_eq!(status["failures"]["format"], "int64");
}

#[test]
fn install_and_upgrade_strategies_carry_their_own_rules() {
    let schema = schema_of_crd();
    let spec = &schema["properties"]["spec"]["properties"];
    let rule_of = |action: &str| {
        spec[action]["properties"]["strategy"]["x-kubernetes-validations"][0]["rule"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(rule_of("install").contains("self.name != 'RemediateOnFailure'"));
    assert!(rule_of("upgrade").contains("self.name == 'RetryOnFailure'"));
    assert_eq!(
        spec["install"]["properties"]["strategy"]["required"],
        json!(["name"])
    );
}

#[test]
fn values_are_free_form_and_status_defaults() {
    let schema = schema_of_crd();
    assert_eq!(
        schema["properties"]["spec"]["properties"]["values"],
        json!({"x-kubernetes-preserve-unknown-fields": true})
    );
    assert_eq!(
        schema["properties"]["status"]["default"],
        json!({"observedGeneration": -1})
    );
    assert_eq!(
        schema["properties"]["spec"]["x-kubernetes-validations"][0]["message"],
        "either chart or chartRef must be set"
    );
}

#[test]
fn namespaces_and_generated_chart_follow_the_defaults() {
    let mut release: HelmRelease = serde_yaml_ng::from_str(
        r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: team-a}
spec:
  interval: 1h
  chart:
    spec:
      chart: web
      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}
"#,
    )
    .unwrap();
    assert_eq!(release.target_namespace(), Some("team-a"));
    assert_eq!(release.storage_namespace(), Some("team-a"));
    assert_eq!(
        release.generated_helm_chart(),
        Some(("flux-system".to_owned(), "team-a-web".to_owned()))
    );

    release.spec.target_namespace = Some("web-prod".into());
    release.spec.storage_namespace = Some("helm-storage".into());
    assert_eq!(release.target_namespace(), Some("web-prod"));
    assert_eq!(release.storage_namespace(), Some("helm-storage"));

    release.spec.chart = None;
    assert_eq!(release.generated_helm_chart(), None);
}
