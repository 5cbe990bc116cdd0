//! image-reflector-controller in-process against the shared testenv and a real registry: the
//! tutorial's v1beta1 ImageRepository and semver ImagePolicy, wrong credentials, a registry down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use clap::Parser;
use eddy_api::image::{ImagePolicy, ImageRepository};
use eddy_image_automation::args::ReflectorArgs;
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use eddy_test_support::registry::Registry;
use kube::{
    Api, Client,
    api::{DynamicObject, Patch, PatchParams, PostParams},
    core::{ApiResource, GroupVersionKind},
};
use tokio_util::sync::CancellationToken;

/// The shared seed next to the repository, as eddy-api's seed example test finds it.
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/seed");
const TIMEOUT: Duration = Duration::from_secs(60);

fn start_controller(client: &Client, storage: &std::path::Path) {
    eddy_runtime::tls::install_crypto_provider();
    let storage_flag = format!("--storage-path={}", storage.display());
    let args = ReflectorArgs::try_parse_from([
        "image-reflector-controller",
        "--metrics-addr=127.0.0.1:0",
        "--health-addr=127.0.0.1:0",
        "--min-retry-delay=200ms",
        "--max-retry-delay=2s",
        &storage_flag,
    ])
    .unwrap();
    if std::env::var_os("EDDY_TEST_LOGS").is_some() {
        eddy_runtime::logging::init(args.common.log_level, args.common.log_encoding);
    }
    let process = Arc::new(ControllerProcess {
        name: "image-reflector-controller",
        client: client.clone(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    });
    tokio::spawn(eddy_image_automation::reflector::run::run_reconcilers(
        process,
        args,
        CancellationToken::new(),
    ));
}

/// The tutorial's v1beta1 ImageRepository and ImagePolicy, pointed at `image` in `namespace`.
fn tutorial_objects(
    image: &str,
    namespace: &str,
    api_version: Option<&str>,
) -> Vec<serde_json::Value> {
    let path = walk_find(std::path::Path::new(SEED), "image-automation-v1beta1.yaml").unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| {
            serde_json::to_value(serde_yaml_ng::Value::deserialize(document).unwrap()).unwrap()
        })
        .filter(|object| {
            matches!(
                object["kind"].as_str(),
                Some("ImageRepository" | "ImagePolicy")
            )
        })
        .map(|mut object| {
            object["metadata"]["namespace"] = namespace.into();
            if let Some(api_version) = api_version {
                object["apiVersion"] = api_version.into();
            }
            if object["kind"] == "ImageRepository" {
                object["spec"]["image"] = image.into();
            }
            object
        })
        .collect()
}

use serde::Deserialize;

fn walk_find(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = walk_find(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|file| file == name) {
            return Some(path);
        }
    }
    None
}

async fn create(client: &Client, namespace: &str, object: serde_json::Value) {
    let (group, version) = object["apiVersion"]
        .as_str()
        .unwrap()
        .split_once('/')
        .unwrap();
    let gvk = GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap());
    let resource = ApiResource::from_gvk(&gvk);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
}

fn ready_condition(
    conditions: Option<&Vec<eddy_api::meta::Condition>>,
) -> Option<(String, String, String)> {
    conditions?
        .iter()
        .find(|condition| condition.type_ == "Ready")
        .map(|condition| {
            (
                condition.status.clone(),
                condition.reason.clone(),
                condition.message.clone(),
            )
        })
}

async fn wait_policy_tag(api: &Api<ImagePolicy>, name: &str) -> String {
    eddy_test_support::wait_for(
        format!("ImagePolicy {name} latestRef"),
        TIMEOUT,
        async || {
            let policy = api.get(name).await?;
            Ok(policy
                .status
                .and_then(|status| status.latest_ref)
                .map(|latest| latest.tag))
        },
    )
    .await
    .unwrap()
}

async fn wait_repository_not_ready(api: &Api<ImageRepository>, name: &str) -> (String, String) {
    eddy_test_support::wait_for(
        format!("ImageRepository {name} Ready=False"),
        TIMEOUT,
        async || {
            let repository = api.get(name).await?;
            let ready = ready_condition(
                repository
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref()),
            );
            Ok(ready
                .filter(|(status, ..)| status == "False")
                .map(|(_, reason, message)| (reason, message)))
        },
    )
    .await
    .unwrap()
}

