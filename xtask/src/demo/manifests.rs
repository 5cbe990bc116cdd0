//! The objects the demo applies: the tutorial's GitRepository and Kustomization at the older API
//! versions it writes them in (pointing at the local Git server), the Secret it names, and an
//! Alert with a generic webhook Provider.

use anyhow::Context;
use kube::{
    Client,
    api::{Api, DynamicObject, Patch, PatchParams},
    core::{ApiResource, GroupVersionKind},
};
use serde_json::{Value, json};

const FIELD_MANAGER: &str = "eddy-demo";

/// Basic-auth credentials of the demo's Git server, stored in the Secret the tutorial names.
pub const GIT_USERNAME: &str = "eddy";
pub const GIT_PASSWORD: &str = "circling-back";

pub async fn apply_all(
    client: &Client,
    repository_url: &str,
    webhook_url: &str,
) -> anyhow::Result<()> {
    for object in objects(repository_url, webhook_url) {
        apply(client, &object).await?;
    }
    Ok(())
}

fn objects(repository_url: &str, webhook_url: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "production"}}),
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "git-credentials", "namespace": "flux-system"},
            "stringData": {"username": GIT_USERNAME, "password": GIT_PASSWORD}
        }),
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "GitRepository",
            "metadata": {"name": "myapp", "namespace": "flux-system"},
            "spec": {
                "interval": "1m",
                "url": repository_url,
                "ref": {"branch": "main"},
                "secretRef": {"name": "git-credentials"}
            }
        }),
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2", "kind": "Kustomization",
            "metadata": {"name": "myapp", "namespace": "flux-system"},
            "spec": {
                "interval": "5m",
                "path": "./apps/myapp/overlays/production",
                "prune": true,
                "sourceRef": {"kind": "GitRepository", "name": "myapp"},
                "validation": "client",
                "healthChecks": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": "myapp", "namespace": "production"}
                ]
            }
        }),
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "terminal", "namespace": "flux-system"},
            "spec": {"type": "generic", "address": webhook_url}
        }),
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "everything", "namespace": "flux-system"},
            "spec": {
                "providerRef": {"name": "terminal"},
                "eventSeverity": "info",
                "eventSources": [
                    {"kind": "GitRepository", "name": "*"},
                    {"kind": "Kustomization", "name": "*"}
                ]
            }
        }),
    ]
}

async fn apply(client: &Client, object: &Value) -> anyhow::Result<()> {
    let api_version = object["apiVersion"]
        .as_str()
        .context("object without apiVersion")?;
    let kind = object["kind"].as_str().context("object without kind")?;
    let name = object["metadata"]["name"]
        .as_str()
        .context("object without name")?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .with_context(|| format!("cannot apply {kind} {name}"))?;
    Ok(())
}
