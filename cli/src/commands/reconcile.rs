//! `eddy reconcile <kind> <name> [--with-source]`: asks the controller for a reconciliation now
//! (the `reconcile.fluxcd.io/requestedAt` annotation) and waits until it has been handled.

use anyhow::{Context, bail};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::{
    cluster::{ConnectionArgs, FluxKind, describe_get_error, is_suspended, parse_kind, string_at},
    commands::get::revision,
    output::Progress,
    wait::{Readiness, readiness, until},
};

pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

#[derive(clap::Args)]
pub struct ReconcileArgs {
    /// The kind and name, e.g. `source git podinfo` or `kustomization apps`.
    #[arg(required = true, num_args = 2..=3)]
    words: Vec<String>,
    /// Reconcile the object's source first (Kustomization, HelmRelease).
    #[arg(long)]
    with_source: bool,
}

pub async fn run(args: ReconcileArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let (kind, rest) = parse_kind(&args.words)?;
    let [name] = rest else {
        bail!("name exactly one {} to reconcile", kind.display());
    };
    let client = connection.client().await?;
    let progress = Progress::new();
    if args.with_source {
        let api = kind.api(&client, Some(&connection.namespace));
        let object = api
            .get(name)
            .await
            .map_err(|e| describe_get_error(e, kind, name, &connection.namespace))?;
        if let Some((source_kind, source_name, source_namespace)) =
            source_of(kind, &object.data, &connection.namespace)
        {
            reconcile_one(
                &client,
                source_kind,
                &source_name,
                &source_namespace,
                connection,
                &progress,
            )
            .await?;
        }
    }
    reconcile_one(
        &client,
        kind,
        name,
        &connection.namespace,
        connection,
        &progress,
    )
    .await
}

/// The `spec.sourceRef` of a Kustomization or the chart source of a HelmRelease.
fn source_of(
    kind: &FluxKind,
    data: &Value,
    namespace: &str,
) -> Option<(&'static FluxKind, String, String)> {
    let reference = match kind.kind {
        "Kustomization" => data.pointer("/spec/sourceRef")?,
        "HelmRelease" => data
            .pointer("/spec/chart/spec/sourceRef")
            .or_else(|| data.pointer("/spec/chartRef"))?,
        _ => return None,
    };
    let source_kind = FluxKind::find_by_kind(string_at(reference, &["kind"])?)?;
    let name = string_at(reference, &["name"])?.to_string();
    let namespace = string_at(reference, &["namespace"])
        .unwrap_or(namespace)
        .to_string();
    Some((source_kind, name, namespace))
}

async fn reconcile_one(
    client: &kube::Client,
    kind: &FluxKind,
    name: &str,
    namespace: &str,
    connection: &ConnectionArgs,
    progress: &Progress,
) -> anyhow::Result<()> {
    let api = kind.api(client, Some(namespace));
    let object = api
        .get(name)
        .await
        .map_err(|e| describe_get_error(e, kind, name, namespace))?;
    if kind.is_static {
        progress.note(&format!(
            "{} {namespace}/{name} has no status to reconcile",
            kind.kind
        ));
        return Ok(());
    }
    if is_suspended(&object) {
        bail!(
            "resource is suspended: {} {namespace}/{name}; resume it with `eddy resume {} {name} -n {namespace}`",
            kind.kind,
            kind.display()
        );
    }
    let requested_at = now_rfc3339_nano();
    progress.step(&format!("annotating {} {namespace}/{name}", kind.kind));
    let patch = json!({"metadata": {"annotations": {REQUESTED_AT: requested_at}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("cannot annotate {} {namespace}/{name}", kind.kind))?;
    progress.step(&format!("waiting for {} reconciliation", kind.kind));
    let reconciled = until(
        &format!("{} {namespace}/{name} to be reconciled", kind.kind),
        connection.timeout,
        async || {
            let object = api.get(name).await?;
            let handled = string_at(&object.data, &["status", "lastHandledReconcileAt"]);
            if handled != Some(requested_at.as_str()) {
                return Ok(Err(
                    "the controller has not handled the request yet".to_string()
                ));
            }
            match readiness(&object) {
                Readiness::Ready => Ok(Ok(object)),
                Readiness::Pending(reason) => Ok(Err(reason)),
                Readiness::Failed(message) => {
                    bail!(
                        "{} {namespace}/{name} reconciliation failed: {message}",
                        kind.kind
                    )
                }
            }
        },
    )
    .await?;
    let revision = revision(kind, &reconciled.data);
    let verb = if kind.group.starts_with("source.") {
        "fetched"
    } else {
        "applied"
    };
    progress.done(&format!("{} reconciliation completed", kind.kind));
    if revision.is_empty() {
        println!("✔ {} {namespace}/{name} reconciled", kind.kind);
    } else {
        println!("✔ {verb} revision {revision}");
    }
    Ok(())
}

/// The current time in Go's RFC3339Nano layout (UTC, trailing zeros of the fraction dropped),
/// which is what controllers echo back in `status.lastHandledReconcileAt`.
pub fn now_rfc3339_nano() -> String {
    jiff::Timestamp::now().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timestamps_are_rfc3339_in_utc() {
        let stamp = now_rfc3339_nano();
        assert!(stamp.ends_with('Z'), "{stamp}");
        assert!(stamp.parse::<jiff::Timestamp>().is_ok(), "{stamp}");
        assert_eq!(&stamp[10..11], "T");
    }

    #[test]
    fn finds_the_source_of_a_kustomization() {
        let kustomization = crate::cluster::KINDS
            .iter()
            .find(|k| k.kind == "Kustomization")
            .unwrap();
        let data = json!({"spec": {"sourceRef": {"kind": "GitRepository", "name": "repo"}}});
        let (kind, name, namespace) = source_of(kustomization, &data, "team").unwrap();
        assert_eq!(
            (kind.kind, name.as_str(), namespace.as_str()),
            ("GitRepository", "repo", "team")
        );
    }
}
