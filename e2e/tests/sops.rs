//! End-to-end: an age-encrypted Secret (the SOPS fixture of kustomize-controller) committed to
//! the Git repository is decrypted in memory by kustomize-controller with the key from the
//! Kustomization's `decryption.secretRef`, and lands in the cluster as plaintext.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use std::collections::BTreeMap;

use common::{ConfigRepo, TestEnv, copy_dir, start_controllers, workspace_root};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::json;

/// The plaintext `regenerate.sh` encrypts into `fixtures/sops/age/secret.yaml`.
const PLAINTEXT: [(&str, &str); 3] = [
    ("username", "admin"),
    ("password", "s3cr3t-age"),
    ("token", "token-from-data"),
];

fn fixture(path: &str) -> std::path::PathBuf {
    workspace_root()
        .join("kustomization/tests/fixtures/sops")
        .join(path)
}

fn key_secret(key_file: &str) -> Secret {
    let key = std::fs::read_to_string(fixture(key_file)).unwrap();
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sops-age"},
        "stringData": {"identity.agekey": key},
    }))
    .unwrap()
}

/// With the wrong age key nothing is applied and the message says decryption failed; with the
/// right one the Secret holds the plaintext values and no SOPS metadata.
#[tokio::test(flavor = "multi_thread")]
async fn age_encrypted_secret_is_applied_as_plaintext() {
    let env = TestEnv::new("ks-sops").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let config = ConfigRepo::seed("master").await;
    copy_dir(&fixture("age"), &config.path("secrets"));
    let encrypted = config.read("secrets/secret.yaml");
    assert!(encrypted.contains("ENC[AES256_GCM,"), "not a SOPS file");
    for (_, plain) in PLAINTEXT {
        assert!(!encrypted.contains(plain), "{plain} is in the clear in Git");
    }
    let revision = config.commit("an age-encrypted Secret");

    let keys: Api<Secret> = env.api();
    keys.create(&PostParams::default(), &key_secret("keys/wrong.agekey"))
        .await
        .unwrap();
    env.create_git_repository("config", &config.url(), "master")
        .await;
    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "secrets"},
        "spec": {
            "interval": "1h", "path": "./secrets", "prune": true,
            // The fixture says `default`; the test's own namespace keeps tests independent.
            "targetNamespace": ns,
            "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    }))
    .await;

    let failed = env.wait_not_ready("secrets", &revision).await;
    eprintln!("wrong key: {} {}", failed.reason, failed.message);
    assert!(
        failed.message.to_lowercase().contains("decrypt"),
        "{}",
        failed.message
    );
    assert!(failed.message.contains("secret.yaml"), "{}", failed.message);
    let secrets: Api<Secret> = env.api();
    assert!(secrets.get_opt("db-credentials").await.unwrap().is_none());

    // The right key: applied, decrypted.
    keys.replace(
        "sops-age",
        &PostParams::default(),
        &key_secret("keys/age.agekey"),
    )
    .await
    .unwrap();
    let kustomizations = env.kustomizations();
    env.request_reconcile(&kustomizations, "secrets").await;
    env.wait_applied("secrets", &revision).await;
    let secret = secrets.get("db-credentials").await.unwrap();
    let data: BTreeMap<String, String> = secret
        .data
        .unwrap()
        .into_iter()
        .map(|(key, value)| (key, String::from_utf8(value.0).unwrap()))
        .collect();
    let expected: BTreeMap<String, String> = PLAINTEXT
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    assert_eq!(data, expected);
    assert_eq!(secret.metadata.labels.unwrap()["app"], "db");
    let annotations = secret.metadata.annotations.unwrap_or_default();
    assert!(
        annotations.values().all(|v| !v.contains("ENC[")),
        "{annotations:?}"
    );
    env.cleanup().await;
}

/// `--sops-age-secret`: a Kustomization without its own key Secret decrypts with the age key of
/// the controller's Secret (in the controller's namespace, `flux-system` here).
#[tokio::test(flavor = "multi_thread")]
async fn the_controller_age_secret_decrypts_without_a_secret_ref() {
    let env = TestEnv::new("ks-sops-ctl").await;
    let ns = env.ns.clone();
    let controller_namespace = "flux-system";
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(env.client.clone());
    let namespace = serde_json::from_value(json!({"metadata": {"name": controller_namespace}}));
    if let Err(error) = namespaces
        .create(&PostParams::default(), &namespace.unwrap())
        .await
    {
        assert!(
            matches!(&error, kube::Error::Api(e) if e.code == 409),
            "{error}"
        );
    }
    let key_name = format!("sops-age-{ns}");
    let mut key = key_secret("keys/age.agekey");
    key.metadata.name = Some(key_name.clone());
    let controller_keys: Api<Secret> = Api::namespaced(env.client.clone(), controller_namespace);
    controller_keys
        .create(&PostParams::default(), &key)
        .await
        .unwrap();
    let flag = format!("--sops-age-secret={key_name}");
    let _controllers = common::start_controllers_with(&env.client, &ns, false, &[&flag]).await;
    let config = ConfigRepo::seed("master").await;
    copy_dir(&fixture("age"), &config.path("secrets"));
    let revision = config.commit("an age-encrypted Secret");
    env.create_git_repository("config", &config.url(), "master")
        .await;
    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "secrets"},
        "spec": {
            "interval": "1h", "path": "./secrets", "prune": true,
            "targetNamespace": ns,
            "decryption": {"provider": "sops"},
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    }))
    .await;
    env.wait_applied("secrets", &revision).await;
    let secrets: Api<Secret> = env.api();
    let secret = secrets.get("db-credentials").await.unwrap();
    let password = secret.data.unwrap()["password"].0.clone();
    assert_eq!(String::from_utf8(password).unwrap(), "s3cr3t-age");
    controller_keys
        .delete(&key_name, &Default::default())
        .await
        .unwrap();
    env.cleanup().await;
}
