//! End-to-end: kustomize-controller in-process against the testenv, reconciling the seed's
//! config repository (`examples/config-repo`) served as source artifacts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::{path::Path, time::Duration};

use eddy_e2e::{
    artifacts::{ArtifactServer, publish_git_repository},
    kustomize::{SHARD_LABEL, start_kustomize_controller},
};
use eddy_test_support::{TestNamespace, client, install_crds, wait_for};
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Service};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(120);

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Copies the seed's config repository into a fresh directory the test can commit to.
fn config_repo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&workspace_root().join("examples/config-repo"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn kustomizations(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
        "kustomizations",
    );
    Api::namespaced_with(client.clone(), namespace, &resource)
}

async fn create_kustomization(
    client: &kube::Client,
    namespace: &str,
    shard: &str,
    manifest: Value,
) {
    let mut manifest = manifest;
    manifest["metadata"]["namespace"] = json!(namespace);
    manifest["metadata"]["labels"] = json!({ SHARD_LABEL: shard });
    let name = manifest["metadata"]["name"].as_str().unwrap().to_owned();
    kustomizations(client, namespace)
        .patch(
            &name,
            &PatchParams::apply("eddy-e2e").force(),
            &Patch::Apply(&manifest),
        )
        .await
        .unwrap();
}

fn ready_condition(object: &DynamicObject) -> Option<(String, String, String)> {
    let conditions = object.data.pointer("/status/conditions")?.as_array()?;
    let ready = conditions.iter().find(|c| c["type"] == "Ready")?;
    Some((
        ready["status"].as_str()?.to_owned(),
        ready["reason"].as_str()?.to_owned(),
        ready["message"].as_str()?.to_owned(),
    ))
}

/// Waits until the Kustomization is Ready and has applied `revision`.
async fn wait_applied(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    revision: &str,
) -> DynamicObject {
    let api = kustomizations(client, namespace);
    wait_for(
        format!("Kustomization {name} to apply {revision}"),
        TIMEOUT,
        async || {
            let object = api.get(name).await?;
            let applied = object
                .data
                .pointer("/status/lastAppliedRevision")
                .and_then(Value::as_str);
            let ready = ready_condition(&object);
            Ok(
                (applied == Some(revision) && ready.as_ref().is_some_and(|r| r.0 == "True"))
                    .then_some(object),
            )
        },
    )
    .await
    .unwrap()
}

async fn wait_not_ready(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    revision: &str,
) -> (String, String) {
    let api = kustomizations(client, namespace);
    wait_for(
        format!("Kustomization {name} to fail on {revision}"),
        TIMEOUT,
        async || {
            let object = api.get(name).await?;
            let attempted = object
                .data
                .pointer("/status/lastAttemptedRevision")
                .and_then(Value::as_str);
            Ok(match ready_condition(&object) {
                Some((status, reason, message))
                    if status == "False" && attempted == Some(revision) =>
                {
                    Some((reason, message))
                }
                _ => None,
            })
        },
    )
    .await
    .unwrap()
}

