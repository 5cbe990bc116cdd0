//! The Kustomization reconciler. A reconcile reads top to bottom as named steps:
//!
//! 1. deletion, finalizer, suspend; a health check in progress is continued instead;
//! 2. **resolve** the source's artifact and the dependencies (every API read that decides
//!    whether to go on), then record the attempt;
//! 3. **resolve the build inputs** (SOPS keys, postBuild variables, the cluster access);
//! 4. **build**: fetch and unpack the artifact, then [`build_objects`] off the async runtime —
//!    no API calls, the same pipeline `eddy build` runs;
//! 5. **apply and prune** with server-side apply, the inventory recorded first;
//! 6. **health** ([`super::health_check`]) and the report ([`super::report`]).
//!
//! Every step fails with the runtime's typed [`Failure`]; one place turns it into the status.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use eddy_api::{
    kustomize::{Kustomization, kustomization::DeletionPolicy},
    meta::{Artifact, reason},
};
use eddy_runtime::{conditions, events::Event, finalizer, outcome::Failure, watch::requested_at};
use kube::{Api, ResourceExt, runtime::controller::Action};
use serde_json::Value;

use super::{
    Context,
    health_check::{self, Applied},
    history, remote,
    report::{self, Report},
    source, termination, unsupported,
};
use crate::{
    apply::{self, ApplyOptions, cluster::Cluster},
    build, dependencies,
    inventory::{self, ObjectId},
    prune, sops, substitute,
};

pub use eddy_api::meta::FINALIZER;

/// Errors that end a reconcile with the controller's exponential backoff (API trouble, not bad
/// input: bad input is reported in the status and retried after `retryInterval`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to update Kustomization {name}: {source}")]
    Api {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// Why a step stopped the reconcile: a failure the status reports, or API trouble.
enum Stop {
    Failed(Failure),
    Api(Error),
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Self {
        Stop::Failed(failure)
    }
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Stop::Api(error)
    }
}

fn api_error(ks: &Kustomization) -> impl FnOnce(kube::Error) -> Error + '_ {
    move |source| Error::Api {
        name: ks.name_any(),
        source,
    }
}

/// Reconciles one Kustomization.
pub async fn reconcile(ks: Arc<Kustomization>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let namespace = ks.namespace().unwrap_or_default();
    let api: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &namespace);

    if ks.metadata.deletion_timestamp.is_some() {
        return finalize(&ks, &ctx, &api).await;
    }
    finalizer::ensure(&api, ks.as_ref())
        .await
        .map_err(api_error(&ks))?;
    if ks.spec.suspend == Some(true) {
        ctx.pending_health().remove(&health_check::key(&ks));
        tracing::info!("reconciliation is suspended for this object");
        return Ok(Action::await_change());
    }
    // Before any read or apply: a field Eddy would ignore (kubeConfig's configMapRef above all)
    // stops here.
    if let Some((why, message)) = unsupported::refusal(&unsupported::unsupported_fields(&ks.spec)) {
        ctx.pending_health().remove(&health_check::key(&ks));
        let mut report = Report::new(&ks, started);
        return report
            .failed(&ctx, &api, Failure::stalled(why, message))
            .await;
    }
    if let Some(pending) = health_check_to_continue(&ks, &ctx).await {
        return health_check::check(&ks, &ctx, &api, pending).await;
    }

    let mut report = Report::new(&ks, started);
    match reconcile_revision(&ks, &ctx, &api, &mut report).await {
        Ok(applied) => {
            let timeout = report::timeout(&ks);
            health_check::begin(&ks, &ctx, &api, report, applied, timeout).await
        }
        Err(Stop::Failed(failure)) => report.failed(&ctx, &api, failure).await,
        Err(Stop::Api(error)) => Err(error),
    }
}