async fn semver_policy_resolves_and_survives_a_registry_outage(api_version: Option<&str>) {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "irc-tutorial")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let storage = tempfile::tempdir().unwrap();
    let mut registry = Registry::start().await.unwrap();
    registry
        .push_tags(
            "team/myapp",
            &[
                "0.9.0",
                "1.0.0",
                "1.2.3",
                "2.0.0-rc.1",
                "latest",
                "sha256-x.sig",
            ],
        )
        .await
        .unwrap();
    start_controller(&client, storage.path());
    for object in tutorial_objects(&registry.image("team/myapp"), &ns, api_version) {
        create(&client, &ns, object).await;
    }
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), &ns);
    assert_eq!(wait_policy_tag(&policies, "myapp").await, "1.2.3");
    let policy = policies.get("myapp").await.unwrap();
    let latest = policy.status.unwrap().latest_ref.unwrap();
    assert_eq!(latest.name, registry.image("team/myapp"));

    let repositories: Api<ImageRepository> = Api::namespaced(client.clone(), &ns);
    let status = repositories.get("myapp").await.unwrap().status.unwrap();
    assert_eq!(
        status.canonical_image_name.as_deref(),
        Some(registry.image("team/myapp").as_str())
    );
    assert_eq!(
        status.last_scan_result.unwrap().tag_count,
        5,
        "the .sig tag is excluded"
    );
    assert_eq!(
        status.observed_exclusion_list,
        Some(vec![r"^.*\.sig$".to_owned()])
    );

    registry.stop().await.unwrap();
    let request = serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "outage"}}});
    repositories
        .patch("myapp", &PatchParams::default(), &Patch::Merge(&request))
        .await
        .unwrap();
    let (reason, message) = wait_repository_not_ready(&repositories, "myapp").await;
    assert_eq!(reason, "ReadOperationFailed", "{message}");
    assert!(message.contains(registry.address()), "{message}");
    let kept = policies
        .get("myapp")
        .await
        .unwrap()
        .status
        .unwrap()
        .latest_ref
        .unwrap();
    assert_eq!(kept.tag, "1.2.3");
    namespace.cleanup().await.unwrap();
}

/// The tutorial's objects exactly as written (v1beta1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tutorial_v1beta1_semver_policy_resolves_and_survives_a_registry_outage() {
    semver_policy_resolves_and_survives_a_registry_outage(None).await;
}

/// The same objects at v1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tutorial_at_v1_semver_policy_resolves_and_survives_a_registry_outage() {
    semver_policy_resolves_and_survives_a_registry_outage(Some("image.toolkit.fluxcd.io/v1")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_reported() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "irc-auth")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let storage = tempfile::tempdir().unwrap();
    let registry = Registry::start_with_htpasswd("eddy", "right")
        .await
        .unwrap();
    registry
        .push_tags("team/private", &["1.0.0"])
        .await
        .unwrap();
    start_controller(&client, storage.path());
    let auth = base64_encode(b"eddy:wrong");
    let config = serde_json::json!({"auths": {registry.address(): {"auth": auth}}}).to_string();
    let secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "creds", "namespace": ns},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": config}
    });
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(secret).unwrap(),
        )
        .await
        .unwrap();
    create(&client, &ns, serde_json::json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
        "metadata": {"name": "private", "namespace": ns},
        "spec": {"image": registry.image("team/private"), "interval": "1m", "secretRef": {"name": "creds"}}
    }))
    .await;
    let repositories: Api<ImageRepository> = Api::namespaced(client.clone(), &ns);
    let (reason, message) = wait_repository_not_ready(&repositories, "private").await;
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(message.contains("refused the credentials"), "{message}");
    namespace.cleanup().await.unwrap();
}

