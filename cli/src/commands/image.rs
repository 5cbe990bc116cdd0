//! `eddy image release <automation>`: lifts the holds an ImageUpdateAutomation keeps after a
//! manual change in Git (Eddy's `image.eddy.dev/hold-manual-changes` opt-in). The automation's
//! next run sets every held marker to its policy's image and pushes it; the command waits for that.

use anyhow::{Context, bail};
use eddy_api::image::imageupdateautomation::{
    HOLD_MANUAL_CHANGES_ANNOTATION, RELEASE_HOLDS_ANNOTATION,
};
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use crate::{
    cluster::{ConnectionArgs, FluxKind, describe_get_error, is_suspended, string_at},
    commands::reconcile::{REQUESTED_AT, now_rfc3339_nano},
    output::Progress,
    wait::until,
};

#[derive(clap::Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(clap::Subcommand)]
enum ImageCommand {
    /// Let an ImageUpdateAutomation overwrite the markers it holds after a manual change in Git.
    Release {
        /// The ImageUpdateAutomation's name.
        name: String,
    },
}

pub async fn run(args: ImageArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    match args.command {
        ImageCommand::Release { name } => release(&name, connection).await,
    }
}

async fn release(name: &str, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let kind = FluxKind::find_by_kind("ImageUpdateAutomation")
        .context("the ImageUpdateAutomation kind is missing from the kind table")?;
    let namespace = &connection.namespace;
    let client = connection.client().await?;
    let api = kind.api(&client, Some(namespace));
    let automation = api
        .get(name)
        .await
        .map_err(|e| describe_get_error(e, kind, name, namespace))?;
    check_releasable(&automation, name, namespace)?;
    let holds = held_markers(&automation.data);
    if holds.is_empty() {
        println!("✔ ImageUpdateAutomation {namespace}/{name} holds no marker");
        return Ok(());
    }
    let progress = Progress::new();
    for hold in &holds {
        progress.note(&format!("releasing {hold}"));
    }
    let token = now_rfc3339_nano();
    // The release annotation alone does not wake the controller (only generation changes and
    // reconcile requests do, as in Flux), so the same token also requests a reconciliation.
    let patch = json!({"metadata": {"annotations": {
        RELEASE_HOLDS_ANNOTATION: token,
        REQUESTED_AT: token,
    }}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("cannot annotate ImageUpdateAutomation {namespace}/{name}"))?;
    progress.step("waiting for the automation to push the released markers");
    let done = until(
        &format!("ImageUpdateAutomation {namespace}/{name} to release its holds"),
        connection.timeout,
        async || {
            let object = api.get(name).await?;
            let handled = string_at(&object.data, &["status", "lastHandledHoldRelease"]);
            if handled == Some(token.as_str()) {
                Ok(Ok(object))
            } else {
                Ok(Err(ready_message(&object.data)))
            }
        },
    )
    .await?;
    progress.done("holds released");
    match string_at(&done.data, &["status", "lastPushCommit"]) {
        Some(commit) => println!("✔ released; last pushed commit {commit}"),
        None => println!("✔ released"),
    }
    Ok(())
}

fn check_releasable(automation: &DynamicObject, name: &str, namespace: &str) -> anyhow::Result<()> {
    if is_suspended(automation) {
        bail!(
            "ImageUpdateAutomation {namespace}/{name} is suspended; resume it with `eddy resume image update {name} -n {namespace}` first"
        );
    }
    let opted_in = automation
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(HOLD_MANUAL_CHANGES_ANNOTATION))
        .is_some_and(|value| value == "true");
    if !opted_in {
        bail!(
            "ImageUpdateAutomation {namespace}/{name} does not hold manual changes (annotation {HOLD_MANUAL_CHANGES_ANNOTATION}: \"true\" is not set), so there is nothing to release"
        );
    }
    Ok(())
}

/// `<file> <setter>: <value in Git> (policy: <image>)` for each hold in the status.
pub fn held_markers(data: &Value) -> Vec<String> {
    let Some(holds) = data.pointer("/status/holds").and_then(Value::as_array) else {
        return Vec::new();
    };
    holds
        .iter()
        .map(|hold| {
            let field = |key: &str| hold.get(key).and_then(Value::as_str).unwrap_or("?");
            format!(
                "{} {}: {} (policy: {})",
                field("file"),
                field("setter"),
                field("value"),
                field("policyValue")
            )
        })
        .collect()
}

fn ready_message(data: &Value) -> String {
    data.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|condition| condition.get("type").and_then(Value::as_str) == Some("Ready"))
        })
        .and_then(|ready| ready.get("message").and_then(Value::as_str))
        .unwrap_or("the controller has not handled the release yet")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_markers_name_file_setter_and_both_values() {
        let data = json!({"status": {"holds": [{
            "file": "deploy.yaml",
            "setter": "apps:myapp",
            "value": "registry.local/myapp:1.0.0",
            "policyValue": "registry.local/myapp:1.0.1",
        }]}});
        assert_eq!(
            held_markers(&data),
            vec![
                "deploy.yaml apps:myapp: registry.local/myapp:1.0.0 (policy: registry.local/myapp:1.0.1)"
            ]
        );
        assert!(held_markers(&json!({"status": {}})).is_empty());
    }
}
