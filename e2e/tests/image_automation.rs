//! The tutorial's whole loop, end to end: a tag pushed to a real registry → the ImagePolicy
//! picks it → the ImageUpdateAutomation commits and pushes it to a real Git server →
//! source-controller fetches the commit → kustomize-controller applies it → the Deployment runs
//! the new tag. The tutorial's v1beta1 image objects are used as written (names, semver range,
//! message template); only the addresses and the path point at this test's servers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::time::Instant;

use eddy_e2e as common;

use common::{
    ConfigRepo, REQUESTED_AT, SHARD_LABEL, TIMEOUT, TestEnv, start_controllers,
    start_image_controllers,
};
use eddy_test_support::{git_server::git, registry::Registry, wait_for};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

const DEPLOYMENT: &str = "apps/myapp/base/deployment.yaml";

fn image_resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "image.toolkit.fluxcd.io",
        "v1beta1",
        kind,
    ))
}

/// The tutorial's ImageRepository, ImagePolicy and ImageUpdateAutomation.
fn tutorial_image_objects() -> Vec<Value> {
    let path = common::seed_examples().join("image-automation-v1beta1.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| {
            serde_json::to_value(
                <serde_yaml_ng::Value as serde::Deserialize>::deserialize(document).unwrap(),
            )
            .unwrap()
        })
        .filter(|object| object.is_object())
        .collect()
}

async fn deployment_image(deployments: &Api<Deployment>) -> Option<String> {
    let deployment = deployments.get_opt("myapp").await.ok()??;
    deployment
        .spec?
        .template
        .spec?
        .containers
        .first()?
        .image
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_push_reaches_the_deployment_through_git() {
    let env = TestEnv::new("image-loop").await;
    let ns = env.ns.clone();
    let mut registry = Registry::start().await.unwrap();
    let image = registry.image("myapp");
    registry.push_tags("myapp", &["1.0.0"]).await.unwrap();

    // The config repository's Deployment carries the tutorial's setter marker.
    let config = ConfigRepo::seed("main").await;
    git(&config.repo.bare, &["config", "http.receivepack", "true"]).unwrap();
    config.edit(DEPLOYMENT, |text| {
        text.replace(
            "image: registry.example.com/myapp:latest",
            &format!("image: {image}:1.0.0 # {{\"$imagepolicy\": \"{ns}:myapp\"}}"),
        )
    });
    config.commit("mark the image for automation");

    let _controllers = start_controllers(&env.client, &ns, false).await;
    let _image_controllers = start_image_controllers(&env.client, &ns).await;
    // Polled often: nothing but the interval tells source-controller about the automation's push.
    env.apply(
        &common::git_repository_resource("v1"),
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "flux-config"},
            "spec": {"url": config.url(), "interval": "5s", "ref": {"branch": "main"}},
        }),
    )
    .await;
    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "myapp"},
        "spec": {
            "interval": "1h",
            "path": "./apps/myapp/overlays/production",
            "prune": true,
            "targetNamespace": ns,
            "sourceRef": {"kind": "GitRepository", "name": "flux-config"},
        },
    }))
    .await;
    for mut object in tutorial_image_objects() {
        let kind = object["kind"].as_str().unwrap().to_owned();
        match kind.as_str() {
            "ImageRepository" => object["spec"]["image"] = image.clone().into(),
            // The tutorial's `./apps/myapp` is the seed repository's whole application.
            "ImageUpdateAutomation" => object["spec"]["update"]["path"] = "./apps/myapp".into(),
            _ => {}
        }
        env.apply(&image_resource(&kind), object).await;
    }

    let deployments: Api<Deployment> = env.api();
    let first = format!("{image}:1.0.0");
    wait_for("the Deployment at 1.0.0", TIMEOUT, async || {
        Ok(deployment_image(&deployments)
            .await
            .filter(|current| *current == first))
    })
    .await
    .unwrap();

    // A new tag: the registry's webhook would ask for a scan, as this request does.
    let started = Instant::now();
    registry.push_tags("myapp", &["1.0.1"]).await.unwrap();
    let repositories = common::namespaced(&env.client, &ns, &image_resource("ImageRepository"));
    let patch = json!({"metadata": {"annotations": {REQUESTED_AT: "new-tag"}}});
    repositories
        .patch("myapp", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let second = format!("{image}:1.0.1");
    let pushed = wait_for("the automation's commit", TIMEOUT, async || {
        let message = git(&config.repo.bare, &["log", "-1", "--format=%B", "main"])?;
        Ok(message
            .starts_with("Update image to")
            .then(|| (message, started.elapsed())))
    })
    .await
    .unwrap();
    wait_for("the Deployment at 1.0.1", TIMEOUT, async || {
        Ok(deployment_image(&deployments)
            .await
            .filter(|current| *current == second))
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "registry push → commit pushed: {:.2}s; → Deployment updated: {:.2}s (GitRepository interval 5s)",
        pushed.1.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    assert_eq!(
        pushed.0,
        format!("Update image to base/deployment.yaml: {second}")
    );
    let diff = git(&config.repo.bare, &["diff", "--stat", "main~1", "main"]).unwrap();
    assert!(
        diff.contains("1 file changed, 1 insertion(+), 1 deletion(-)"),
        "{diff}"
    );

    let automations =
        common::namespaced(&env.client, &ns, &image_resource("ImageUpdateAutomation"));
    let automation: DynamicObject = automations.get("myapp").await.unwrap();
    let head = git(&config.repo.bare, &["rev-parse", "main"]).unwrap();
    assert_eq!(
        common::string_at(&automation, "/status/lastPushCommit").as_deref(),
        Some(head.as_str())
    );
    assert!(
        automation
            .metadata
            .labels
            .unwrap()
            .contains_key(SHARD_LABEL)
    );
    registry.stop().await.unwrap();
    env.cleanup().await;
}
