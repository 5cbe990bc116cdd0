//! End-to-end: the seed's config repository (`examples/config-repo`) pushed to a real Git
//! server, fetched by the real source-controller and applied by kustomize-controller, both
//! in-process against the testenv (issue #6's list).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use common::{
    ConfigRepo, TIMEOUT, TestEnv, git_repository_resource, inventory_ids, kustomization_resource,
    last_applied_revision, namespaced, ready_condition, start_controllers, string_at,
};
use eddy_test_support::{git_server::HttpServerOptions, wait_for};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Secret, Service},
};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

const OVERLAY: &str = "apps/myapp/overlays/production/kustomization.yaml";
const BASE: &str = "apps/myapp/base/kustomization.yaml";
const DEPLOYMENT: &str = "apps/myapp/base/deployment.yaml";

/// The production overlay's Kustomization as issue #6 describes it, in the test's namespace
/// (the overlay says `production`; each test has a namespace of its own).
fn myapp_kustomization(ns: &str) -> Value {
    json!({
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
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    })
}

/// The first container's `ENVIRONMENT` value and memory request and limit.
fn environment_and_memory(deployment: &Deployment) -> (String, String, String) {
    let container = &deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0];
    let env = container
        .env
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.name == "ENVIRONMENT")
        .unwrap()
        .value
        .clone()
        .unwrap();
    let resources = container.resources.as_ref().unwrap();
    let request = resources.requests.as_ref().unwrap()["memory"].0.clone();
    let limit = resources.limits.as_ref().unwrap()["memory"].0.clone();
    (env, request, limit)
}

fn replicas(deployment: &Deployment) -> Option<i32> {
    deployment.spec.as_ref().and_then(|s| s.replicas)
}