async fn request_reconcile(client: &kube::Client, namespace: &str, name: &str) {
    let now = format!("{:?}", std::time::SystemTime::now());
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": now}}});
    kustomizations(client, namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

fn container_env(deployment: &Deployment) -> (String, String, String) {
    let container = &deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0];
    let env = container.env.as_ref().unwrap()[0].value.clone().unwrap();
    let resources = container.resources.as_ref().unwrap();
    let request = resources.requests.as_ref().unwrap()["memory"].0.clone();
    let limit = resources.limits.as_ref().unwrap()["memory"].0.clone();
    (env, request, limit)
}

/// Seed steps 1–5 on one Kustomization: apply with health check, a replica change, a pruned
/// Service, drift correction after `kubectl scale`, and a broken revision that applies nothing.
#[tokio::test]
async fn seed_config_repo_lifecycle() {
    let client = client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "ks-seed").await.unwrap();
    let ns = namespace.name().to_owned();
    let server = ArtifactServer::start().await.unwrap();
    let _controller = start_kustomize_controller(&client, &ns, &[]).unwrap();
    let repo = config_repo_copy();

    // 1. First revision: five production replicas, Available, Service present.
    let first = server.publish_dir("seed", repo.path()).unwrap();
    publish_git_repository(&client, &ns, "seed", &first)
        .await
        .unwrap();
    create_kustomization(
        &client,
        &ns,
        &ns,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "myapp"},
            "spec": {
                "interval": "10m",
                "timeout": "90s",
                "path": "./apps/myapp/overlays/production",
                "prune": true,
                "wait": true,
                // The overlay says `production`; each test gets a namespace of its own.
                "targetNamespace": ns,
                "sourceRef": {"kind": "GitRepository", "name": "seed"},
            },
        }),
    )
    .await;
    let ks = wait_applied(&client, &ns, "myapp", &first.revision).await;
    let (_, reason, message) = ready_condition(&ks).unwrap();
    assert_eq!(reason, "ReconciliationSucceeded");
    assert_eq!(message, format!("Applied revision: {}", first.revision));
    let inventory: Vec<&str> = ks
        .data
        .pointer("/status/inventory/entries")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        inventory,
        [
            format!("{ns}_myapp__Service"),
            format!("{ns}_myapp_apps_Deployment")
        ]
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let deployment = deployments.get("myapp").await.unwrap();
    assert_eq!(deployment.spec.as_ref().unwrap().replicas, Some(5));
    assert_eq!(
        container_env(&deployment),
        ("production".into(), "256Mi".into(), "512Mi".into())
    );
    let status = deployment.status.unwrap();
    assert_eq!(
        status.available_replicas,
        Some(5),
        "wait: true returned before the rollout finished"
    );
    let labels = deployment.metadata.labels.unwrap();
    assert_eq!(labels["kustomize.toolkit.fluxcd.io/name"], "myapp");
    assert_eq!(labels["kustomize.toolkit.fluxcd.io/namespace"], ns);
    services.get("myapp").await.unwrap();

    // 2. A commit changes replicas to 3.
    let overlay = repo
        .path()
        .join("apps/myapp/overlays/production/kustomization.yaml");
    let text = std::fs::read_to_string(&overlay).unwrap();
    std::fs::write(&overlay, text.replace("count: 5", "count: 3")).unwrap();
    let second = server.publish_dir("seed", repo.path()).unwrap();
    publish_git_repository(&client, &ns, "seed", &second)
        .await
        .unwrap();
    request_reconcile(&client, &ns, "myapp").await;
    wait_applied(&client, &ns, "myapp", &second.revision).await;
    assert_eq!(
        deployments
            .get("myapp")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(3)
    );

    // 3. A commit deletes the Service: it is pruned.
    std::fs::remove_file(repo.path().join("apps/myapp/base/service.yaml")).unwrap();
    let base = repo.path().join("apps/myapp/base/kustomization.yaml");
    let text = std::fs::read_to_string(&base).unwrap();
    std::fs::write(&base, text.replace("- service.yaml\n", "")).unwrap();
    let third = server.publish_dir("seed", repo.path()).unwrap();
    publish_git_repository(&client, &ns, "seed", &third)
        .await
        .unwrap();
    wait_applied(&client, &ns, "myapp", &third.revision).await;
    wait_for("the Service to be pruned", TIMEOUT, async || {
        Ok(services.get_opt("myapp").await?.is_none().then_some(()))
    })
    .await
    .unwrap();

    // 4. `kubectl scale` drift is reverted at the next reconcile.
    let scale = json!({"spec": {"replicas": 1}});
    deployments
        .patch_scale(
            "myapp",
            &PatchParams {
                field_manager: Some("kubectl".into()),
                ..Default::default()
            },
            &Patch::Merge(&scale),
        )
        .await
        .unwrap();
    assert_eq!(
        deployments
            .get("myapp")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(1)
    );
    request_reconcile(&client, &ns, "myapp").await;
    wait_for("drift to be corrected", TIMEOUT, async || {
        Ok((deployments
            .get("myapp")
            .await?
            .spec
            .and_then(|s| s.replicas)
            == Some(3))
        .then_some(()))
    })
    .await
    .unwrap();

    // 5a. Invalid YAML: Ready=False naming the file; nothing applied.
    let deployment_file = repo.path().join("apps/myapp/base/deployment.yaml");
    let good_deployment = std::fs::read_to_string(&deployment_file).unwrap();
    std::fs::write(
        &deployment_file,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [unclosed\n",
    )
    .unwrap();
    let broken = server.publish_dir("seed", repo.path()).unwrap();
    publish_git_repository(&client, &ns, "seed", &broken)
        .await
        .unwrap();
    let (reason, message) = wait_not_ready(&client, &ns, "myapp", &broken.revision).await;
    assert_eq!(reason, "BuildFailed", "{message}");
    assert!(
        message.contains("deployment.yaml"),
        "message does not name the file: {message}"
    );

    // 5b. A Deployment without a selector (the defect of the seed's multi-env base, applied to
    // this repository's Deployment so the production overlay's patches still build): the
    // server-side dry-run rejects it.
    let no_selector =
        good_deployment.replace("  selector:\n    matchLabels:\n      app: myapp\n", "");
    assert_ne!(no_selector, good_deployment);
    std::fs::write(&deployment_file, no_selector).unwrap();
    let invalid = server.publish_dir("seed", repo.path()).unwrap();
    publish_git_repository(&client, &ns, "seed", &invalid)
        .await
        .unwrap();
    let (reason, message) = wait_not_ready(&client, &ns, "myapp", &invalid.revision).await;
    assert_eq!(reason, "ReconciliationFailed", "{message}");
    assert!(
        message.contains(&format!("Deployment/{ns}/myapp dry-run failed (Invalid)")),
        "{message}"
    );
    assert!(message.contains("selector"), "{message}");
    let ks = kustomizations(&client, &ns).get("myapp").await.unwrap();
    assert_eq!(
        ks.data
            .pointer("/status/lastAppliedRevision")
            .and_then(Value::as_str),
        Some(third.revision.as_str())
    );
    let deployment = deployments.get("myapp").await.unwrap();
    assert_eq!(
        deployment.spec.as_ref().unwrap().replicas,
        Some(3),
        "the broken revision changed the Deployment"
    );
    assert_eq!(container_env(&deployment).0, "production");

    // Back to a good revision: Ready again.
    std::fs::write(&deployment_file, good_deployment).unwrap();
    let fixed = server.publish_dir("seed", repo.path()).unwrap();
    publish_git_repository(&client, &ns, "seed", &fixed)
        .await
        .unwrap();
    wait_applied(&client, &ns, "myapp", &fixed.revision).await;

    namespace.cleanup().await.unwrap();
}