/// Steps 2–5: resolve, build, apply and prune one revision.
async fn reconcile_revision(
    ks: &Kustomization,
    ctx: &Context,
    api: &Api<Kustomization>,
    report: &mut Report,
) -> Result<Applied, Stop> {
    let artifact = resolve_source(ks, ctx).await?;
    record_attempt(ks, api, report, &artifact.revision).await?;
    report.origin_revision = origin_revision(&artifact);
    let inputs = resolve_build_inputs(ks, ctx).await?;
    let objects = build(ks, ctx, &artifact, &inputs).await?;
    report.digest = Some(history::objects_digest(&objects));
    let (changes, changed) =
        apply_and_prune(ks, ctx, api, report, &inputs.cluster, &objects).await?;
    Ok(Applied {
        revision: artifact.revision,
        changes,
        deleted_when_finished: health_check::deleted_when_finished(&objects),
        changed,
    })
}

/// The revision an OCI artifact says it was built from (`flux push artifact --revision`).
fn origin_revision(artifact: &eddy_api::meta::Artifact) -> Option<String> {
    artifact
        .metadata
        .as_ref()?
        .get(ORIGIN_REVISION_ANNOTATION)
        .cloned()
}

/// The OCI annotation source-controller copies into `artifact.metadata`.
const ORIGIN_REVISION_ANNOTATION: &str = "org.opencontainers.image.revision";

/// A health check in progress is evaluated without fetching or applying again, unless the
/// spec, the source's revision or a reconcile request moved on.
async fn health_check_to_continue(
    ks: &Kustomization,
    ctx: &Context,
) -> Option<health_check::PendingHealth> {
    let pending = ctx.pending_health().get(&health_check::key(ks)).cloned()?;
    let current_revision = match source_namespace(ks, ctx) {
        Ok(namespace) => source::resolve(&ctx.client, &ks.spec.source_ref, &namespace)
            .await
            .ok()
            .and_then(|resolved| resolved.artifact.map(|artifact| artifact.revision)),
        Err(_) => None,
    };
    let handled = ks
        .status
        .as_ref()
        .and_then(|status| status.last_handled_reconcile_at.clone());
    let same_request = requested_at(ks).is_none() || handled == requested_at(ks);
    if pending.generation == ks.metadata.generation
        && current_revision.as_deref() == Some(pending.revision.as_str())
        && same_request
    {
        return Some(pending);
    }
    ctx.pending_health().remove(&health_check::key(ks));
    None
}

// ---------------------------------------------------------------------------------------------
// Resolve

/// The namespace of the source, refused when cross-namespace references are blocked.
fn source_namespace(ks: &Kustomization, ctx: &Context) -> Result<String, Failure> {
    let namespace = ks.namespace().unwrap_or_default();
    let source_namespace = ks
        .spec
        .source_ref
        .namespace
        .clone()
        .unwrap_or_else(|| namespace.clone());
    if ctx.settings.no_cross_namespace_refs && source_namespace != namespace {
        let message = format!(
            "can't access '{:?}/{}/{}', cross-namespace references have been blocked",
            ks.spec.source_ref.kind, source_namespace, ks.spec.source_ref.name
        );
        return Err(Failure::stalled(reason::ACCESS_DENIED, message));
    }
    Ok(source_namespace)
}

/// The source's artifact, once the dependencies are ready for it.
async fn resolve_source(ks: &Kustomization, ctx: &Context) -> Result<Artifact, Failure> {
    let source_namespace = source_namespace(ks, ctx)?;
    let resolved = source::resolve(&ctx.client, &ks.spec.source_ref, &source_namespace)
        .await
        .map_err(|error| Failure::retry_interval(reason::ARTIFACT_FAILED, error.to_string()))?;
    let Some(artifact) = resolved.artifact else {
        let message = format!(
            "Source artifact not found, retrying in {}",
            history::format_duration(ctx.settings.requeue_dependency)
        );
        return Err(Failure::dependency(reason::ARTIFACT_FAILED, message));
    };
    check_dependencies(ks, ctx, &source_namespace, &artifact.revision).await?;
    Ok(artifact)
}