/// A suspended ImageRepository is not scanned; resuming it scans at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_repository_is_not_scanned_until_resumed() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "irc-suspend")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let storage = tempfile::tempdir().unwrap();
    let registry = Registry::start().await.unwrap();
    registry.push_tags("team/app", &["1.0.0"]).await.unwrap();
    start_controller(&client, storage.path());
    create(
        &client,
        &ns,
        serde_json::json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "app", "namespace": ns},
            "spec": {"image": registry.image("team/app"), "interval": "1m", "suspend": true}
        }),
    )
    .await;
    let repositories: Api<ImageRepository> = Api::namespaced(client.clone(), &ns);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let suspended = repositories.get("app").await.unwrap();
    assert!(
        suspended
            .status
            .is_none_or(|status| status.last_scan_result.is_none()),
        "a suspended repository was scanned"
    );
    let resume = serde_json::json!({"spec": {"suspend": false}});
    repositories
        .patch("app", &PatchParams::default(), &Patch::Merge(&resume))
        .await
        .unwrap();
    let scanned =
        eddy_test_support::wait_for("the resumed repository's scan", TIMEOUT, async || {
            let repository = repositories.get("app").await?;
            Ok(repository
                .status
                .and_then(|status| status.last_scan_result)
                .map(|scan| scan.tag_count))
        })
        .await
        .unwrap();
    assert_eq!(scanned, 1);
    namespace.cleanup().await.unwrap();
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn create_secret(
    client: &Client,
    namespace: &str,
    name: &str,
    string_data: serde_json::Value,
) {
    let secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": string_data
    });
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), namespace);
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(secret).unwrap(),
        )
        .await
        .unwrap();
}

/// A `.dockerconfigjson` document with one `user:password` entry for `registry`.
fn docker_config(registry: &str, user: &str, password: &str) -> serde_json::Value {
    let auth = base64_encode(format!("{user}:{password}").as_bytes());
    let config = serde_json::json!({"auths": {registry: {"auth": auth}}}).to_string();
    serde_json::json!({ ".dockerconfigjson": config })
}

async fn wait_repository_tag_count(api: &Api<ImageRepository>, name: &str) -> i64 {
    eddy_test_support::wait_for(
        format!("ImageRepository {name} scan"),
        TIMEOUT,
        async || {
            let repository = api.get(name).await?;
            Ok(repository
                .status
                .and_then(|status| status.last_scan_result)
                .map(|scan| scan.tag_count))
        },
    )
    .await
    .unwrap()
}

/// Credentials from the ServiceAccount's `imagePullSecrets` (the first with an entry for the
/// registry host), and `secretRef` taking precedence over them when both are set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_pull_secrets_authenticate_after_secret_ref() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "irc-sa")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let storage = tempfile::tempdir().unwrap();
    let registry = Registry::start_with_htpasswd("eddy", "right")
        .await
        .unwrap();
    registry
        .push_tags("team/private", &["1.0.0", "1.1.0"])
        .await
        .unwrap();
    start_controller(&client, storage.path());
    let host = registry.address();
    create_secret(
        &client,
        &ns,
        "elsewhere",
        docker_config("ghcr.io", "x", "y"),
    )
    .await;
    create_secret(&client, &ns, "pull", docker_config(host, "eddy", "right")).await;
    create_secret(&client, &ns, "wrong", docker_config(host, "eddy", "wrong")).await;
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), &ns);
    let account = serde_json::json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "puller", "namespace": ns},
        "imagePullSecrets": [{"name": "elsewhere"}, {"name": "pull"}]
    });
    accounts
        .create(
            &PostParams::default(),
            &serde_json::from_value(account).unwrap(),
        )
        .await
        .unwrap();
    let repository = |name: &str, extra: serde_json::Value| {
        let mut spec = serde_json::json!({
            "image": registry.image("team/private"), "interval": "1m",
            "serviceAccountName": "puller"
        });
        spec.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": name, "namespace": ns}, "spec": spec
        })
    };
    create(
        &client,
        &ns,
        repository("by-account", serde_json::json!({})),
    )
    .await;
    create(
        &client,
        &ns,
        repository(
            "ref-first",
            serde_json::json!({"secretRef": {"name": "wrong"}}),
        ),
    )
    .await;
    let repositories: Api<ImageRepository> = Api::namespaced(client.clone(), &ns);
    assert_eq!(
        wait_repository_tag_count(&repositories, "by-account").await,
        2
    );
    let (reason, message) = wait_repository_not_ready(&repositories, "ref-first").await;
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(message.contains("refused the credentials"), "{message}");
    namespace.cleanup().await.unwrap();
}

