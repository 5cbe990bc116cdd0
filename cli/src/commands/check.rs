//! `eddy check [--pre]`: is the cluster new enough, and are the controllers and CRDs healthy.

use anyhow::{Context, bail};
use k8s_openapi::{
    api::apps::v1::Deployment,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{Api, api::ListParams};

use crate::{cluster::ConnectionArgs, commands::install::deployment_readiness};

/// The oldest Kubernetes Flux 2.9 (and so Eddy) supports.
const MIN_KUBERNETES: (u64, u64) = (1, 33);

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Only check the prerequisites (the Kubernetes version), before installing.
    #[arg(long)]
    pre: bool,
}

pub async fn run(args: CheckArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let client = connection.client().await?;
    println!("► checking prerequisites");
    let version = client
        .apiserver_version()
        .await
        .context("cannot reach the Kubernetes API server; check --kubeconfig and --context")?;
    let found = parse_version(&version.git_version)
        .with_context(|| format!("cannot read the server version {:?}", version.git_version))?;
    if found < MIN_KUBERNETES {
        bail!(
            "Kubernetes {} is too old: Eddy needs >={}.{}.0; upgrade the cluster",
            version.git_version,
            MIN_KUBERNETES.0,
            MIN_KUBERNETES.1
        );
    }
    println!(
        "✔ Kubernetes {} >={}.{}.0-0",
        version.git_version.trim_start_matches('v'),
        MIN_KUBERNETES.0,
        MIN_KUBERNETES.1
    );
    if args.pre {
        println!("✔ prerequisites checks passed");
        return Ok(());
    }
    let selector = ListParams::default().labels("app.kubernetes.io/part-of=flux");
    println!("► checking version in cluster");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    if let Ok(git_repositories) = crds.get("gitrepositories.source.toolkit.fluxcd.io").await {
        let labels = git_repositories.metadata.labels.unwrap_or_default();
        if let (Some(part_of), Some(version)) = (
            labels.get("app.kubernetes.io/part-of"),
            labels.get("app.kubernetes.io/version"),
        ) {
            println!("✔ distribution: {part_of}-{version}");
        }
        // A GitOps-managed install is one a Kustomization applied (`bootstrap`).
        let bootstrapped = labels.contains_key("kustomize.toolkit.fluxcd.io/name");
        println!("✔ bootstrapped: {bootstrapped}");
    }
    println!("► checking controllers");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &connection.namespace);
    let found = deployments
        .list(&selector)
        .await
        .context("cannot list Deployments")?
        .items;
    if found.is_empty() {
        bail!(
            "no controllers found in namespace {:?}; install them with `eddy install`",
            connection.namespace
        );
    }
    let mut healthy = true;
    for deployment in &found {
        let name = deployment.metadata.name.clone().unwrap_or_default();
        match deployment_readiness(deployment) {
            Ok(()) => println!("✔ {name}: deployment ready"),
            Err(reason) => {
                healthy = false;
                println!("✗ {name}: {reason}");
            }
        }
        let images = deployment
            .spec
            .as_ref()
            .and_then(|spec| spec.template.spec.as_ref())
            .map(|pod| {
                pod.containers
                    .iter()
                    .filter_map(|c| c.image.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for image in images {
            println!("► {image}");
        }
    }
    println!("► checking crds");
    for crd in crds
        .list(&selector)
        .await
        .context("cannot list CRDs")?
        .items
    {
        let stored = crd
            .status
            .as_ref()
            .and_then(|status| status.stored_versions.as_ref())
            .and_then(|versions| versions.last().cloned())
            .unwrap_or_default();
        println!("✔ {}/{stored}", crd.metadata.name.unwrap_or_default());
    }
    if !healthy {
        bail!(
            "some controllers are not ready; see `kubectl -n {} get pods`",
            connection.namespace
        );
    }
    println!("✔ all checks passed");
    Ok(())
}

/// `v1.34.4` or `v1.34.4-gke.1` → (1, 34).
fn parse_version(text: &str) -> Option<(u64, u64)> {
    let mut parts = text.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_major_and_minor() {
        assert_eq!(parse_version("v1.34.4"), Some((1, 34)));
        assert_eq!(parse_version("v1.33+k3s.1"), Some((1, 33)));
        assert!(parse_version("v1.32.0") < Some(MIN_KUBERNETES));
        assert_eq!(parse_version("garbage"), None);
    }
}
