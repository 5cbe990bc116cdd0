//! `eddy diff kustomization NAME --path DIR`: builds the directory as `eddy build` does, asks the
//! API server what applying each object would produce (server-side apply in dry-run mode, as
//! field manager `kustomize-controller`), and prints what would be created, what drifted (with
//! the changed fields) and what the controller would prune.
//!
//! Exit status as `flux diff`: 0 when nothing would change, 1 when something would, 2 when the
//! diff itself failed. Secret values are never printed: changed ones show as
//! `*** (before)`/`*** (after)`, the others as `***`.

mod fields;

use std::fmt;

use eddy_kustomization::{
    apply::{
        cluster::{Cluster, describe_api_error},
        policy,
    },
    inventory::{self, ObjectId},
};
use kube::Client;
use serde_json::{Map, Value, json};

use crate::{
    cluster::ConnectionArgs,
    commands::build::{self, LocalBuildArgs},
    output::Progress,
};

#[derive(clap::Args)]
pub struct DiffArgs {
    #[command(subcommand)]
    target: DiffTarget,
}

#[derive(clap::Subcommand)]
enum DiffTarget {
    /// Compare a local directory with what a Kustomization applied.
    #[command(visible_alias = "ks", alias = "kustomizations")]
    Kustomization(DiffKustomizationArgs),
}

#[derive(clap::Args)]
struct DiffKustomizationArgs {
    /// The Kustomization's name.
    name: String,
    /// The local directory matching the Kustomization's `spec.path`.
    #[arg(long)]
    path: std::path::PathBuf,
    /// Read the Kustomization's spec from this YAML file (its status still comes from the
    /// cluster, to know what would be pruned).
    #[arg(long)]
    kustomization_file: Option<std::path::PathBuf>,
    /// Fail when a variable without a default is not set, as the controller does.
    #[arg(long)]
    strict_substitute: bool,
    /// With --kustomization-file: diff a Kustomization that is not in the cluster yet.
    #[arg(long)]
    ignore_not_found: bool,
    /// Accepted for compatibility with `flux diff`; progress is shown on a terminal only.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, hide = true)]
    progress_bar: bool,
}

