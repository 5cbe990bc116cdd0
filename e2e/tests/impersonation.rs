//! End-to-end: a Kustomization's `serviceAccountName` makes kustomize-controller act as that
//! ServiceAccount (Kubernetes impersonation), so RBAC decides what it may apply.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use common::{ConfigRepo, TestEnv, inventory_ids, start_controllers, start_controllers_with};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{Service, ServiceAccount},
    rbac::v1::{Role, RoleBinding},
};
use kube::api::Api;
use serde_json::json;

/// Without RBAC the ServiceAccount may do nothing: `Ready=False` with the API server's
/// "forbidden" and nothing applied. Once a Role is bound to it, the same revision applies.
#[tokio::test(flavor = "multi_thread")]
async fn service_account_without_rbac_applies_nothing_until_granted() {
    let env = TestEnv::new("ks-impersonate").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let config = ConfigRepo::seed("master").await;
    let revision = config.revision();
    common::create::<ServiceAccount>(
        &env.client,
        &ns,
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer"}}),
    )
    .await;
    env.create_git_repository("config", &config.url(), "master")
        .await;
    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "myapp"},
        "spec": {
            "interval": "1h",
            "timeout": "90s",
            "path": "./apps/myapp/overlays/production",
            "prune": true,
            "wait": true,
            "targetNamespace": ns,
            "serviceAccountName": "deployer",
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    }))
    .await;

    let failed = env.wait_not_ready("myapp", &revision).await;
    eprintln!("without RBAC: {} {}", failed.reason, failed.message);
    assert!(
        failed.message.contains("forbidden"),
        "no permission problem in the message: {}",
        failed.message
    );
    assert!(
        failed
            .message
            .contains(&format!("system:serviceaccount:{ns}:deployer")),
        "the message does not name the impersonated account: {}",
        failed.message
    );
    let deployments: Api<Deployment> = env.api();
    let services: Api<Service> = env.api();
    assert!(deployments.get_opt("myapp").await.unwrap().is_none());
    assert!(services.get_opt("myapp").await.unwrap().is_none());
    let ks = env.kustomizations().get("myapp").await.unwrap();
    assert!(inventory_ids(&ks).is_empty(), "{:?}", inventory_ids(&ks));

    // Grant the account what the revision needs, in this namespace only.
    common::create::<Role>(
        &env.client,
        &ns,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "deployer"},
            "rules": [{"apiGroups": ["", "apps"], "resources": ["deployments", "services"],
                       "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}],
        }),
    )
    .await;
    common::create::<RoleBinding>(
        &env.client,
        &ns,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "deployer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}],
        }),
    )
    .await;
    let kustomizations = env.kustomizations();
    env.request_reconcile(&kustomizations, "myapp").await;
    let ks = env.wait_applied("myapp", &revision).await;
    assert_eq!(inventory_ids(&ks).len(), 2, "{:?}", inventory_ids(&ks));
    let deployment = deployments.get("myapp").await.unwrap();
    assert_eq!(deployment.spec.unwrap().replicas, Some(5));
    services.get("myapp").await.unwrap();

    env.cleanup().await;
}

/// Flux's multi-tenancy lockdown: `--default-service-account` makes a Kustomization without
/// `serviceAccountName` act as that account (here one without RBAC), and
/// `--no-cross-namespace-refs` refuses a source in another namespace.
#[tokio::test(flavor = "multi_thread")]
async fn lockdown_flags_impersonate_the_default_account_and_block_cross_namespace_sources() {
    let env = TestEnv::new("ks-lockdown").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers_with(
        &env.client,
        &ns,
        false,
        &[
            "--default-service-account=tenant",
            "--no-cross-namespace-refs",
        ],
    )
    .await;
    let config = ConfigRepo::seed("master").await;
    let revision = config.revision();
    common::create::<ServiceAccount>(
        &env.client,
        &ns,
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "tenant"}}),
    )
    .await;
    env.create_git_repository("config", &config.url(), "master")
        .await;
    let kustomization = |name: &str, source_namespace: Option<&str>| {
        let mut source = json!({"kind": "GitRepository", "name": "config"});
        if let Some(namespace) = source_namespace {
            source["namespace"] = json!(namespace);
        }
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name},
            "spec": {
                "interval": "1h",
                "path": "./apps/myapp/overlays/production",
                "prune": true,
                "targetNamespace": ns,
                "sourceRef": source,
            },
        })
    };
    env.create_kustomization(kustomization("own-source", None))
        .await;
    env.create_kustomization(kustomization("foreign-source", Some("another-tenant")))
        .await;

    let failed = env.wait_not_ready("own-source", &revision).await;
    assert!(
        failed.message.contains("forbidden")
            && failed
                .message
                .contains(&format!("system:serviceaccount:{ns}:tenant")),
        "not refused as the default service account: {}",
        failed.message
    );
    let blocked = env
        .wait_not_ready_because("foreign-source", "AccessDenied")
        .await;
    assert!(
        blocked
            .message
            .contains("another-tenant/config', cross-namespace references have been blocked"),
        "{}",
        blocked.message
    );
    let deployments: Api<Deployment> = env.api();
    assert!(deployments.get_opt("myapp").await.unwrap().is_none());

    env.cleanup().await;
}