/// Every `dependsOn` entry must be Ready (at the same revision when it builds from the same
/// source).
async fn check_dependencies(
    ks: &Kustomization,
    ctx: &Context,
    source_namespace: &str,
    revision: &str,
) -> Result<(), Failure> {
    let namespace = ks.namespace().unwrap_or_default();
    for dependency in ks.spec.depends_on.iter().flatten() {
        let dep_namespace = dependency.namespace.as_deref().unwrap_or(&namespace);
        let deps: Api<Kustomization> = Api::namespaced(ctx.client.clone(), dep_namespace);
        let not_ready = match deps.get_opt(&dependency.name).await {
            Ok(Some(dep)) => {
                let dep_source_namespace = dep
                    .spec
                    .source_ref
                    .namespace
                    .as_deref()
                    .unwrap_or(dep_namespace);
                let same_source = dep.spec.source_ref.name == ks.spec.source_ref.name
                    && dep.spec.source_ref.kind == ks.spec.source_ref.kind
                    && dep_source_namespace == source_namespace;
                dependencies::not_ready_reason(&dep, same_source.then_some(revision))
            }
            Ok(None) => Some(format!(
                "dependency '{dep_namespace}/{}' not found",
                dependency.name
            )),
            Err(error) => Some(format!(
                "unable to get '{dep_namespace}/{}' dependency: {error}",
                dependency.name
            )),
        };
        if let Some(text) = not_ready {
            let message = format!(
                "Dependencies do not meet ready condition ({text}), retrying in {}",
                history::format_duration(ctx.settings.requeue_dependency)
            );
            return Err(Failure::dependency(reason::DEPENDENCY_NOT_READY, message));
        }
    }
    Ok(())
}

/// `Reconciling` for a revision not attempted before; the attempt is recorded either way.
async fn record_attempt(
    ks: &Kustomization,
    api: &Api<Kustomization>,
    report: &mut Report,
    revision: &str,
) -> Result<(), Error> {
    if report.status.last_attempted_revision.as_deref() != Some(revision) {
        let message = format!(
            "Fetching manifests for revision {revision} with a timeout of {}",
            history::format_duration(report::timeout(ks))
        );
        let generation = report.generation;
        conditions::mark_reconciling(report.conditions(), &message, generation);
        report.write(api).await?;
    }
    report.status.last_attempted_revision = Some(revision.to_owned());
    Ok(())
}

/// What the build and apply read from the API.
struct BuildInputs {
    decryptor: Option<sops::Decryptor>,
    variables: BTreeMap<String, String>,
    cluster: Arc<Cluster>,
}

async fn resolve_build_inputs(ks: &Kustomization, ctx: &Context) -> Result<BuildInputs, Failure> {
    let namespace = ks.namespace().unwrap_or_default();
    let build_failed = |error: &dyn std::fmt::Display| {
        Failure::retry_interval(reason::BUILD_FAILED, error.to_string())
    };
    let decryptor = sops::decryptor_for(&ctx.client, ks, ctx.settings.sops_age_secret.as_ref())
        .await
        .map_err(|error| build_failed(&error))?;
    let variables = match &ks.spec.post_build {
        Some(post_build) => source::post_build_variables(&ctx.client, &namespace, post_build)
            .await
            .map_err(|error| build_failed(&error))?,
        None => BTreeMap::new(),
    };
    let cluster = remote::cluster_of(ctx, ks)
        .await
        .map_err(|message| Failure::retry_interval(reason::RECONCILIATION_FAILED, message))?;
    Ok(BuildInputs {
        decryptor,
        variables,
        cluster,
    })
}

// ---------------------------------------------------------------------------------------------
// Build