/// A policy in another namespace is denied without `accessFrom`, still denied when the
/// selector does not match its namespace's labels, and resolves once it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_namespace_policy_follows_the_repository_access_from() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let home = eddy_test_support::TestNamespace::new(&client, "irc-acl-repo")
        .await
        .unwrap();
    let away = eddy_test_support::TestNamespace::new(&client, "irc-acl-policy")
        .await
        .unwrap();
    let (home_ns, away_ns) = (home.name().to_owned(), away.name().to_owned());
    let storage = tempfile::tempdir().unwrap();
    let registry = Registry::start().await.unwrap();
    registry
        .push_tags("team/shared", &["1.0.0", "2.0.0"])
        .await
        .unwrap();
    start_controller(&client, storage.path());
    create(
        &client,
        &home_ns,
        serde_json::json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "shared", "namespace": home_ns},
            "spec": {"image": registry.image("team/shared"), "interval": "1m"}
        }),
    )
    .await;
    create(
        &client,
        &away_ns,
        serde_json::json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": {"name": "shared", "namespace": away_ns},
            "spec": {"imageRepositoryRef": {"name": "shared", "namespace": home_ns},
                     "policy": {"semver": {"range": ">=1.0.0"}}}
        }),
    )
    .await;
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), &away_ns);
    let (reason, message) =
        wait_policy_not_ready(&policies, "shared", "has no spec.accessFrom").await;
    assert_eq!(reason, "AccessDenied", "{message}");
    assert!(message.contains(&away_ns), "{message}");

    let repositories: Api<ImageRepository> = Api::namespaced(client.clone(), &home_ns);
    let acl = serde_json::json!({"spec": {"accessFrom": {"namespaceSelectors": [
        {"matchLabels": {"eddy.test/team": "images"}}]}}});
    repositories
        .patch("shared", &PatchParams::default(), &Patch::Merge(&acl))
        .await
        .unwrap();
    let (reason, message) =
        wait_policy_not_ready(&policies, "shared", "accessFrom does not select").await;
    assert_eq!(reason, "AccessDenied", "{message}");
    assert!(
        policies
            .get("shared")
            .await
            .unwrap()
            .status
            .unwrap()
            .latest_ref
            .is_none()
    );

    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let label = serde_json::json!({"metadata": {"labels": {"eddy.test/team": "images"}}});
    namespaces
        .patch(&away_ns, &PatchParams::default(), &Patch::Merge(&label))
        .await
        .unwrap();
    assert_eq!(wait_policy_tag(&policies, "shared").await, "2.0.0");
    away.cleanup().await.unwrap();
    home.cleanup().await.unwrap();
}

async fn wait_policy_not_ready(
    api: &Api<ImagePolicy>,
    name: &str,
    message_part: &str,
) -> (String, String) {
    eddy_test_support::wait_for(
        format!("ImagePolicy {name} Ready=False with '{message_part}'"),
        TIMEOUT,
        async || {
            let policy = api.get(name).await?;
            let ready = ready_condition(policy.status.as_ref().and_then(|s| s.conditions.as_ref()));
            Ok(ready
                .filter(|(status, _, message)| status == "False" && message.contains(message_part))
                .map(|(_, reason, message)| (reason, message)))
        },
    )
    .await
    .unwrap()
}

async fn latest_digest(api: &Api<ImagePolicy>, name: &str) -> Option<(String, String)> {
    let latest = api.get(name).await.ok()?.status?.latest_ref?;
    Some((latest.tag, latest.digest?))
}

