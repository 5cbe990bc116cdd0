//! The cluster side of bootstrap: install the components, store the Secret, apply the sync
//! objects, then wait until Flux's objects report the pushed revision.

use k8s_openapi::api::apps::v1::Deployment;
use kube::{Api, Client};
use serde_json::Value;

use crate::{
    cluster::{ConnectionArgs, FluxKind, string_at},
    commands::{
        apply::Applier,
        install::{deployment_readiness, is_definition, wait_for_crds},
    },
    output::Progress,
    wait::{Readiness, readiness, until},
};

use super::layout::SYNC_NAME;

/// Whether the sync Kustomization has applied a revision before: from then on the components
/// come from Git, and bootstrap leaves them to it (as `flux bootstrap` does).
pub async fn components_managed_by_git(client: &Client, namespace: &str) -> anyhow::Result<bool> {
    let Some(kind) = FluxKind::find_by_kind("Kustomization") else {
        return Ok(false);
    };
    let api = kind.api(client, Some(namespace));
    // A cluster without the CRDs has no Kustomization either.
    let existing = match api.get_opt(SYNC_NAME).await {
        Ok(existing) => existing,
        Err(kube::Error::Api(status)) if status.code == 404 => None,
        Err(error) => {
            return Err(anyhow::Error::new(error).context("cannot read the sync Kustomization"));
        }
    };
    Ok(existing.is_some_and(|object| {
        string_at(&object.data, &["status", "lastAppliedRevision"]).is_some_and(|r| !r.is_empty())
    }))
}

/// Applies the components the way `eddy install` does: definitions first, then workloads.
pub async fn install_components(
    client: &Client,
    applier: &mut Applier,
    objects: &[Value],
    connection: &ConnectionArgs,
    progress: &Progress,
) -> anyhow::Result<()> {
    let (definitions, workloads): (Vec<&Value>, Vec<&Value>) =
        objects.iter().partition(|object| is_definition(object));
    progress.step("installing the CRDs, the namespace and cluster roles");
    for object in &definitions {
        applier.apply(object).await?;
    }
    wait_for_crds(client, &definitions, connection).await?;
    progress.step("installing the controllers");
    for object in &workloads {
        applier.apply(object).await?;
    }
    progress.done(&format!("installed {} objects", objects.len()));
    Ok(())
}

/// Waits until the object of `kind` named `flux-system` is Ready for its latest spec and the
/// string at `revision_path` in its status equals `revision`.
pub async fn wait_for_revision(
    client: &Client,
    kind_name: &str,
    namespace: &str,
    revision_path: &[&str],
    revision: &str,
    connection: &ConnectionArgs,
) -> anyhow::Result<()> {
    let kind = FluxKind::find_by_kind(kind_name)
        .ok_or_else(|| anyhow::anyhow!("{kind_name} is not a known kind"))?;
    let api = kind.api(client, Some(namespace));
    let field = revision_path.join(".");
    until(
        &format!("{kind_name} {namespace}/{SYNC_NAME} to be Ready at {field} {revision}"),
        connection.timeout,
        async || {
            let Some(object) = api.get_opt(SYNC_NAME).await? else {
                return Ok(Err("it does not exist yet".to_string()));
            };
            let found = string_at(&object.data, revision_path).unwrap_or("");
            if found != revision {
                return Ok(Err(if found.is_empty() {
                    format!("no {field} yet")
                } else {
                    format!("{field} is {found}")
                }));
            }
            // A failure may clear on the next attempt (the Secret arrived late, the server was
            // busy), so it is reported on timeout rather than ending the wait.
            Ok(match readiness(&object) {
                Readiness::Ready => Ok(()),
                Readiness::Pending(reason) => Err(reason),
                Readiness::Failed(message) => Err(format!("not Ready: {message}")),
            })
        },
    )
    .await
}

/// Waits until every component's Deployment is rolled out.
pub async fn wait_for_components(
    client: &Client,
    components: &[String],
    connection: &ConnectionArgs,
    progress: &Progress,
) -> anyhow::Result<()> {
    // The components always live in flux-system: that is where the manifests put them.
    let namespace = "flux-system";
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    for component in components {
        progress.step(&format!("waiting for {component}"));
        until(
            &format!("Deployment {namespace}/{component} to be ready"),
            connection.timeout,
            async || {
                Ok(match deployments.get_opt(component).await? {
                    Some(deployment) => deployment_readiness(&deployment),
                    None => Err("it does not exist yet".into()),
                })
            },
        )
        .await?;
        progress.done(&format!("{component} ready"));
    }
    Ok(())
}
