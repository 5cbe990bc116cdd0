//! `eddy uninstall`: removes the controllers, their RBAC and namespace, and the CRDs (and so
//! every Flux object), releasing finalizers first so no object is left stuck terminating.

use std::io::{IsTerminal, Write};

use anyhow::{Context, bail};
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        core::v1::{Namespace, Service, ServiceAccount},
        networking::v1::NetworkPolicy,
        rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding},
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Resource,
    api::{DeleteParams, ListParams, Patch, PatchParams},
};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::{
    cluster::{ConnectionArgs, KINDS},
    output::Progress,
};

#[derive(clap::Args)]
pub struct UninstallArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    silent: bool,
    /// Keep the namespace (and whatever else lives in it).
    #[arg(long)]
    keep_namespace: bool,
}

pub async fn run(args: UninstallArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    if !args.silent && !confirm(&connection.namespace)? {
        bail!("uninstall cancelled");
    }
    let client = connection.client().await?;
    let progress = Progress::new();
    let namespace = connection.namespace.as_str();
    let selector = format!("app.kubernetes.io/part-of=flux,app.kubernetes.io/instance={namespace}");

    progress.step("releasing the finalizers of every Flux object");
    let release = json!({"metadata": {"finalizers": null}});
    for kind in KINDS {
        let api = kind.api(&client, None);
        let Ok(list) = api.list(&ListParams::default()).await else {
            continue;
        };
        for object in list.items {
            let (Some(name), Some(ns)) = (object.metadata.name, object.metadata.namespace) else {
                continue;
            };
            kind.api(&client, Some(&ns))
                .patch(&name, &PatchParams::default(), &Patch::Merge(&release))
                .await
                .with_context(|| {
                    format!("cannot release the finalizers of {} {ns}/{name}", kind.kind)
                })?;
        }
    }
    progress.step("deleting the controllers");
    delete_all(
        Api::<Deployment>::namespaced(client.clone(), namespace),
        &selector,
    )
    .await?;
    delete_all(
        Api::<Service>::namespaced(client.clone(), namespace),
        &selector,
    )
    .await?;
    delete_all(
        Api::<NetworkPolicy>::namespaced(client.clone(), namespace),
        &selector,
    )
    .await?;
    delete_all(
        Api::<ServiceAccount>::namespaced(client.clone(), namespace),
        &selector,
    )
    .await?;
    delete_all(
        Api::<RoleBinding>::namespaced(client.clone(), namespace),
        &selector,
    )
    .await?;
    delete_all(
        Api::<Role>::namespaced(client.clone(), namespace),
        &selector,
    )
    .await?;
    delete_all(Api::<ClusterRoleBinding>::all(client.clone()), &selector).await?;
    delete_all(Api::<ClusterRole>::all(client.clone()), &selector).await?;
    progress.step("deleting the CRDs");
    delete_all(
        Api::<CustomResourceDefinition>::all(client.clone()),
        &selector,
    )
    .await?;
    if !args.keep_namespace {
        progress.step(&format!("deleting namespace {namespace}"));
        let namespaces: Api<Namespace> = Api::all(client);
        match namespaces.delete(namespace, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => {
                return Err(error).context(format!("cannot delete namespace {namespace}"));
            }
        }
    }
    progress.done("uninstalled");
    println!("✔ uninstall finished");
    Ok(())
}

async fn delete_all<K>(api: Api<K>, selector: &str) -> anyhow::Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let params = ListParams::default().labels(selector);
    for object in api
        .list(&params)
        .await
        .context("cannot list objects to delete")?
        .items
    {
        let Some(name) = object.meta().name.clone() else {
            continue;
        };
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(error).context(format!("cannot delete {name}")),
        }
    }
    Ok(())
}

fn confirm(namespace: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "uninstall deletes every Flux object and CRD; pass --silent to confirm without a prompt"
        );
    }
    print!(
        "Delete the controllers in {namespace}, the CRDs and every object of their kinds? [y/N] "
    );
    std::io::stdout()
        .flush()
        .context("cannot write to stdout")?;
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
