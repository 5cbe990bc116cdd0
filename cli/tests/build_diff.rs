//! `eddy build kustomization` and `eddy diff kustomization`: the local build equals what Eddy's
//! kustomize-controller applied from Git, and the diff reports local edits (changed fields,
//! created and pruned objects) without ever printing a Secret's values. Offline builds are
//! compared byte for byte with the real `flux build`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{path::Path, process::Output};

use base64::{Engine, engine::general_purpose::STANDARD};
use eddy_e2e::{
    ConfigRepo, copy_dir,
    in_namespace::{self, apply, kustomizations, wait_applied},
    start_controllers, workspace_root,
};
use eddy_test_support::{TestNamespace, install_crds};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api,
    api::{DynamicObject, GroupVersionKind, PostParams},
};
use serde::Deserialize;
use serde_json::{Value, json};
use support::{eddy, flux::flux, kubeconfig, succeeded};

const OVERLAY: &str = "apps/myapp/overlays/production";
const SECRET_VALUE: &str = "hunter2-original";
const NEW_SECRET_VALUE: &str = "hunter2-rotated";

fn objects(stream: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(stream)
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|value| !value.is_null())
        .collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn exit_code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// Every leaf of `expected` has the same value in `actual` (the server adds defaults, so the
/// live object holds more than what was applied).
fn assert_contains(actual: &Value, expected: &Value, path: &str) {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => {
            for (key, value) in expected {
                let actual = actual
                    .get(key)
                    .unwrap_or_else(|| panic!("{path}.{key} missing in the live object"));
                assert_contains(actual, value, &format!("{path}.{key}"));
            }
        }
        (Value::Array(actual), Value::Array(expected)) => {
            assert_eq!(actual.len(), expected.len(), "{path}: list lengths differ");
            for (index, (a, e)) in actual.iter().zip(expected).enumerate() {
                assert_contains(a, e, &format!("{path}[{index}]"));
            }
        }
        (actual, expected) => {
            // The API server normalises quantities and ports; compare their text.
            let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            assert_eq!(text(actual), text(expected), "{path}");
        }
    }
}

async fn live_object(client: &kube::Client, object: &Value) -> Value {
    let api_version = object["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap();
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, _) = kube::discovery::pinned_kind(client, &gvk).await.unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        object["metadata"]["namespace"].as_str().unwrap(),
        &resource,
    );
    let name = object["metadata"]["name"].as_str().unwrap();
    serde_json::to_value(api.get(name).await.unwrap()).unwrap()
}

/// The production overlay plus a Secret and a ConfigMap whose values come from `postBuild`.
fn extend_overlay(config: &ConfigRepo) {
    config.edit(&format!("{OVERLAY}/kustomization.yaml"), |text| {
        format!("{text}\nresources:\n- credentials.yaml\n- settings.yaml\n")
    });
    config.write(
        &format!("{OVERLAY}/credentials.yaml"),
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: myapp-credentials\ntype: Opaque\ndata:\n  password: {}\n  user: {}\n",
            STANDARD.encode(SECRET_VALUE),
            STANDARD.encode("app"),
        ),
    );
    config.write(
        &format!("{OVERLAY}/settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: myapp-settings\ndata:\n  region: ${region}\n  tier: ${tier:=standard}\n  version: ${version}\n",
    );
}

