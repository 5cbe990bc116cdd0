//! `cargo xtask demo`: Eddy on a local control plane.
//!
//! Today it shows the API half of Eddy: it starts the testenv, installs Eddy's CRDs, applies the
//! tutorial's manifests (written at Flux's *older* API versions, which current Flux rejects) and
//! reads them back at the current versions. It grows into the full GitOps loop as the controllers
//! land.

use std::{path::Path, time::Instant};

use anyhow::Context;
use kube::{
    Client,
    api::{Api, DynamicObject, Patch, PatchParams},
    core::{ApiResource, GroupVersionKind},
};
use serde::Deserialize;

use crate::workspace;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Stop the testenv when the demo ends (by default it keeps running so you can explore it).
    #[arg(long)]
    down: bool,
}

/// The tutorial's manifests, applied as a user would apply them.
const EXAMPLES: &[&str] = &[
    "gitrepository-v1beta2.yaml",
    "kustomization-v1beta2.yaml",
    "helmrelease-v2beta1.yaml",
    "image-automation-v1beta1.yaml",
];

/// Namespaces the examples live in.
const NAMESPACES: &[&str] = &["flux-system", "production"];

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    eprintln!("==> starting the local control plane (the first run builds it from source)");
    let kubeconfig = eddy_testenv::up().context("the testenv did not start")?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(show_api(&kubeconfig))?;
    eprintln!();
    eprintln!("Ready in {:.0?}. Explore it with:", started.elapsed());
    eprintln!("  export KUBECONFIG={}", kubeconfig.display());
    eprintln!("  kubectl get gitrepositories,kustomizations,helmreleases -A");
    eprintln!("  kubectl get gitrepository myapp -n flux-system -o yaml");
    if args.down {
        eddy_testenv::down().context("cannot stop the testenv")?;
        eprintln!("testenv stopped");
    } else {
        eprintln!("Stop it with: cargo xtask testenv down");
    }
    Ok(())
}

async fn show_api(kubeconfig: &Path) -> anyhow::Result<()> {
    eddy_runtime::tls::install_crypto_provider();
    let client = eddy_testenv::client(kubeconfig)
        .await
        .context("cannot connect to the testenv")?;
    eprintln!("==> installing Eddy's CRDs");
    let crds = eddy_test_support::install_crds(&client).await?;
    eprintln!("    {} CRDs established", crds.len());
    for namespace in NAMESPACES {
        ensure_namespace(&client, namespace).await?;
    }
    eprintln!("==> applying the tutorial's manifests at their original (older) API versions");
    let mut applied = Vec::new();
    for file in EXAMPLES {
        let path = workspace::root().join("examples").join(file);
        for object in read_objects(&path)? {
            let written_as = object
                .types
                .as_ref()
                .map(|t| t.api_version.clone())
                .unwrap_or_default();
            apply(&client, &object)
                .await
                .with_context(|| format!("applying {}", path.display()))?;
            applied.push((written_as, object));
        }
    }
    eprintln!("==> reading them back at the current API versions");
    println!(
        "{:<24} {:<14} {:<12} {:<38} READ BACK AS",
        "KIND", "NAMESPACE", "NAME", "WRITTEN AS"
    );
    for (written_as, object) in &applied {
        let current = read_back_current(&client, object).await?;
        let kind = object
            .types
            .as_ref()
            .map(|t| t.kind.as_str())
            .unwrap_or_default();
        println!(
            "{:<24} {:<14} {:<12} {:<38} {}",
            kind,
            object.metadata.namespace.as_deref().unwrap_or("-"),
            object.metadata.name.as_deref().unwrap_or("-"),
            written_as,
            current
                .types
                .as_ref()
                .map(|t| t.api_version.as_str())
                .unwrap_or_default(),
        );
    }
    Ok(())
}

fn read_objects(path: &Path) -> anyhow::Result<Vec<DynamicObject>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut objects = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let value = serde_json::Value::deserialize(document)
            .with_context(|| format!("{} is not valid YAML", path.display()))?;
        if value.is_null() {
            continue;
        }
        objects.push(serde_json::from_value(value).with_context(|| {
            format!(
                "{} holds something that is not a Kubernetes object",
                path.display()
            )
        })?);
    }
    Ok(objects)
}

fn api_for(
    client: &Client,
    object: &DynamicObject,
    version: Option<&str>,
) -> anyhow::Result<Api<DynamicObject>> {
    let types = object
        .types
        .as_ref()
        .context("object without apiVersion/kind")?;
    let (group, written_version) = types
        .api_version
        .split_once('/')
        .unwrap_or(("", &types.api_version));
    let gvk = GroupVersionKind::gvk(group, version.unwrap_or(written_version), &types.kind);
    let resource = ApiResource::from_gvk(&gvk);
    let namespace = object.metadata.namespace.as_deref().unwrap_or("default");
    Ok(Api::namespaced_with(client.clone(), namespace, &resource))
}

async fn apply(client: &Client, object: &DynamicObject) -> anyhow::Result<()> {
    let api = api_for(client, object, None)?;
    let name = object
        .metadata
        .name
        .as_deref()
        .context("object without a name")?;
    api.patch(
        name,
        &PatchParams::apply("eddy-demo").force(),
        &Patch::Apply(object),
    )
    .await?;
    Ok(())
}

/// Reads an object back at the version its CRD stores (the current Flux version).
async fn read_back_current(
    client: &Client,
    object: &DynamicObject,
) -> anyhow::Result<DynamicObject> {
    let types = object
        .types
        .as_ref()
        .context("object without apiVersion/kind")?;
    let group = types
        .api_version
        .split_once('/')
        .map(|(g, _)| g)
        .unwrap_or_default();
    let version = current_version(group, &types.kind);
    let api = api_for(client, object, Some(version))?;
    let name = object
        .metadata
        .name
        .as_deref()
        .context("object without a name")?;
    Ok(api.get(name).await?)
}

/// The version Flux 2.9 serves for a kind (and Eddy stores).
fn current_version(group: &str, kind: &str) -> &'static str {
    match (group, kind) {
        ("helm.toolkit.fluxcd.io", _) => "v2",
        ("notification.toolkit.fluxcd.io", "Alert" | "Provider") => "v1beta3",
        _ => "v1",
    }
}

async fn ensure_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let namespace =
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    api.patch(
        name,
        &PatchParams::apply("eddy-demo"),
        &Patch::Apply(namespace),
    )
    .await
    .with_context(|| format!("cannot create namespace {name}"))?;
    Ok(())
}
