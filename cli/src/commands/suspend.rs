//! `eddy suspend|resume <kind> <name>|--all`: sets `spec.suspend`; resume then waits for the
//! controller to report the object Ready again.

use anyhow::{Context, bail};
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;

use crate::{
    cluster::{ConnectionArgs, FluxKind, describe_get_error, parse_kind},
    output::Progress,
    wait::{Readiness, readiness, until},
};

#[derive(clap::Args)]
pub struct SuspendArgs {
    /// The kind and name(s), e.g. `source git podinfo` or `kustomization apps`.
    #[arg(required = true, num_args = 1..)]
    words: Vec<String>,
    /// Every object of the kind in the namespace.
    #[arg(long)]
    all: bool,
    /// After resuming, wait until the object is Ready (default true).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    wait: bool,
}

pub async fn run(
    args: SuspendArgs,
    suspend: bool,
    connection: &ConnectionArgs,
) -> anyhow::Result<()> {
    let (kind, names) = parse_kind(&args.words)?;
    if kind.is_static && kind.kind != "Alert" && kind.kind != "Provider" {
        bail!("{} cannot be suspended", kind.kind);
    }
    let client = connection.client().await?;
    let api = kind.api(&client, Some(&connection.namespace));
    let names: Vec<String> = if args.all {
        api.list(&ListParams::default())
            .await
            .with_context(|| format!("cannot list {}", kind.plural))?
            .items
            .into_iter()
            .filter_map(|object| object.metadata.name)
            .collect()
    } else if names.is_empty() {
        bail!(
            "name the {} to {}, or pass --all",
            kind.display(),
            verb(suspend)
        );
    } else {
        names.to_vec()
    };
    let progress = Progress::new();
    for name in &names {
        set_suspend(kind, &api, name, suspend, connection, &progress).await?;
    }
    if !suspend && args.wait && !kind.is_static {
        for name in &names {
            progress.step(&format!(
                "waiting for {} {}/{name} to be Ready",
                kind.kind, connection.namespace
            ));
            let message = until(
                &format!("{} {}/{name} to be Ready", kind.kind, connection.namespace),
                connection.timeout,
                async || {
                    let object = api.get(name).await?;
                    match readiness(&object) {
                        Readiness::Ready => Ok(Ok(crate::cluster::ready_condition(&object)
                            .map(|ready| ready.message)
                            .unwrap_or_default())),
                        Readiness::Pending(reason) => Ok(Err(reason)),
                        Readiness::Failed(message) => {
                            bail!("{} {name} is not Ready: {message}", kind.kind)
                        }
                    }
                },
            )
            .await?;
            progress.done(&format!("{} {name} reconciliation completed", kind.kind));
            println!("✔ {} {name} resumed: {message}", kind.kind);
        }
    }
    Ok(())
}

fn verb(suspend: bool) -> &'static str {
    if suspend { "suspend" } else { "resume" }
}

async fn set_suspend(
    kind: &FluxKind,
    api: &kube::Api<kube::api::DynamicObject>,
    name: &str,
    suspend: bool,
    connection: &ConnectionArgs,
    progress: &Progress,
) -> anyhow::Result<()> {
    progress.step(&format!(
        "{}ing {} {}/{name}",
        verb(suspend),
        kind.kind,
        connection.namespace
    ));
    let patch = json!({"spec": {"suspend": suspend}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| describe_get_error(e, kind, name, &connection.namespace))?;
    if suspend {
        println!("✔ {} {name} suspended", kind.kind);
    }
    Ok(())
}