/// Fetches and unpacks the artifact (once per digest for every Kustomization), then builds it
/// off the async runtime.
async fn build(
    ks: &Kustomization,
    ctx: &Context,
    artifact: &Artifact,
    inputs: &BuildInputs,
) -> Result<Vec<Value>, Failure> {
    let url =
        eddy_artifact::rewrite_url(&artifact.url, ctx.settings.source_host_override.as_deref());
    let unpacked = match ctx.artifacts.get(&ctx.http, &url, &artifact.digest).await {
        Ok(unpacked) => unpacked,
        Err(error) if error.is_not_found() => {
            let message = "Source is not ready, artifact not found";
            return Err(Failure::dependency(reason::ARTIFACT_FAILED, message));
        }
        Err(error) => {
            return Err(Failure::retry_interval(
                reason::ARTIFACT_FAILED,
                error.to_string(),
            ));
        }
    };
    let wrapper = ctx.artifacts.wrapper_dir().map_err(|error| {
        let message = format!("failed to create temp dir: {error}");
        Failure::retry_interval("DirectoryCreationFailed", message)
    })?;
    let (root, digest_dir) = (unpacked.dir.clone(), unpacked.digest_dir.clone());
    let (ks, decryptor, variables) = (
        ks.clone(),
        inputs.decryptor.clone(),
        inputs.variables.clone(),
    );
    let built = tokio::task::spawn_blocking(move || {
        let artifact = UnpackedArtifact {
            root: &root,
            digest_dir: &digest_dir,
            wrapper: wrapper.path(),
        };
        build_objects(&artifact, &ks, decryptor.as_ref(), &variables)
    })
    .await
    .unwrap_or_else(|join| {
        let message = format!("build panicked: {join}");
        Err(Failure::retry_interval(reason::BUILD_FAILED, message))
    });
    drop(unpacked);
    built
}

/// Where an unpacked artifact and the build's wrapper kustomization are.
pub struct UnpackedArtifact<'a> {
    /// `<cache>/artifacts/<digest_dir>`: everything the build may read.
    pub root: &'a Path,
    pub digest_dir: &'a str,
    /// A fresh `<cache>/wrappers/<random>` directory.
    pub wrapper: &'a Path,
}

/// The build proper, without API calls: the Kustomize engine confined to the artifact (SOPS
/// decrypted while files are read), postBuild substitution, the check that no encrypted Secret
/// is left, then `commonMetadata` and the owner labels.
pub fn build_objects(
    artifact: &UnpackedArtifact,
    ks: &Kustomization,
    decryptor: Option<&sops::Decryptor>,
    variables: &BTreeMap<String, String>,
) -> Result<Vec<Value>, Failure> {
    let build_failed = |message: String| Failure::retry_interval(reason::BUILD_FAILED, message);
    let filter = decryptor.map(sops::Decryptor::read_filter);
    let mut objects = build::build_artifact_path(
        artifact.root,
        artifact.digest_dir,
        artifact.wrapper,
        ks.spec.clone(),
        filter,
    )
    .map_err(|error| match error {
        // A path missing from the artifact is the artifact's fault.
        build::BuildError::PathNotFound(_) | build::BuildError::PathEscapes(_) => {
            Failure::retry_interval(reason::ARTIFACT_FAILED, error.to_string())
        }
        other => build_failed(other.to_string()),
    })?;
    if let Some(post_build) = &ks.spec.post_build {
        substitute::substitute_post_build(&mut objects, post_build, variables, true)
            .map_err(|error| build_failed(format!("post build failed for {error}")))?;
    }
    sops::check_objects(ks, &objects).map_err(|error| build_failed(error.to_string()))?;
    let (labels, annotations) = crate::local_build::metadata_for(ks);
    build::add_metadata(&mut objects, &labels, &annotations);
    Ok(objects)
}

// ---------------------------------------------------------------------------------------------
// Apply and prune

/// Applies the objects and prunes what left the source; returns the change set and whether
/// anything changed.
async fn apply_and_prune(
    ks: &Kustomization,
    ctx: &Context,
    api: &Api<Kustomization>,
    report: &mut Report,
    cluster: &Cluster,
    objects: &[Value],
) -> Result<(Vec<apply::Change>, bool), Stop> {
    let options = ApplyOptions {
        force: ks.spec.force,
        custom_stage_kinds: &ctx.settings.custom_apply_stage_kinds,
        override_managers: &ctx.settings.override_managers,
        concurrency: ctx.settings.concurrent_ssa,
        stage_timeout: Duration::from_secs(60),
    };
    // Every object this apply may create is recorded before any is created, so a crash at any
    // point leaves nothing outside the inventory; pruning narrows it to the new set afterwards.
    let before = report.status.inventory.clone();
    let covering = inventory::covering(before.as_ref(), objects.iter().map(ObjectId::of));
    if before.as_ref() != Some(&covering) {
        report.status.inventory = Some(covering);
        report.write(api).await?;
    }
    let changes = match apply::apply_all(cluster, objects, &options).await {
        Ok(changes) => changes,
        Err(error) => {
            // Validation refuses before anything is created: the inventory is what it was.
            if matches!(error, apply::ApplyError::Validation(_)) {
                report.status.inventory = before;
            }
            let message = error.to_string();
            return Err(Failure::retry_interval(reason::RECONCILIATION_FAILED, message).into());
        }
    };
    let revision = report
        .status
        .last_attempted_revision
        .clone()
        .unwrap_or_default();
    let summary = apply::summary(&changes);
    if !summary.is_empty() {
        tracing::debug!(changes = %apply::full_summary(&changes), "applied change set");
        let event =
            Event::info(reason::PROGRESSING, summary.clone()).with("revision", revision.clone());
        ctx.recorder.publish(ks, event).await;
    }
    prune_stale(ks, ctx, report, cluster, &changes, &revision).await?;
    Ok((changes, !summary.is_empty()))
}

