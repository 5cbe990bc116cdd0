//! End-to-end: a pushed commit cannot make kustomize-controller read the controller's host files
//! (issue #12 item 1). Each way of naming a file outside the artifact goes through the real Git
//! server and source-controller, and must end `Ready=False`, reason `BuildFailed`, naming the
//! entry, with nothing applied; a read across the artifact keeps working.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use common::{ConfigRepo, TestEnv, last_applied_revision, start_controllers};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use serde_json::json;

/// A kustomization a hostile commit could push, and the entry its failure must name.
struct Attack {
    name: &'static str,
    kustomization: &'static str,
    entry: &'static str,
}

const ATTACKS: &[Attack] = &[
    Attack {
        name: "absolute-file",
        kustomization: "configMapGenerator:\n- name: leak\n  files: [/etc/passwd]\n",
        entry: "/etc/passwd",
    },
    Attack {
        name: "relative-file",
        kustomization: "configMapGenerator:\n- name: leak\n  files:\n  - ../../../../../../../../../../etc/passwd\n",
        entry: "../../../../../../../../../../etc/passwd",
    },
    Attack {
        name: "environment",
        kustomization: "configMapGenerator:\n- name: leak\n  envs: [/proc/self/environ]\n",
        entry: "/proc/self/environ",
    },
    Attack {
        name: "resource",
        kustomization: "resources:\n- /etc/hostname\n",
        entry: "/etc/hostname",
    },
];

fn kustomization(name: &str, path: &str) -> serde_json::Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name},
        "spec": {
            "interval": "1h",
            "path": path,
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_cannot_read_files_outside_the_artifact() {
    let env = TestEnv::new("ks-root").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let config = ConfigRepo::seed("master").await;
    for attack in ATTACKS {
        config.write(
            &format!("attacks/{}/kustomization.yaml", attack.name),
            &format!("namespace: {ns}\n{}", attack.kustomization),
        );
    }
    // The control: a generator reading a file elsewhere in the artifact is allowed, as in Flux.
    config.write("shared/settings.env", "mode=fast\n");
    config.write(
        "allowed/kustomization.yaml",
        &format!(
            "namespace: {ns}\nconfigMapGenerator:\n- name: settings\n  envs: [../shared/settings.env]\n"
        ),
    );
    let revision = config.commit("kustomizations reaching outside the repository");
    env.create_git_repository("config", &config.url(), "master")
        .await;

    env.create_kustomization(kustomization("allowed", "./allowed"))
        .await;
    for attack in ATTACKS {
        env.create_kustomization(kustomization(
            attack.name,
            &format!("./attacks/{}", attack.name),
        ))
        .await;
    }

    let allowed = env.wait_applied("allowed", &revision).await;
    assert_eq!(
        last_applied_revision(&allowed).as_deref(),
        Some(revision.as_str())
    );
    for attack in ATTACKS {
        let failed = env.wait_not_ready(attack.name, &revision).await;
        eprintln!("{}: {} {}", attack.name, failed.reason, failed.message);
        assert_eq!(failed.reason, "BuildFailed", "{}", failed.message);
        assert!(
            failed.message.contains(attack.entry),
            "{}: the message does not name the entry: {}",
            attack.name,
            failed.message
        );
        assert!(
            failed.message.contains("outside the build root"),
            "{}: {}",
            attack.name,
            failed.message
        );
    }

    let config_maps: Api<ConfigMap> = env.api();
    let names: Vec<String> = config_maps
        .list(&ListParams::default())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|cm| cm.metadata.name)
        .collect();
    assert!(
        names.iter().any(|name| name.starts_with("settings-")),
        "the allowed generator was not applied: {names:?}"
    );
    assert!(
        !names.iter().any(|name| name.starts_with("leak")),
        "a host file was published: {names:?}"
    );
    env.cleanup().await;
}