/// An error that ends the program with a given exit status (1: differences, 2: failure).
#[derive(Debug)]
pub struct ExitStatus {
    pub code: u8,
    pub error: anyhow::Error,
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for ExitStatus {}

/// The exit status an error asks for, if it is an [`ExitStatus`].
pub fn exit_code(error: &anyhow::Error) -> Option<u8> {
    error.downcast_ref::<ExitStatus>().map(|status| status.code)
}

const FAILED: u8 = 2;
const CHANGED: u8 = 1;

pub async fn run(args: DiffArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let DiffTarget::Kustomization(args) = args.target;
    let fail = |error: anyhow::Error| ExitStatus {
        code: FAILED,
        error,
    };
    let client = connection.client().await.map_err(fail)?;
    let build_args = LocalBuildArgs {
        name: args.name.clone(),
        path: args.path.clone(),
        kustomization_file: args.kustomization_file.clone(),
        dry_run: false,
        strict_substitute: args.strict_substitute,
        ignore_not_found: args.ignore_not_found,
    };
    let progress = Progress::new();
    progress.step("building the Kustomization");
    let built = build::build(&build_args, &connection.namespace, Some(&client))
        .await
        .map_err(fail)?;
    progress.step("running a server-side dry run");
    let report = diff(&client, &built).await;
    print!("{}", report.output);
    if !report.errors.is_empty() {
        return Err(fail(anyhow::anyhow!("{}", report.errors.join("\n"))).into());
    }
    if report.changed {
        return Err(ExitStatus {
            code: CHANGED,
            error: anyhow::anyhow!(
                "identified at least one change, exiting with non-zero exit code"
            ),
        }
        .into());
    }
    progress.done("no changes");
    Ok(())
}

/// What a diff found: the text to print, whether anything would change, and the objects whose
/// dry run failed.
pub struct Report {
    pub output: String,
    pub changed: bool,
    pub errors: Vec<String>,
}

/// What applying one object would do.
enum Outcome {
    Created,
    Skipped,
    Unchanged,
    Drifted(String),
}

pub async fn diff(client: &Client, built: &build::Built) -> Report {
    let cluster = Cluster::new(client.clone());
    let spec = &built.kustomization.spec;
    let mut report = Report {
        output: String::new(),
        changed: false,
        errors: Vec::new(),
    };
    let mut seen = Vec::new();
    for object in &built.objects {
        let id = ObjectId::of(object);
        match diff_one(&cluster, &id, object, spec.force).await {
            Ok(outcome) => {
                let subject = id.subject();
                match outcome {
                    Outcome::Created => {
                        report.output.push_str(&format!("► {subject} created\n"));
                        report.changed = true;
                    }
                    Outcome::Skipped => {
                        report.output.push_str(&format!("► {subject} skipped\n"));
                    }
                    Outcome::Drifted(fields) => {
                        report.output.push_str(&format!("► {subject} drifted\n"));
                        report.output.push_str(&fields);
                        report.output.push('\n');
                        report.changed = true;
                    }
                    Outcome::Unchanged => {}
                }
                seen.push(id);
            }
            Err(message) => report.errors.push(message),
        }
    }
    // Like Flux, what would be pruned is only worked out when every object could be compared:
    // an object whose dry run failed would otherwise show as deleted.
    let old_inventory = built
        .kustomization
        .status
        .as_ref()
        .and_then(|status| status.inventory.as_ref());
    if spec.prune
        && report.errors.is_empty()
        && let Some(old_inventory) = old_inventory
    {
        let new_inventory = inventory::inventory_of(&seen);
        let mut stale = inventory::stale_objects(old_inventory, &new_inventory);
        stale.sort_by(inventory::apply_order);
        for id in stale {
            report
                .output
                .push_str(&format!("► {} deleted\n", id.subject()));
            report.changed = true;
        }
    }
    report
}

async fn diff_one(
    cluster: &Cluster,
    id: &ObjectId,
    object: &Value,
    spec_force: bool,
) -> Result<Outcome, String> {
    let subject = id.subject();
    let kind = eddy_kustomization::apply::resolve_for_apply(cluster, id)
        .await
        .map_err(|error| error.to_string())?;
    let existing = cluster
        .get(&kind, id)
        .await
        .map_err(|e| format!("{subject} dry-run failed {}", describe_api_error(&e)))?;
    if policy::should_skip(object, existing.as_ref()) {
        return Ok(Outcome::Skipped);
    }
    let dry_run = match cluster.apply(&kind, id, object, true).await {
        Ok(dry_run) => dry_run,
        // An immutable field with force enabled: the controller would delete and recreate.
        Err(kube::Error::Api(status))
            if status.code == 422
                && is_immutable_error(&status.message)
                && policy::force_enabled(spec_force, object, existing.as_ref()) =>
        {
            return Ok(Outcome::Created);
        }
        Err(error) => {
            return Err(format!(
                "{subject} dry-run failed {}",
                describe_api_error(&error)
            ));
        }
    };
    let Some(existing) = existing else {
        return Ok(Outcome::Created);
    };
    if !policy::has_drifted(&existing, &dry_run) {
        return Ok(Outcome::Unchanged);
    }
    let mut live = policy::comparable(&existing);
    let mut merged = policy::comparable(&dry_run);
    if id.kind == "Secret" && id.group.is_empty() {
        // A Secret built with SOPS values masked cannot be compared by value: only a change in
        // its keys counts, as in Flux.
        if build::has_masked_values(object) && data_keys(&live) == data_keys(&merged) {
            return Ok(Outcome::Unchanged);
        }
        sanitize_secret_data(&mut live, &mut merged);
    }
    Ok(Outcome::Drifted(fields::render(&fields::compare(
        &live, &merged,
    ))))
}

fn is_immutable_error(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("immutable")
        || message.contains("may not change")
        || message.contains("cannot change")
}

fn data_keys(secret: &Value) -> Vec<String> {
    secret["data"]
        .as_object()
        .map(|data| data.keys().cloned().collect())
        .unwrap_or_default()
}

/// Replaces every Secret value with a mask before anything is printed: a value that changed
/// becomes `*** (before)` / `*** (after)` so the diff still shows *that* it changed.
pub fn sanitize_secret_data(live: &mut Value, merged: &mut Value) {
    let old = live["data"].as_object().cloned().unwrap_or_default();
    let new = merged["data"].as_object().cloned().unwrap_or_default();
    let mut masked_old = Map::new();
    let mut masked_new = Map::new();
    for (key, value) in &old {
        match new.get(key) {
            Some(other) if other != value => {
                masked_old.insert(key.clone(), json!("*** (before)"));
                masked_new.insert(key.clone(), json!("*** (after)"));
            }
            Some(_) => {
                masked_old.insert(key.clone(), json!("***"));
                masked_new.insert(key.clone(), json!("***"));
            }
            None => {
                masked_old.insert(key.clone(), json!("***"));
            }
        }
    }
    for key in new.keys().filter(|key| !old.contains_key(*key)) {
        masked_new.insert(key.clone(), json!("***"));
    }
    for (object, masked) in [(live, masked_old), (merged, masked_new)] {
        if let Some(map) = object.as_object_mut() {
            map.remove("stringData");
            if map.contains_key("data") {
                map.insert("data".to_owned(), Value::Object(masked));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_masked_but_changes_stay_visible() {
        let mut live = json!({"data": {"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}});
        let mut merged = json!({"data": {"same": "YQ==", "changed": " Yw==", "new": "ZA=="}, "stringData": {"x": "secret"}});
        sanitize_secret_data(&mut live, &mut merged);
        assert_eq!(
            live["data"],
            json!({"same": "***", "changed": "*** (before)", "gone": "***"})
        );
        assert_eq!(
            merged["data"],
            json!({"same": "***", "changed": "*** (after)", "new": "***"})
        );
        assert!(merged.get("stringData").is_none());
        let changes = fields::compare(&live, &merged);
        let text = fields::render(&changes);
        for secret in ["YQ==", "Yg==", "ZA==", "secret"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("data.changed"), "{text}");
    }

    #[test]
    fn volatile_metadata_is_not_compared() {
        let object = json!({"metadata": {"name": "a", "resourceVersion": "5", "generation": 2, "managedFields": []}, "status": {}});
        assert_eq!(
            policy::comparable(&object),
            json!({"metadata": {"name": "a"}})
        );
    }
}