/// Deletes what the old inventory holds and this apply did not; what could not be deleted stays
/// in the inventory so the next run retries it.
async fn prune_stale(
    ks: &Kustomization,
    ctx: &Context,
    report: &mut Report,
    cluster: &Cluster,
    changes: &[apply::Change],
    revision: &str,
) -> Result<(), Failure> {
    let applied_ids: Vec<ObjectId> = changes.iter().map(|c| c.id.clone()).collect();
    let new_inventory = inventory::inventory_of(&applied_ids);
    let old_inventory = report.status.inventory.clone().unwrap_or_default();
    let stale = inventory::stale_objects(&old_inventory, &new_inventory);
    if !ks.spec.prune || stale.is_empty() {
        report.status.inventory = Some(new_inventory);
        return Ok(());
    }
    let namespace = ks.namespace().unwrap_or_default();
    let (pruned, failures) = prune::prune(cluster, &stale, &ks.name_any(), &namespace).await;
    let deleted = apply::summary(&pruned);
    if !deleted.is_empty() {
        let event = Event::info(reason::PROGRESSING, deleted).with("revision", revision);
        ctx.recorder.publish(ks, event).await;
    }
    if failures.is_empty() {
        report.status.inventory = Some(new_inventory);
        return Ok(());
    }
    let mut kept = applied_ids;
    kept.extend(failures.iter().map(|(id, _)| id.clone()));
    report.status.inventory = Some(inventory::inventory_of(&kept));
    let message = failures
        .into_iter()
        .map(|(_, message)| message)
        .collect::<Vec<_>>()
        .join("\n");
    Err(Failure::retry_interval(reason::PRUNE_FAILED, message))
}

// ---------------------------------------------------------------------------------------------
// Deletion

/// Deletion: prune the inventory as `deletionPolicy` says (unless suspended), then let go.
async fn finalize(
    ks: &Kustomization,
    ctx: &Context,
    api: &Api<Kustomization>,
) -> Result<Action, Error> {
    ctx.pending_health().remove(&health_check::key(ks));
    let policy = ks.spec.deletion_policy.unwrap_or_default();
    let delete = match policy {
        DeletionPolicy::MirrorPrune => ks.spec.prune,
        DeletionPolicy::Delete | DeletionPolicy::WaitForTermination => true,
        DeletionPolicy::Orphan => false,
    };
    let inventory = ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.clone())
        .unwrap_or_default();
    if delete && ks.spec.suspend != Some(true) && !inventory.entries.is_empty() {
        let wait = policy == DeletionPolicy::WaitForTermination;
        prune_everything(ks, ctx, &inventory, wait).await;
    }
    finalizer::release(api, ks).await.map_err(api_error(ks))?;
    Ok(Action::await_change())
}