/// Seed steps 1–5 on one Kustomization: apply with health check, a replica change, a pruned
/// Service, drift correction after `kubectl scale`, and broken revisions that apply nothing.
#[tokio::test(flavor = "multi_thread")]
async fn seed_config_repo_lifecycle() {
    let env = TestEnv::new("ks-seed").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let config = ConfigRepo::seed("master").await;
    let deployments: Api<Deployment> = env.api();
    let services: Api<Service> = env.api();
    let kustomizations = env.kustomizations();

    // 1. The first commit: five production replicas, Available, Service present.
    let first = config.revision();
    env.create_git_repository("config", &config.url(), "master")
        .await;
    env.create_kustomization(myapp_kustomization(&ns)).await;
    let ks = env.wait_applied("myapp", &first).await;
    let ready = ready_condition(&ks).unwrap();
    assert_eq!(ready.reason, "ReconciliationSucceeded");
    assert_eq!(ready.message, format!("Applied revision: {first}"));
    assert_eq!(
        inventory_ids(&ks),
        [
            format!("{ns}_myapp__Service"),
            format!("{ns}_myapp_apps_Deployment")
        ]
    );
    let deployment = deployments.get("myapp").await.unwrap();
    assert_eq!(replicas(&deployment), Some(5));
    assert_eq!(
        environment_and_memory(&deployment),
        ("production".into(), "256Mi".into(), "512Mi".into())
    );
    assert_eq!(
        deployment.status.as_ref().unwrap().available_replicas,
        Some(5),
        "wait: true reported Ready before the rollout finished"
    );
    let labels = deployment.metadata.labels.unwrap();
    assert_eq!(labels["kustomize.toolkit.fluxcd.io/name"], "myapp");
    assert_eq!(labels["kustomize.toolkit.fluxcd.io/namespace"], ns);
    services.get("myapp").await.unwrap();

    // 2. A commit changes replicas to 3; a reconcile request on the GitRepository fetches it
    //    and the new artifact triggers the Kustomization.
    config.edit(OVERLAY, |text| text.replace("count: 5", "count: 3"));
    let second = config.commit("production: 3 replicas");
    env.fetch("config", &second).await;
    env.wait_applied("myapp", &second).await;
    assert_eq!(replicas(&deployments.get("myapp").await.unwrap()), Some(3));

    // 3. A commit deletes the Service: it is pruned.
    config.remove("apps/myapp/base/service.yaml");
    config.edit(BASE, |text| text.replace("- service.yaml\n", ""));
    let third = config.commit("drop the Service");
    env.fetch("config", &third).await;
    let ks = env.wait_applied("myapp", &third).await;
    assert_eq!(inventory_ids(&ks), [format!("{ns}_myapp_apps_Deployment")]);
    wait_for("the Service to be pruned", TIMEOUT, async || {
        Ok(services.get_opt("myapp").await?.is_none().then_some(()))
    })
    .await
    .unwrap();

    // 4. `kubectl scale deploy/myapp --replicas=1` (a patch of the scale subresource) is
    //    reverted by the next reconcile.
    deployments
        .patch_scale(
            "myapp",
            &PatchParams {
                field_manager: Some("kubectl".into()),
                ..Default::default()
            },
            &Patch::Merge(&json!({"spec": {"replicas": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(replicas(&deployments.get("myapp").await.unwrap()), Some(1));
    let token = env.request_reconcile(&kustomizations, "myapp").await;
    wait_for("the reconcile request to be handled", TIMEOUT, async || {
        let ks = kustomizations.get("myapp").await?;
        Ok(
            (string_at(&ks, "/status/lastHandledReconcileAt").as_deref() == Some(&token))
                .then_some(()),
        )
    })
    .await
    .unwrap();
    wait_for("the scale drift to be corrected", TIMEOUT, async || {
        Ok((replicas(&deployments.get("myapp").await?) == Some(3)).then_some(()))
    })
    .await
    .unwrap();

    // 5a. A commit with invalid YAML (and a replica change that must not be applied):
    //     Ready=False naming the file and the problem; the Deployment untouched.
    let good_deployment = config.read(DEPLOYMENT);
    config.write(
        DEPLOYMENT,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [unclosed\n",
    );
    config.edit(OVERLAY, |text| text.replace("count: 3", "count: 4"));
    let broken = config.commit("broken YAML");
    env.fetch("config", &broken).await;
    let failed = env.wait_not_ready("myapp", &broken).await;
    eprintln!("invalid YAML: {} {}", failed.reason, failed.message);
    assert_eq!(failed.reason, "BuildFailed", "{}", failed.message);
    assert!(
        failed.message.contains("deployment.yaml"),
        "the message does not name the file: {}",
        failed.message
    );
    // The parser's position of the problem: the unclosed flow sequence on line 4.
    assert!(failed.message.contains("line 4"), "{}", failed.message);
    assert_untouched(&env, &third).await;

    // 5b. The seed's `multi-env/base`: a Deployment without a selector. The commit that adds
    //     it also repairs the YAML, then the Kustomization is pointed at it: the server-side
    //     dry-run rejects the Deployment and nothing is applied.
    config.write(DEPLOYMENT, &good_deployment);
    config.edit(OVERLAY, |text| text.replace("count: 4", "count: 3"));
    config.add_seed_dir("multi-env", "multi-env");
    let fourth = config.commit("repair the YAML; add the seed's multi-env tree");
    env.fetch("config", &fourth).await;
    env.wait_applied("myapp", &fourth).await;
    let path_patch = |path: &str| {
        json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
               "metadata": {"name": "myapp", "namespace": ns}, "spec": {"path": path}})
    };
    kustomizations
        .patch(
            "myapp",
            &PatchParams::apply("e2e-path").force(),
            &Patch::Apply(path_patch("./multi-env/base")),
        )
        .await
        .unwrap();
    let failed = env
        .wait_not_ready_because("myapp", "ReconciliationFailed")
        .await;
    eprintln!("missing selector: {}", failed.message);
    assert!(
        failed
            .message
            .contains(&format!("Deployment/{ns}/myapp dry-run failed")),
        "the message does not name the object: {}",
        failed.message
    );
    assert!(failed.message.contains("selector"), "{}", failed.message);
    assert_untouched(&env, &fourth).await;

    // Back to the overlay: Ready again.
    kustomizations
        .patch(
            "myapp",
            &PatchParams::apply("e2e-path").force(),
            &Patch::Apply(path_patch("./apps/myapp/overlays/production")),
        )
        .await
        .unwrap();
    env.wait_applied("myapp", &fourth).await;
    env.cleanup().await;
}

/// The Deployment still is what `applied` made it, and the Kustomization still names
/// `applied` as its last applied revision.
async fn assert_untouched(env: &TestEnv, applied: &str) {
    let ks = env.kustomizations().get("myapp").await.unwrap();
    assert_eq!(last_applied_revision(&ks).as_deref(), Some(applied));
    let deployment = env.api::<Deployment>().get("myapp").await.unwrap();
    assert_eq!(
        replicas(&deployment),
        Some(3),
        "a rejected revision changed the Deployment"
    );
    assert_eq!(
        environment_and_memory(&deployment),
        ("production".into(), "256Mi".into(), "512Mi".into())
    );
}

/// Seed step 6: the seed's v1beta2 GitRepository (with its `secretRef` basic auth) and v1beta2
/// Kustomization (`validation: client`, `healthChecks`) reconcile the same way.
#[tokio::test(flavor = "multi_thread")]
async fn seed_v1beta2_objects() {
    let env = TestEnv::new("ks-v1beta2").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let options = HttpServerOptions {
        basic_auth: Some(("flux".into(), "e2e-password".into())),
        ..Default::default()
    };
    // The seed's GitRepository follows `main`.
    let config = ConfigRepo::seed_with("main", options).await;
    env.api::<Secret>()
        .create(
            &Default::default(),
            &serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git-credentials"},
                "stringData": {"username": "flux", "password": "e2e-password"},
            }))
            .unwrap(),
        )
        .await
        .unwrap();

    let seed_manifest = |file: &str| -> Value {
        let text = std::fs::read_to_string(common::seed_examples().join(file)).unwrap();
        serde_yaml_ng::from_str(&text).unwrap()
    };
    let mut repository = seed_manifest("gitrepository-v1beta2.yaml");
    assert_eq!(repository["apiVersion"], "source.toolkit.fluxcd.io/v1beta2");
    assert_eq!(repository["spec"]["secretRef"]["name"], "git-credentials");
    repository["spec"]["url"] = json!(config.url());
    env.apply(&git_repository_resource("v1beta2"), repository)
        .await;

    let mut manifest = seed_manifest("kustomization-v1beta2.yaml");
    assert_eq!(
        manifest["apiVersion"],
        "kustomize.toolkit.fluxcd.io/v1beta2"
    );
    assert_eq!(manifest["spec"]["validation"], "client");
    let first = config.revision();
    let deployments: Api<Deployment> = env.api();

    // As written, the seed points at `./apps/myapp`: without a kustomization there, the base and
    // both overlays are built together, and the base's Deployment has no namespace. Flux refuses
    // that before applying anything, and so does Eddy.
    env.apply(&kustomization_resource("v1beta2"), manifest.clone())
        .await;
    let refused = env.wait_not_ready("myapp", &first).await;
    assert!(
        refused
            .message
            .contains("Deployment/myapp namespace not specified"),
        "{refused:?}"
    );
    assert!(deployments.get_opt("myapp").await.unwrap().is_none());

    // The tutorial's overlay, in the test's own namespace so tests stay independent.
    manifest["spec"]["path"] = json!("./apps/myapp/overlays/production");
    manifest["spec"]["targetNamespace"] = json!(ns);
    manifest["spec"]["healthChecks"][0]["namespace"] = json!(ns);
    let legacy = namespaced(&env.client, &ns, &kustomization_resource("v1beta2"));
    env.apply(&kustomization_resource("v1beta2"), manifest)
        .await;

    let ks = env.wait_applied("myapp", &first).await;
    let healthy = common::condition(&ks, "Healthy").unwrap();
    assert_eq!(healthy.status, "True", "{healthy:?}");
    let deployment = deployments.get("myapp").await.unwrap();
    assert_eq!(deployment.status.unwrap().available_replicas, Some(5));
    // The stored object kept the v1beta2-only field.
    assert_eq!(
        legacy.get("myapp").await.unwrap().data["spec"]["validation"],
        "client"
    );

    // A commit, fetched on request through the old API version, is applied.
    config.edit(OVERLAY, |text| text.replace("count: 5", "count: 3"));
    let second = config.commit("production: 3 replicas");
    let old_repositories = namespaced(&env.client, &ns, &git_repository_resource("v1beta2"));
    env.request_reconcile(&old_repositories, "myapp").await;
    env.wait_applied("myapp", &second).await;
    assert_eq!(replicas(&deployments.get("myapp").await.unwrap()), Some(3));
    env.cleanup().await;
}

const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.e2e.eddy.dev
spec:
  group: e2e.eddy.dev
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

/// A CRD and its custom resource in one revision; a second Kustomization `dependsOn` the
/// first; then the source goes away; deleting a Kustomization prunes what it applied.
#[tokio::test(flavor = "multi_thread")]
async fn crd_with_resource_depends_on_and_vanishing_source() {
    let env = TestEnv::new("ks-deps").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let config = ConfigRepo::seed("master").await;
    config.write("infra/crd.yaml", WIDGET_CRD);
    config.write(
        "infra/widget.yaml",
        &format!("apiVersion: e2e.eddy.dev/v1\nkind: Widget\nmetadata:\n  name: first\n  namespace: {ns}\nsize: 1\n"),
    );
    // A plain directory (no kustomization.yaml) with substituted values.
    config.write(
        "plain/config.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: {ns}\ndata:\n  greeting: ${{greeting:=hello}}\n  cluster: ${{cluster}}\n"),
    );
    let revision = config.commit("infra and a plain app");
    env.create_git_repository("config", &config.url(), "master")
        .await;
    env.wait_artifact("config", &revision).await;

    // The dependant first: it must wait for `infra`.
    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps"},
        "spec": {
            "interval": "1h", "path": "./plain", "prune": true,
            "dependsOn": [{"name": "infra"}],
            "postBuild": {"substitute": {"cluster": "e2e"}},
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    }))
    .await;
    let waiting = env
        .wait_not_ready_because("apps", "DependencyNotReady")
        .await;
    assert!(waiting.message.contains("infra"), "{}", waiting.message);

    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "infra"},
        "spec": {
            "interval": "1h", "path": "./infra", "prune": true, "wait": true,
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    }))
    .await;
    env.wait_applied("infra", &revision).await;
    let widgets = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("e2e.eddy.dev", "v1", "Widget"),
        "widgets",
    );
    let widget_api: Api<DynamicObject> = namespaced(&env.client, &ns, &widgets);
    assert_eq!(widget_api.get("first").await.unwrap().data["size"], 1);

    env.wait_applied("apps", &revision).await;
    let data = env
        .api::<ConfigMap>()
        .get("app")
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(data["greeting"], "hello");
    assert_eq!(data["cluster"], "e2e");

    // The source goes away: Ready=False ArtifactFailed, applied objects untouched. The request
    // waits until source-controller's finalizer has let the object go: before that the
    // Kustomization still sees the old artifact and rightly applies it.
    let repositories = env.git_repositories();
    repositories
        .delete("config", &Default::default())
        .await
        .unwrap();
    wait_for("the GitRepository to be gone", TIMEOUT, async || {
        Ok(repositories
            .get_opt("config")
            .await?
            .is_none()
            .then_some(()))
    })
    .await
    .unwrap();
    let kustomizations = env.kustomizations();
    env.request_reconcile(&kustomizations, "apps").await;
    let failed = env.wait_not_ready_because("apps", "ArtifactFailed").await;
    assert!(
        failed.message.contains("GitRepository") && failed.message.contains("not found"),
        "{}",
        failed.message
    );
    env.api::<ConfigMap>().get("app").await.unwrap();

    // Deleting a Kustomization with prune removes what it applied.
    kustomizations
        .delete("infra", &Default::default())
        .await
        .unwrap();
    wait_for(
        "the Widget to be pruned with its Kustomization",
        TIMEOUT,
        async || {
            // The CRD is pruned too, after which the kind itself is gone (a bare 404).
            match widget_api.get_opt("first").await {
                Ok(found) => Ok(found.is_none().then_some(())),
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(Some(())),
                Err(error) => Err(error.into()),
            }
        },
    )
    .await
    .unwrap();
    env.cleanup().await;
}
