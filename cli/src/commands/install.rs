//! `eddy install`: applies the CRDs and controllers of the embedded `config/default`, in two
//! stages like `flux install`, then waits until the controllers' Deployments are ready.

use anyhow::{Context, bail};
use k8s_openapi::{
    api::apps::v1::Deployment,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::Api;
use serde_json::Value;

use crate::{
    cluster::ConnectionArgs,
    commands::apply::Applier,
    manifests::{self, CONTROLLERS, DEFAULT_COMPONENTS},
    output::Progress,
    wait::until,
};

#[derive(clap::Args)]
pub struct InstallArgs {
    /// The controllers to install (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_COMPONENTS.iter().map(|c| c.to_string()))]
    components: Vec<String>,
    /// Additional controllers, e.g. image-reflector-controller,image-automation-controller.
    #[arg(long, value_delimiter = ',')]
    components_extra: Vec<String>,
    /// Print the manifests instead of applying them.
    #[arg(long)]
    export: bool,
    /// Let the API server validate every object (admission included) without storing any.
    /// The namespace must exist already for its objects to be checked.
    #[arg(long)]
    dry_run: bool,
}

pub async fn run(args: InstallArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let mut components = args.components;
    components.extend(args.components_extra);
    for component in &components {
        if !CONTROLLERS.contains(&component.as_str()) {
            bail!(
                "unknown component {component:?}; choose from {}",
                CONTROLLERS.join(", ")
            );
        }
    }
    let objects = manifests::select_components(
        manifests::parse_objects(&manifests::render()?)?,
        &components,
    );
    if args.export {
        print!("{}", manifests::to_yaml_stream(&objects)?);
        return Ok(());
    }
    let progress = Progress::new();
    let client = connection.client().await?;
    let mut applier = Applier::new(client.clone());
    if args.dry_run {
        for object in &objects {
            let id = applier.apply_dry_run(object).await?;
            println!("✔ {id} (server dry run)");
        }
        return Ok(());
    }
    // Definitions first: nothing namespaced can be stored before its namespace, and the API
    // server must serve a CRD before objects of its kind arrive.
    let (definitions, workloads): (Vec<&Value>, Vec<&Value>) =
        objects.iter().partition(|object| is_definition(object));
    progress.step("applying CRDs, the namespace and cluster roles");
    for object in &definitions {
        applier.apply(object).await?;
    }
    wait_for_crds(&client, &definitions, connection).await?;
    progress.done("CRDs established");
    progress.step("applying the controllers");
    for object in &workloads {
        applier.apply(object).await?;
    }
    progress.done(&format!("applied {} objects", objects.len()));
    let namespace = "flux-system";
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    for component in &components {
        progress.step(&format!("waiting for {component}"));
        until(
            &format!("Deployment {namespace}/{component} to be ready"),
            connection.timeout,
            async || {
                let deployment = deployments.get(component).await?;
                Ok(deployment_readiness(&deployment))
            },
        )
        .await?;
        progress.done(&format!("{component} ready"));
    }
    println!("✔ install finished");
    Ok(())
}

pub(crate) fn is_definition(object: &Value) -> bool {
    matches!(
        object["kind"].as_str(),
        Some("CustomResourceDefinition" | "Namespace" | "ClusterRole")
    )
}

pub(crate) async fn wait_for_crds(
    client: &kube::Client,
    definitions: &[&Value],
    connection: &ConnectionArgs,
) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for object in definitions
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
    {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .context("a CRD has no name")?;
        until(
            &format!("CRD {name} to be established"),
            connection.timeout,
            async || {
                let crd = api.get(name).await?;
                let established = crd
                    .status
                    .iter()
                    .flat_map(|s| s.conditions.iter().flatten())
                    .any(|c| c.type_ == "Established" && c.status == "True");
                Ok(if established {
                    Ok(())
                } else {
                    Err("not established yet".to_string())
                })
            },
        )
        .await?;
    }
    Ok(())
}

/// kstatus's reading of a Deployment: the latest spec observed, every replica updated and
/// available.
pub fn deployment_readiness(deployment: &Deployment) -> Result<(), String> {
    let generation = deployment.metadata.generation.unwrap_or(0);
    let wanted = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.replicas)
        .unwrap_or(1);
    let Some(status) = deployment.status.as_ref() else {
        return Err("no status yet".into());
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Err("the latest spec is not observed yet".into());
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < wanted || available < wanted {
        return Err(format!(
            "{available}/{wanted} replicas available, {updated} updated"
        ));
    }
    Ok(())
}