async fn prune_everything(
    ks: &Kustomization,
    ctx: &Context,
    inventory: &eddy_api::kustomize::kustomization::ResourceInventory,
    wait_for_termination: bool,
) {
    let namespace = ks.namespace().unwrap_or_default();
    let cluster = match remote::cluster_of(ctx, ks).await {
        Ok(cluster) => cluster,
        Err(message) => {
            let event = Event::error(reason::PRUNE_FAILED, message);
            return ctx.recorder.publish(ks, event).await;
        }
    };
    let stale = inventory::stale_objects(inventory, &Default::default());
    let (changes, failures) = prune::prune(&cluster, &stale, &ks.name_any(), &namespace).await;
    if wait_for_termination {
        termination::wait(&cluster, &changes, report::timeout(ks), ks, ctx).await;
    }
    let deleted = apply::summary(&changes);
    if !deleted.is_empty() {
        let event = Event::info(reason::PROGRESSING, deleted);
        ctx.recorder.publish(ks, event).await;
    }
    for (_, message) in failures {
        let event = Event::error(reason::PRUNE_FAILED, message);
        ctx.recorder.publish(ks, event).await;
    }
}

#[cfg(test)]
mod tests {
    use eddy_runtime::outcome::Retry;
    use serde_json::json;

    use super::*;

    /// An unpacked artifact laid out as the cache lays it out.
    struct Scratch {
        _dir: tempfile::TempDir,
        root: std::path::PathBuf,
        wrapper: std::path::PathBuf,
    }

    fn artifact(files: &[(&str, &str)]) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let root = base.join("artifacts/sha256-1");
        let wrapper = base.join("wrappers/w1");
        std::fs::create_dir_all(&wrapper).unwrap();
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Scratch {
            _dir: dir,
            root,
            wrapper,
        }
    }

    fn kustomization(spec: Value) -> Kustomization {
        let mut object = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"interval": "10m", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "repo"}},
        });
        if let (Some(target), Some(extra)) = (object["spec"].as_object_mut(), spec.as_object()) {
            target.extend(extra.clone());
        }
        serde_json::from_value(object).unwrap()
    }

    fn run(
        scratch: &Scratch,
        ks: &Kustomization,
        variables: &[(&str, &str)],
    ) -> Result<Vec<Value>, Failure> {
        let variables = variables
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let artifact = UnpackedArtifact {
            root: &scratch.root,
            digest_dir: "sha256-1",
            wrapper: &scratch.wrapper,
        };
        build_objects(&artifact, ks, None, &variables)
    }

    #[test]
    fn the_build_step_substitutes_and_labels_without_a_cluster() {
        let scratch = artifact(&[
            ("apps/kustomization.yaml", "resources: [cm.yaml]\n"),
            (
                "apps/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  region: ${region}\n",
            ),
        ]);
        let ks = kustomization(json!({
            "path": "./apps",
            "targetNamespace": "team",
            "postBuild": {"substitute": {"region": "eu"}},
        }));
        let objects = run(&scratch, &ks, &[("region", "eu")]).unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0]["data"]["region"], "eu");
        assert_eq!(objects[0]["metadata"]["namespace"], "team");
        assert_eq!(
            objects[0]["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
            "apps"
        );
    }

    #[test]
    fn the_build_step_names_what_failed_and_how_it_is_retried() {
        let scratch = artifact(&[(
            "leak/kustomization.yaml",
            "configMapGenerator:\n- name: leak\n  files: [/etc/passwd]\n",
        )]);
        let failure = run(&scratch, &kustomization(json!({"path": "./leak"})), &[]).unwrap_err();
        assert_eq!(failure.reason, reason::BUILD_FAILED);
        assert_eq!(failure.retry, Retry::RetryInterval);
        assert!(
            failure.message.contains("/etc/passwd"),
            "{}",
            failure.message
        );

        let failure = run(&scratch, &kustomization(json!({"path": "./missing"})), &[]).unwrap_err();
        assert_eq!(
            failure.reason,
            reason::ARTIFACT_FAILED,
            "{}",
            failure.message
        );

        let scratch = artifact(&[
            ("kustomization.yaml", "resources: [cm.yaml]\n"),
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: ${unset}\n",
            ),
        ]);
        let ks = kustomization(json!({"path": "./", "postBuild": {"substitute": {"other": "1"}}}));
        let failure = run(&scratch, &ks, &[("other", "1")]).unwrap_err();
        assert_eq!(failure.reason, reason::BUILD_FAILED);
        assert!(
            failure.message.starts_with("post build failed for"),
            "{}",
            failure.message
        );
    }
}