/// `Always` follows a tag moved to a new image every interval; `IfNotPresent` keeps the digest
/// it recorded for the same tag; `Never` records none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_reflection_follows_a_moved_tag_only_with_always() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "irc-digest")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let storage = tempfile::tempdir().unwrap();
    let registry = Registry::start().await.unwrap();
    registry.push_tags("team/app", &["0.9.0"]).await.unwrap();
    let first = registry
        .push_tags_labelled("team/app", &["1.0.0"], "first")
        .await
        .unwrap();
    start_controller(&client, storage.path());
    create(
        &client,
        &ns,
        serde_json::json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": "app", "namespace": ns},
            "spec": {"image": registry.image("team/app"), "interval": "1m"}
        }),
    )
    .await;
    for (name, digests) in [
        ("always", "Always"),
        ("once", "IfNotPresent"),
        ("never", "Never"),
    ] {
        let mut spec = serde_json::json!({
            "imageRepositoryRef": {"name": "app"},
            "policy": {"semver": {"range": ">=0.1.0"}},
            "digestReflectionPolicy": digests
        });
        if digests == "Always" {
            spec["interval"] = "1s".into();
        }
        create(
            &client,
            &ns,
            serde_json::json!({
                "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
                "metadata": {"name": name, "namespace": ns}, "spec": spec
            }),
        )
        .await;
    }
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), &ns);
    let expected = ("1.0.0".to_owned(), first.clone());
    for name in ["always", "once"] {
        let found = eddy_test_support::wait_for(format!("{name} digest"), TIMEOUT, async || {
            Ok(latest_digest(&policies, name).await)
        })
        .await
        .unwrap();
        assert_eq!(found, expected, "{name}");
    }
    assert_eq!(wait_policy_tag(&policies, "never").await, "1.0.0");
    assert!(latest_digest(&policies, "never").await.is_none());

    let moved = registry
        .push_tags_labelled("team/app", &["1.0.0"], "second")
        .await
        .unwrap();
    assert_ne!(moved, first);
    let followed = eddy_test_support::wait_for("the moved digest", TIMEOUT, async || {
        Ok(latest_digest(&policies, "always")
            .await
            .filter(|(_, digest)| *digest == moved))
    })
    .await
    .unwrap();
    assert_eq!(followed.0, "1.0.0");
    let always = policies.get("always").await.unwrap().status.unwrap();
    assert_eq!(
        always
            .observed_previous_ref
            .and_then(|previous| previous.digest),
        Some(first.clone()),
        "the previous digest is kept as observedPreviousRef"
    );

    let request = serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "after-move"}}});
    policies
        .patch("once", &PatchParams::default(), &Patch::Merge(&request))
        .await
        .unwrap();
    eddy_test_support::wait_for("IfNotPresent handles the request", TIMEOUT, async || {
        let status = policies.get("once").await?.status;
        Ok(status
            .and_then(|status| status.last_handled_reconcile_at)
            .filter(|at| at == "after-move"))
    })
    .await
    .unwrap();
    assert_eq!(latest_digest(&policies, "once").await, Some(expected));
    namespace.cleanup().await.unwrap();
}

/// `certSecretRef` with the CA and a client certificate reaches a registry that requires mTLS;
/// the CA alone is refused by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_secret_ref_gives_ca_and_client_certificate() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "irc-tls")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let storage = tempfile::tempdir().unwrap();
    let registry = Registry::start_mtls().await.unwrap();
    let digest = registry
        .push_tags("team/secure", &["1.0.0", "1.0.1", "1.0.2"])
        .await
        .unwrap();
    start_controller(&client, storage.path());
    let ca = registry.ca_pem().unwrap().to_owned();
    let identity = registry.client_identity().unwrap().clone();
    create_secret(
        &client,
        &ns,
        "mtls",
        serde_json::json!({
            "ca.crt": ca, "tls.crt": identity.certificate_pem, "tls.key": identity.key_pem
        }),
    )
    .await;
    create_secret(&client, &ns, "ca-only", serde_json::json!({"ca.crt": ca})).await;
    for (name, secret) in [("secure", "mtls"), ("no-client-cert", "ca-only")] {
        create(
            &client,
            &ns,
            serde_json::json!({
                "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"image": registry.image("team/secure"), "interval": "1m",
                         "certSecretRef": {"name": secret}}
            }),
        )
        .await;
    }
    create(
        &client,
        &ns,
        serde_json::json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": {"name": "secure", "namespace": ns},
            "spec": {"imageRepositoryRef": {"name": "secure"},
                     "policy": {"semver": {"range": "1.0.x"}},
                     "digestReflectionPolicy": "IfNotPresent"}
        }),
    )
    .await;
    let repositories: Api<ImageRepository> = Api::namespaced(client.clone(), &ns);
    assert_eq!(wait_repository_tag_count(&repositories, "secure").await, 3);
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), &ns);
    let found = eddy_test_support::wait_for("digest over mTLS", TIMEOUT, async || {
        Ok(latest_digest(&policies, "secure").await)
    })
    .await
    .unwrap();
    assert_eq!(found, ("1.0.2".to_owned(), digest));
    let (reason, message) = wait_repository_not_ready(&repositories, "no-client-cert").await;
    assert_eq!(reason, "ReadOperationFailed", "{message}");
    assert!(message.contains(registry.address()), "{message}");
    namespace.cleanup().await.unwrap();
}