// Multi-threaded: the test blocks its thread running `eddy` while the in-process controllers
// must keep reconciling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_equals_what_the_controller_applied_and_diff_reports_local_changes() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "cli-diff").await.unwrap();
    let ns = namespace.name().to_owned();
    let kubeconfig = kubeconfig().await;
    let shard = format!("build-diff-{}", std::process::id());

    let config = ConfigRepo::seed("master").await;
    extend_overlay(&config);
    let revision = config.commit("production with settings");
    // Variables from the cluster: `eddy build` must read them as the controller does.
    Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "cluster-vars"},
                "data": {"region": "eu-west-1"},
            }))
            .unwrap(),
        )
        .await
        .unwrap();

    let _controllers = start_controllers(&client, &shard, false).await;
    in_namespace::create_git_repository(&client, &ns, &shard, "config", &config.url(), "master")
        .await;
    apply(
        &kustomizations(&client, &ns),
        &shard,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "myapp", "namespace": ns},
            "spec": {
                "interval": "1h",
                "path": format!("./{OVERLAY}"),
                "prune": true,
                "targetNamespace": ns,
                "sourceRef": {"kind": "GitRepository", "name": "config"},
                "commonMetadata": {"labels": {"team": "payments"}},
                "patches": [{
                    "target": {"kind": "Deployment", "name": "myapp"},
                    "patch": "- op: replace\n  path: /spec/template/spec/containers/0/image\n  value: registry.example.com/myapp:${version}\n",
                }],
                "postBuild": {
                    "substitute": {"version": "1.2.3"},
                    "substituteFrom": [{"kind": "ConfigMap", "name": "cluster-vars"}],
                },
            },
        }),
    )
    .await;
    let applied = wait_applied(&client, &ns, "myapp", &revision).await;

    // The local build is what the controller applied: same objects (the inventory), and each
    // one's fields are in the live object.
    let overlay = config.path(OVERLAY);
    let overlay_arg = overlay.to_str().unwrap();
    let built = succeeded(
        eddy(
            &kubeconfig,
            &[
                "-n",
                &ns,
                "build",
                "kustomization",
                "myapp",
                "--path",
                overlay_arg,
            ],
        ),
        "eddy build",
    );
    assert!(built.ends_with("---\n"), "{built}");
    let built = objects(&built);
    let mut built_ids: Vec<String> = built
        .iter()
        .map(|o| {
            let api_version = o["apiVersion"].as_str().unwrap();
            let group = api_version.split_once('/').map_or("", |(g, _)| g);
            format!(
                "{}_{}_{group}_{}",
                o["metadata"]["namespace"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap(),
                o["kind"].as_str().unwrap()
            )
        })
        .collect();
    built_ids.sort();
    let mut inventory: Vec<String> = applied.data["status"]["inventory"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_str().unwrap().to_owned())
        .collect();
    inventory.sort();
    assert_eq!(built_ids, inventory);
    for object in &built {
        let live = live_object(&client, object).await;
        assert_contains(&live, object, object["kind"].as_str().unwrap());
    }
    let by_kind = |kind: &str| built.iter().find(|o| o["kind"] == kind).unwrap();
    let deployment = by_kind("Deployment");
    assert_eq!(deployment["metadata"]["namespace"], ns.as_str());
    assert_eq!(deployment["spec"]["replicas"], 5);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/myapp:1.2.3"
    );
    assert_eq!(deployment["metadata"]["labels"]["team"], "payments");
    assert_eq!(
        deployment["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
        "myapp"
    );
    let settings = by_kind("ConfigMap");
    assert_eq!(settings["data"]["region"], "eu-west-1");
    assert_eq!(settings["data"]["tier"], "standard");
    assert_eq!(settings["data"]["version"], "1.2.3");

    // Nothing changed locally: no output, exit 0.
    let diff = |what: &str| {
        let output = eddy(
            &kubeconfig,
            &[
                "-n",
                &ns,
                "diff",
                "kustomization",
                "myapp",
                "--path",
                overlay_arg,
            ],
        );
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains("panicked"),
            "{what}"
        );
        output
    };
    let unchanged = diff("unchanged");
    assert_eq!(
        exit_code(&unchanged),
        0,
        "{}{}",
        stdout(&unchanged),
        String::from_utf8_lossy(&unchanged.stderr)
    );
    assert_eq!(stdout(&unchanged), "");
    // The real flux CLI, reading the same Kustomization from the cluster, builds the same
    // objects and sees the same (absence of) changes.
    let flux_copy = || {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(&config.repo.work, copy.path());
        copy
    };
    let copy = flux_copy();
    let flux_overlay = copy.path().join(OVERLAY);
    let flux_built = succeeded(
        flux(
            &kubeconfig,
            &[
                "-n",
                &ns,
                "build",
                "ks",
                "myapp",
                "--path",
                flux_overlay.to_str().unwrap(),
            ],
        ),
        "flux build",
    );
    let eddy_built = succeeded(
        eddy(
            &kubeconfig,
            &["-n", &ns, "build", "ks", "myapp", "--path", overlay_arg],
        ),
        "eddy build",
    );
    assert_eq!(eddy_built, flux_built);
    let flux_agrees = |eddy_output: &Output| {
        let copy = flux_copy();
        let overlay = copy.path().join(OVERLAY);
        let output = flux(
            &kubeconfig,
            &[
                "-n",
                &ns,
                "diff",
                "ks",
                "myapp",
                "--progress-bar=false",
                "--path",
                overlay.to_str().unwrap(),
            ],
        );
        let headlines = |text: &str| {
            let mut lines: Vec<String> = text
                .lines()
                .filter(|line| line.starts_with('►'))
                .map(str::to_owned)
                .collect();
            lines.sort();
            lines
        };
        let theirs = stdout(&output);
        assert_eq!(
            headlines(&stdout(eddy_output)),
            headlines(&theirs),
            "flux diff printed:\n{theirs}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(exit_code(&output), exit_code(eddy_output), "{theirs}");
    };
    flux_agrees(&unchanged);

    // Edits: fewer replicas, a rotated password, a new object.
    config.edit(&format!("{OVERLAY}/kustomization.yaml"), |text| {
        text.replace("count: 5", "count: 3")
            .replace("- settings.yaml\n", "- settings.yaml\n- extra.yaml\n")
    });
    config.edit(&format!("{OVERLAY}/credentials.yaml"), |text| {
        text.replace(
            &STANDARD.encode(SECRET_VALUE),
            &STANDARD.encode(NEW_SECRET_VALUE),
        )
    });
    config.write(
        &format!("{OVERLAY}/extra.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: b\n",
    );
    let changed = diff("changed");
    flux_agrees(&changed);
    let text = stdout(&changed);
    assert_eq!(exit_code(&changed), 1, "{text}");
    assert!(
        String::from_utf8_lossy(&changed.stderr).contains("identified at least one change"),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    assert!(
        text.contains(&format!("► Deployment/{ns}/myapp drifted\n")),
        "{text}"
    );
    assert!(
        text.contains("spec.replicas\n  ± value change\n    - 5\n    + 3\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("► Secret/{ns}/myapp-credentials drifted\n")),
        "{text}"
    );
    assert!(
        text.contains("data.password\n  ± value change\n    - *** (before)\n    + *** (after)\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("► ConfigMap/{ns}/extra created\n")),
        "{text}"
    );
    for secret in [SECRET_VALUE, NEW_SECRET_VALUE] {
        assert!(!text.contains(secret), "{text}");
        assert!(!text.contains(&STANDARD.encode(secret)), "{text}");
    }
    // The user name did not change: not mentioned at all.
    assert!(!text.contains("data.user"), "{text}");
    assert!(!text.contains("myapp-settings"), "{text}");

    // A removed file: the controller would prune its object.
    config.edit(&format!("{OVERLAY}/kustomization.yaml"), |text| {
        text.replace("- settings.yaml\n", "")
    });
    std::fs::remove_file(config.path(&format!("{OVERLAY}/settings.yaml"))).unwrap();
    let pruned = diff("pruned");
    flux_agrees(&pruned);
    let text = stdout(&pruned);
    assert_eq!(exit_code(&pruned), 1, "{text}");
    assert!(
        text.contains(&format!("► ConfigMap/{ns}/myapp-settings deleted\n")),
        "{text}"
    );

    // A Kustomization that is not in the cluster yet, from a file: everything is created.
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("newapp.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: newapp\nspec:\n  interval: 1m\n  prune: true\n  namePrefix: new-\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: config\n  postBuild:\n    substitute:\n      version: '2'\n"
        ),
    )
    .unwrap();
    let file_arg = file.to_str().unwrap();
    let new_args = [
        "-n",
        &ns,
        "diff",
        "ks",
        "newapp",
        "--path",
        overlay_arg,
        "--kustomization-file",
        file_arg,
    ];
    let missing = eddy(&kubeconfig, &new_args);
    assert_eq!(exit_code(&missing), 2, "{}", stdout(&missing));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let mut ignoring = new_args.to_vec();
    ignoring.push("--ignore-not-found");
    let created = eddy(&kubeconfig, &ignoring);
    let text = stdout(&created);
    assert_eq!(exit_code(&created), 1, "{text}");
    let headlines: Vec<&str> = text.lines().filter(|l| l.starts_with('►')).collect();
    assert_eq!(headlines.len(), 4, "{text}");
    assert!(
        headlines.iter().all(|line| line.ends_with(" created")),
        "{text}"
    );
    assert!(
        text.contains(&format!("► Deployment/{ns}/new-myapp created")),
        "{text}"
    );

    // A failure is not a difference: exit 2.
    let broken = eddy(
        &kubeconfig,
        &["-n", &ns, "diff", "ks", "myapp", "--path", "/no/such/dir"],
    );
    assert_eq!(exit_code(&broken), 2);
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("/no/such/dir"),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
    let missing = eddy(
        &kubeconfig,
        &["-n", &ns, "diff", "ks", "nope", "--path", overlay_arg],
    );
    assert_eq!(exit_code(&missing), 2);

    in_namespace::delete_flux_objects(&client, &ns).await;
    namespace.cleanup().await.unwrap();
}

/// The Kustomization file the offline builds use: every spec field the wrapper carries.
const KUSTOMIZATION_FILE: &str = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: myapp
  namespace: apps
spec:
  interval: 5m
  path: ./apps/myapp/base
  prune: true
  targetNamespace: staging
  namePrefix: eu-
  sourceRef:
    kind: GitRepository
    name: config
  images:
  - name: registry.example.com/myapp
    newTag: v2.0.0
  patches:
  - target:
      kind: Deployment
    patch: |
      - op: replace
        path: /spec/replicas
        value: ${replicas:=2}
      - op: add
        path: /spec/template/metadata/labels/team
        value: ${team}
  commonMetadata:
    annotations:
      owner: ${team}
  postBuild:
    substitute:
      team: payments
    substituteFrom:
    - kind: ConfigMap
      name: only-in-the-cluster
";

/// A SOPS-encrypted Secret (the ciphertext is fake; only its shape matters for masking).
const SOPS_SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: sealed
type: Opaque
data:
  token: RU5DW0FFUzI1Nl9HQ00sZGF0YTpabTl2LGl2OmFXdz0sdGFnOmRHRm4sdHlwZTpzdHJd
sops:
  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]
  version: 3.9.0
";

#[test]
fn offline_builds_match_the_real_flux_build_byte_for_byte() {
    let scratch = tempfile::tempdir().unwrap();
    let eddy_dir = scratch.path().join("eddy");
    let flux_dir = scratch.path().join("flux");
    for dir in [&eddy_dir, &flux_dir] {
        std::fs::create_dir_all(dir).unwrap();
        copy_dir(
            &workspace_root().join("examples/config-repo/apps/myapp/base"),
            dir,
        );
        std::fs::write(dir.join("sealed.yaml"), SOPS_SECRET).unwrap();
        let kustomization = dir.join("kustomization.yaml");
        let text = std::fs::read_to_string(&kustomization).unwrap();
        std::fs::write(&kustomization, format!("{text}- sealed.yaml\n")).unwrap();
    }
    let file = scratch.path().join("ks.yaml");
    std::fs::write(&file, KUSTOMIZATION_FILE).unwrap();
    let args = |dir: &Path| {
        vec![
            "build".to_owned(),
            "kustomization".to_owned(),
            "myapp".to_owned(),
            "-n".to_owned(),
            "apps".to_owned(),
            "--path".to_owned(),
            dir.display().to_string(),
            "--kustomization-file".to_owned(),
            file.display().to_string(),
            "--dry-run".to_owned(),
        ]
    };
    // No cluster: an unreachable kubeconfig proves the dry run never connects.
    let nowhere = scratch.path().join("no-kubeconfig");
    let eddy_args = args(&eddy_dir);
    let eddy_args: Vec<&str> = eddy_args.iter().map(String::as_str).collect();
    let ours = succeeded(eddy(&nowhere, &eddy_args), "eddy build --dry-run");
    let flux_args = args(&flux_dir);
    let flux_args: Vec<&str> = flux_args.iter().map(String::as_str).collect();
    let theirs = succeeded(flux(&nowhere, &flux_args), "flux build --dry-run");
    assert_eq!(ours, theirs);

    let built = objects(&ours);
    let deployment = built.iter().find(|o| o["kind"] == "Deployment").unwrap();
    assert_eq!(deployment["metadata"]["name"], "eu-myapp");
    assert_eq!(deployment["metadata"]["namespace"], "staging");
    // commonMetadata is added after substitution, by Flux and by Eddy's controller alike.
    assert_eq!(deployment["metadata"]["annotations"]["owner"], "${team}");
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["labels"]["team"],
        "payments"
    );
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/myapp:v2.0.0"
    );
    let secret = built.iter().find(|o| o["kind"] == "Secret").unwrap();
    assert_eq!(secret["data"]["token"], STANDARD.encode("**SOPS**"));
    assert!(secret.get("sops").is_none());
    assert!(!ours.contains("RU5DW0FFUzI1Nl9HQ00"), "{ours}");

    // The user's directory is left as it was.
    assert!(!eddy_dir.join("kustomization.yaml.original").exists());
    let kustomization = std::fs::read_to_string(eddy_dir.join("kustomization.yaml")).unwrap();
    assert!(!kustomization.contains("staging"), "{kustomization}");
}

#[test]
fn an_offline_build_needs_a_kustomization_file() {
    let output = eddy(
        Path::new("/nonexistent"),
        &["build", "ks", "myapp", "--path", ".", "--dry-run"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--kustomization-file"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