/// Seed step 6: the old API version (v1beta2 with `validation: client` and `healthChecks`)
/// reconciles the same way.
#[tokio::test]
async fn seed_v1beta2_kustomization() {
    let client = client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "ks-v1beta2").await.unwrap();
    let ns = namespace.name().to_owned();
    let server = ArtifactServer::start().await.unwrap();
    let _controller = start_kustomize_controller(&client, &ns, &[]).unwrap();
    let repo = config_repo_copy();
    let packed = server.publish_dir("seed", repo.path()).unwrap();
    publish_git_repository(&client, &ns, "myapp", &packed)
        .await
        .unwrap();

    let seed =
        std::fs::read_to_string(workspace_root().join("examples/kustomization-v1beta2.yaml"))
            .unwrap();
    let mut manifest: Value = serde_yaml_ng::from_str(&seed).unwrap();
    assert_eq!(
        manifest["apiVersion"],
        "kustomize.toolkit.fluxcd.io/v1beta2"
    );
    assert_eq!(manifest["spec"]["validation"], "client");
    // The seed points at `./apps/myapp` (no kustomization there) and the `production`
    // namespace; the overlay and the test's own namespace keep tests independent.
    manifest["spec"]["path"] = json!("./apps/myapp/overlays/production");
    manifest["spec"]["targetNamespace"] = json!(ns);
    manifest["spec"]["healthChecks"][0]["namespace"] = json!(ns);
    manifest["metadata"]["namespace"] = json!(ns);
    manifest["metadata"]["labels"] = json!({ SHARD_LABEL: ns });
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk(
            "kustomize.toolkit.fluxcd.io",
            "v1beta2",
            "Kustomization",
        ),
        "kustomizations",
    );
    let legacy: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &resource);
    legacy
        .patch(
            "myapp",
            &PatchParams::apply("eddy-e2e").force(),
            &Patch::Apply(&manifest),
        )
        .await
        .unwrap();

    let ks = wait_applied(&client, &ns, "myapp", &packed.revision).await;
    let healthy = ks
        .data
        .pointer("/status/conditions")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Healthy")
        .cloned()
        .unwrap();
    assert_eq!(healthy["status"], "True", "{healthy}");
    let deployment: Deployment = Api::namespaced(client.clone(), &ns)
        .get("myapp")
        .await
        .unwrap();
    assert_eq!(deployment.status.unwrap().available_replicas, Some(5));
    // The stored object kept the v1beta2-only field.
    assert_eq!(
        legacy.get("myapp").await.unwrap().data["spec"]["validation"],
        "client"
    );
    namespace.cleanup().await.unwrap();
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
/// first; then the source goes away.
#[tokio::test]
async fn crd_with_resource_depends_on_and_vanishing_source() {
    let client = client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "ks-deps").await.unwrap();
    let ns = namespace.name().to_owned();
    let server = ArtifactServer::start().await.unwrap();
    let _controller = start_kustomize_controller(&client, &ns, &[]).unwrap();

    let repo = tempfile::tempdir().unwrap();
    let infra = repo.path().join("infra");
    let apps = repo.path().join("apps");
    std::fs::create_dir_all(&infra).unwrap();
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::write(infra.join("crd.yaml"), WIDGET_CRD).unwrap();
    std::fs::write(
        infra.join("widget.yaml"),
        format!("apiVersion: e2e.eddy.dev/v1\nkind: Widget\nmetadata:\n  name: first\n  namespace: {ns}\nsize: 1\n"),
    )
    .unwrap();
    // Plain directory (no kustomization.yaml) with a substituted value.
    std::fs::write(
        apps.join("config.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: {ns}\ndata:\n  greeting: ${{greeting:=hello}}\n  cluster: ${{cluster}}\n"),
    )
    .unwrap();
    let packed = server.publish_dir("repo", repo.path()).unwrap();
    publish_git_repository(&client, &ns, "repo", &packed)
        .await
        .unwrap();

    // The dependant first: it must wait for `infra`.
    create_kustomization(
        &client,
        &ns,
        &ns,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "apps"},
            "spec": {
                "interval": "10m", "path": "./apps", "prune": true,
                "dependsOn": [{"name": "infra"}],
                "postBuild": {"substitute": {"cluster": "e2e"}},
                "sourceRef": {"kind": "GitRepository", "name": "repo"},
            },
        }),
    )
    .await;
    let api = kustomizations(&client, &ns);
    let message = wait_for("apps to wait for infra", TIMEOUT, async || {
        let object = api.get("apps").await?;
        Ok(match ready_condition(&object) {
            Some((status, reason, message))
                if status == "False" && reason == "DependencyNotReady" =>
            {
                Some(message)
            }
            _ => None,
        })
    })
    .await
    .unwrap();
    assert!(message.contains("infra"), "{message}");

    create_kustomization(
        &client,
        &ns,
        &ns,
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "infra"},
            "spec": {
                "interval": "10m", "path": "./infra", "prune": true, "wait": true,
                "sourceRef": {"kind": "GitRepository", "name": "repo"},
            },
        }),
    )
    .await;
    wait_applied(&client, &ns, "infra", &packed.revision).await;
    let widgets = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("e2e.eddy.dev", "v1", "Widget"),
        "widgets",
    );
    let widget = Api::<DynamicObject>::namespaced_with(client.clone(), &ns, &widgets)
        .get("first")
        .await
        .unwrap();
    assert_eq!(widget.data["size"], 1);

    wait_applied(&client, &ns, "apps", &packed.revision).await;
    let config: k8s_openapi::api::core::v1::ConfigMap = Api::namespaced(client.clone(), &ns)
        .get("app")
        .await
        .unwrap();
    let data = config.data.unwrap();
    assert_eq!(data["greeting"], "hello");
    assert_eq!(data["cluster"], "e2e");

    // The source goes away: Ready=False ArtifactFailed, applied objects untouched.
    eddy_e2e::artifacts::withdraw_git_repository(&client, &ns, "repo")
        .await
        .unwrap();
    request_reconcile(&client, &ns, "apps").await;
    let message = wait_for("apps to report the missing source", TIMEOUT, async || {
        let object = api.get("apps").await?;
        Ok(match ready_condition(&object) {
            Some((status, reason, message)) if status == "False" && reason == "ArtifactFailed" => {
                Some(message)
            }
            _ => None,
        })
    })
    .await
    .unwrap();
    assert!(
        message.contains("GitRepository") && message.contains("not found"),
        "{message}"
    );
    Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(client.clone(), &ns)
        .get("app")
        .await
        .unwrap();

    // Deleting a Kustomization with prune removes what it applied.
    api.delete("infra", &Default::default()).await.unwrap();
    wait_for(
        "the Widget to be pruned with its Kustomization",
        TIMEOUT,
        async || {
            // The CRD is pruned too, after which the kind itself is gone (a bare 404).
            let api = Api::<DynamicObject>::namespaced_with(client.clone(), &ns, &widgets);
            match api.get_opt("first").await {
                Ok(found) => Ok(found.is_none().then_some(())),
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(Some(())),
                Err(error) => Err(error.into()),
            }
        },
    )
    .await
    .unwrap();
    namespace.cleanup().await.unwrap();
}
