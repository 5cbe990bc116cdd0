//! The Kustomization reconciler: finalizer/deletion → suspend → source and dependencies → fetch
//! and verify → build → validate and apply → prune → health → report.
//!
//! Health checks never hold a worker: after applying, the objects to watch are remembered in
//! [`PendingHealth`] and the Kustomization is requeued shortly; each later pass only evaluates
//! health (no fetch, build or apply) until everything is healthy, something failed, or the
//! timeout passed.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use eddy_api::kustomize::{
    Kustomization, KustomizationStatus,
    kustomization::{DeletionPolicy, ResourceInventory},
};
use eddy_runtime::{
    conditions::{self, Status},
    events::Event,
    requeue::jittered,
    status::apply_status,
    watch::requested_at,
};
use futures::StreamExt;
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
    runtime::controller::Action,
};
use serde_json::json;

use super::{Context, remote, source, status as timing, termination, unsupported};
use crate::{
    apply::{self, ApplyOptions, ChangeAction, cluster::Cluster, policy},
    build, dependencies,
    health::{self, Health},
    inventory::{self, ObjectId},
    prune, substitute,
};

pub const FINALIZER: &str = "finalizers.fluxcd.io";
const HEALTHY: &str = "Healthy";

/// Reasons on the Ready condition.
mod reason {
    pub const SUCCEEDED: &str = "ReconciliationSucceeded";
    pub const FAILED: &str = "ReconciliationFailed";
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    pub const BUILD_FAILED: &str = "BuildFailed";
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    pub const PRUNE_FAILED: &str = "PruneFailed";
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    pub const ACCESS_DENIED: &str = "AccessDenied";
    pub const PROGRESSING: &str = "Progressing";
}

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

/// How many objects a health check reads concurrently.
const HEALTH_READS_IN_FLIGHT: usize = 8;

/// A health check waiting for objects to become ready.
#[derive(Debug, Clone)]
pub struct PendingHealth {
    generation: Option<i64>,
    revision: String,
    targets: Vec<ObjectId>,
    started: Instant,
    deadline: Instant,
    reconcile_started: Instant,
    status: KustomizationStatus,
    changed: bool,
}

fn key(ks: &Kustomization) -> String {
    format!("{}/{}", ks.namespace().unwrap_or_default(), ks.name_any())
}

/// Reconciles one Kustomization.
pub async fn reconcile(ks: Arc<Kustomization>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let namespace = ks.namespace().unwrap_or_default();
    let api: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &namespace);

    if ks.metadata.deletion_timestamp.is_some() {
        return finalize(&ks, &ctx, &api).await;
    }
    if !ks.finalizers().iter().any(|f| f == FINALIZER) {
        add_finalizer(&ks, &api).await?;
    }
    if ks.spec.suspend == Some(true) {
        ctx.pending_health().remove(&key(&ks));
        tracing::info!("reconciliation is suspended for this object");
        return Ok(Action::await_change());
    }

    let mut report = Report::new(&ks, started);
    // Before any read or apply: a field Eddy would ignore (kubeConfig above all) stops here.
    if let Some((why, message)) = unsupported::refusal(&unsupported::unsupported_fields(&ks.spec)) {
        ctx.pending_health().remove(&key(&ks));
        report.status.observed_generation = report.generation;
        return report.stalled(&ctx, &api, why, &message).await;
    }

    // A health check in progress is evaluated without fetching or applying again, unless the
    // spec or a reconcile request moved on.
    let pending = ctx.pending_health().get(&key(&ks)).cloned();
    if let Some(pending) = pending {
        let source_revision = match &ks.spec.source_ref.namespace {
            Some(ns) if ns != &namespace && ctx.settings.no_cross_namespace_refs => None,
            other => source::resolve(
                &ctx.client,
                &ks.spec.source_ref,
                other.as_deref().unwrap_or(&namespace),
            )
            .await
            .ok()
            .and_then(|s| s.artifact.map(|a| a.revision)),
        };
        let same_request = report.status.last_handled_reconcile_at == requested_at(&*ks)
            || requested_at(&*ks).is_none();
        if pending.generation == ks.metadata.generation
            && source_revision.as_deref() == Some(pending.revision.as_str())
            && same_request
        {
            return check_health(&ks, &ctx, &api, pending).await;
        }
        ctx.pending_health().remove(&key(&ks));
    }

    // Source.
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
        return report
            .stalled(&ctx, &api, reason::ACCESS_DENIED, &message)
            .await;
    }
    let resolved = match source::resolve(&ctx.client, &ks.spec.source_ref, &source_namespace).await
    {
        Ok(resolved) => resolved,
        Err(error) => {
            let retry = timing::retry_interval(&ks.spec);
            return report
                .failed(
                    &ctx,
                    &api,
                    reason::ARTIFACT_FAILED,
                    &error.to_string(),
                    retry,
                )
                .await;
        }
    };
    let Some(artifact) = resolved.artifact else {
        let retry = ctx.settings.requeue_dependency;
        let message = format!(
            "Source artifact not found, retrying in {}",
            timing::format_duration(retry)
        );
        return report
            .progressing(&ctx, &api, reason::ARTIFACT_FAILED, &message, retry)
            .await;
    };
    let revision = artifact.revision.clone();

    // Dependencies.
    for dependency in ks.spec.depends_on.iter().flatten() {
        let dep_namespace = dependency
            .namespace
            .clone()
            .unwrap_or_else(|| namespace.clone());
        let deps: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &dep_namespace);
        let reason_text = match deps.get_opt(&dependency.name).await {
            Ok(Some(dep)) => {
                let same_source = dep.spec.source_ref.name == ks.spec.source_ref.name
                    && dep.spec.source_ref.kind == ks.spec.source_ref.kind
                    && dep
                        .spec
                        .source_ref
                        .namespace
                        .clone()
                        .unwrap_or(dep_namespace.clone())
                        == source_namespace;
                dependencies::not_ready_reason(&dep, same_source.then_some(revision.as_str()))
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
        if let Some(text) = reason_text {
            let retry = ctx.settings.requeue_dependency;
            let message = format!(
                "Dependencies do not meet ready condition ({text}), retrying in {}",
                timing::format_duration(retry)
            );
            return report
                .progressing(&ctx, &api, reason::DEPENDENCY_NOT_READY, &message, retry)
                .await;
        }
    }

    let timeout = timing::timeout(&ks.spec);
    if report.status.last_attempted_revision.as_deref() != Some(revision.as_str()) {
        let message = format!(
            "Fetching manifests for revision {revision} with a timeout of {}",
            timing::format_duration(timeout)
        );
        conditions::mark_reconciling(
            report.status.conditions.get_or_insert_with(Vec::new),
            &message,
            report.generation,
        );
        report.write(&api).await?;
    }
    report.status.last_attempted_revision = Some(revision.clone());

    // Fetch, verify and unpack (once per revision for all Kustomizations), then build.
    let url =
        eddy_artifact::rewrite_url(&artifact.url, ctx.settings.source_host_override.as_deref());
    let unpacked = match ctx.artifacts.get(&ctx.http, &url, &artifact.digest).await {
        Ok(unpacked) => unpacked,
        Err(error) if error.is_not_found() => {
            let retry = ctx.settings.requeue_dependency;
            return report
                .progressing(
                    &ctx,
                    &api,
                    reason::ARTIFACT_FAILED,
                    "Source is not ready, artifact not found",
                    retry,
                )
                .await;
        }
        Err(error) => {
            return report
                .failed(
                    &ctx,
                    &api,
                    reason::ARTIFACT_FAILED,
                    &error.to_string(),
                    timing::retry_interval(&ks.spec),
                )
                .await;
        }
    };
    let wrapper = match ctx.artifacts.wrapper_dir() {
        Ok(wrapper) => wrapper,
        Err(error) => {
            let message = format!("failed to create temp dir: {error}");
            return report
                .failed(
                    &ctx,
                    &api,
                    "DirectoryCreationFailed",
                    &message,
                    timing::retry_interval(&ks.spec),
                )
                .await;
        }
    };
    // SOPS keys are read before the build, which decrypts the files it reads in memory.
    let decryptor = match crate::sops::decryptor_for(&ctx.client, &ks).await {
        Ok(decryptor) => decryptor,
        Err(message) => {
            return report
                .failed(
                    &ctx,
                    &api,
                    reason::BUILD_FAILED,
                    &message,
                    timing::retry_interval(&ks.spec),
                )
                .await;
        }
    };
    let spec = ks.spec.clone();
    let root = unpacked.dir.clone();
    let digest_dir = unpacked.digest_dir.clone();
    // Failures carry their reason: a path missing from the artifact is the artifact's fault.
    let built = tokio::task::spawn_blocking(move || {
        let filter = decryptor.map(|d| d.read_filter());
        build::build_artifact_path(&root, &digest_dir, wrapper.path(), spec, filter).map_err(|e| {
            let why = match e {
                build::BuildError::PathNotFound(_) | build::BuildError::PathEscapes(_) => {
                    reason::ARTIFACT_FAILED
                }
                _ => reason::BUILD_FAILED,
            };
            (why, e.to_string())
        })
    })
    .await
    .unwrap_or_else(|join| Err((reason::BUILD_FAILED, format!("build panicked: {join}"))));
    drop(unpacked);
    let mut objects = match built {
        Ok(objects) => objects,
        Err((why, message)) => {
            return report
                .failed(&ctx, &api, why, &message, timing::retry_interval(&ks.spec))
                .await;
        }
    };

    // Post-build: substitution, decryption check, metadata.
    if let Some(post_build) = &ks.spec.post_build {
        let vars = match source::post_build_variables(&ctx.client, &namespace, post_build).await {
            Ok(vars) => vars,
            Err(message) => {
                return report
                    .failed(
                        &ctx,
                        &api,
                        reason::BUILD_FAILED,
                        &message,
                        timing::retry_interval(&ks.spec),
                    )
                    .await;
            }
        };
        if let Err(error) = substitute::substitute_post_build(&mut objects, post_build, &vars, true)
        {
            let message = format!("post build failed for {error}");
            return report
                .failed(
                    &ctx,
                    &api,
                    reason::BUILD_FAILED,
                    &message,
                    timing::retry_interval(&ks.spec),
                )
                .await;
        }
    }
    if let Err(message) = crate::sops::check_objects(&ks, &objects) {
        return report
            .failed(
                &ctx,
                &api,
                reason::BUILD_FAILED,
                &message,
                timing::retry_interval(&ks.spec),
            )
            .await;
    }
    let (labels, annotations) = crate::local_build::metadata_for(&ks);
    build::add_metadata(&mut objects, &labels, &annotations);
    let objects_digest = timing::objects_digest(&objects);

    // Validate and apply.
    let cluster = match remote::cluster_of(&ctx, &ks).await {
        Ok(cluster) => cluster,
        Err(message) => {
            return report
                .failed(
                    &ctx,
                    &api,
                    reason::FAILED,
                    &message,
                    timing::retry_interval(&ks.spec),
                )
                .await;
        }
    };
    let options = ApplyOptions {
        force: ks.spec.force,
        custom_stage_kinds: &ctx.settings.custom_apply_stage_kinds,
        override_managers: &ctx.settings.override_managers,
        concurrency: ctx.settings.concurrent_ssa,
        stage_timeout: Duration::from_secs(60),
    };
    // Every object this apply may create is recorded before any is created, so a crash at any
    // point leaves nothing outside the inventory; pruning narrows it to the new set afterwards.
    let covering = inventory::covering(
        report.status.inventory.as_ref(),
        objects.iter().map(ObjectId::of),
    );
    if report.status.inventory.as_ref() != Some(&covering) {
        report.status.inventory = Some(covering);
        report.write(&api).await?;
    }
    let changes = match apply::apply_all(&cluster, &objects, &options).await {
        Ok(changes) => changes,
        Err(error) => {
            return report
                .failed(
                    &ctx,
                    &api,
                    reason::FAILED,
                    &error.to_string(),
                    timing::retry_interval(&ks.spec),
                )
                .await;
        }
    };
    let change_summary = apply::summary(&changes);
    if !change_summary.is_empty() {
        tracing::debug!(changes = %apply::full_summary(&changes), "applied change set");
        ctx.recorder
            .publish(
                &*ks,
                Event::info("Progressing", change_summary.clone())
                    .with("revision", revision.clone()),
            )
            .await;
    }

    // Inventory and prune.
    let applied_ids: Vec<ObjectId> = changes.iter().map(|c| c.id.clone()).collect();
    let mut new_inventory = inventory::inventory_of(&applied_ids);
    let old_inventory = report.status.inventory.clone().unwrap_or_default();
    let stale = inventory::stale_objects(&old_inventory, &new_inventory);
    if ks.spec.prune && !stale.is_empty() {
        let (pruned, failures) = prune::prune(&cluster, &stale, &ks.name_any(), &namespace).await;
        let deleted = apply::summary(&pruned);
        if !deleted.is_empty() {
            ctx.recorder
                .publish(
                    &*ks,
                    Event::info("Progressing", deleted).with("revision", revision.clone()),
                )
                .await;
        }
        if !failures.is_empty() {
            // What could not be deleted stays in the inventory so the next run retries it.
            let mut kept = applied_ids.clone();
            kept.extend(failures.iter().map(|(id, _)| id.clone()));
            new_inventory = inventory::inventory_of(&kept);
            report.status.inventory = Some(new_inventory);
            let message = failures
                .into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("\n");
            return report
                .failed(
                    &ctx,
                    &api,
                    reason::PRUNE_FAILED,
                    &message,
                    timing::retry_interval(&ks.spec),
                )
                .await;
        }
    }
    report.status.inventory = Some(new_inventory);

    // Health.
    let changed = !change_summary.is_empty();
    let targets = health_targets(&ks, &changes);
    if targets.is_empty() {
        conditions::remove(
            report.status.conditions.get_or_insert_with(Vec::new),
            HEALTHY,
        );
        return report
            .succeeded(&ctx, &api, &revision, &objects_digest, changed)
            .await;
    }
    let health_started = Instant::now();
    report.digest = Some(objects_digest);
    let pending = PendingHealth {
        generation: ks.metadata.generation,
        revision: revision.clone(),
        targets,
        started: health_started,
        deadline: health_started + timeout,
        reconcile_started: started,
        status: report.status.clone(),
        changed,
    };
    check_health(&ks, &ctx, &api, pending).await
}

/// What to health-check: every applied object with `wait`, else the listed `healthChecks`.
fn health_targets(ks: &Kustomization, changes: &[apply::Change]) -> Vec<ObjectId> {
    if ks.spec.wait == Some(true) {
        return changes
            .iter()
            .filter(|c| c.action != ChangeAction::Skipped)
            .map(|c| c.id.clone())
            .filter(|id| {
                !(id.kind == "Kustomization"
                    && id.name == ks.name_any()
                    && Some(id.namespace.as_str()) == ks.namespace().as_deref())
            })
            .collect();
    }
    ks.spec
        .health_checks
        .iter()
        .flatten()
        .map(|reference| {
            let api_version = reference
                .api_version
                .clone()
                .unwrap_or_else(|| "apps/v1".to_owned());
            let (group, version) = inventory::split_api_version(&api_version);
            ObjectId {
                group,
                version,
                kind: reference.kind.clone(),
                namespace: reference
                    .namespace
                    .clone()
                    .or_else(|| ks.namespace())
                    .unwrap_or_default(),
                name: reference.name.clone(),
            }
        })
        .collect()
}

/// Evaluates a pending health check once; requeues shortly while objects are in progress.
async fn check_health(
    ks: &Kustomization,
    ctx: &Context,
    api: &Api<Kustomization>,
    pending: PendingHealth,
) -> Result<Action, Error> {
    let mut report = Report::new(ks, pending.reconcile_started);
    report.status = pending.status.clone();
    let cluster = match remote::cluster_of(ctx, ks).await {
        Ok(cluster) => cluster,
        Err(message) => {
            return report
                .failed(
                    ctx,
                    api,
                    reason::FAILED,
                    &message,
                    timing::retry_interval(&ks.spec),
                )
                .await;
        }
    };
    let mut waiting = Vec::new();
    let mut still_waiting = Vec::new();
    let mut failed = Vec::new();
    // A few reads in flight at once: a large inventory is checked in a fraction of the time
    // without flooding the API server.
    let cluster = &cluster;
    let healths: Vec<Health> = futures::stream::iter(pending.targets.clone())
        .map(|id| async move { object_health(cluster, &id).await })
        .buffered(HEALTH_READS_IN_FLIGHT)
        .collect()
        .await;
    for (id, health) in pending.targets.iter().zip(healths) {
        match health {
            Health::Current => {}
            Health::InProgress(message) => {
                waiting.push(format!("{} status: 'InProgress': {message}", id.subject()));
                still_waiting.push(id.clone());
            }
            Health::Failed(message) => {
                failed.push(format!("{} status: 'Failed': {message}", id.subject()))
            }
        }
    }
    let revision = pending.revision.clone();
    if !failed.is_empty() || (!waiting.is_empty() && Instant::now() >= pending.deadline) {
        ctx.pending_health().remove(&key(ks));
        let message = if failed.is_empty() {
            format!(
                "health check failed after {}: timeout waiting for: [{}]",
                timing::format_duration(pending.started.elapsed()),
                waiting.join(", ")
            )
        } else {
            format!(
                "health check failed after {}: failed early due to stalled resources: [{}]",
                timing::format_duration(pending.started.elapsed()),
                failed.join(", ")
            )
        };
        conditions::set(
            report.status.conditions.get_or_insert_with(Vec::new),
            HEALTHY,
            Status::False,
            reason::HEALTH_CHECK_FAILED,
            &message,
            report.generation,
        );
        return report
            .failed(
                ctx,
                api,
                reason::HEALTH_CHECK_FAILED,
                &message,
                timing::retry_interval(&ks.spec),
            )
            .await;
    }
    if !waiting.is_empty() {
        let first_pass = !ctx.pending_health().contains_key(&key(ks));
        // Objects already ready are not asked about again: most kinds (ConfigMaps, Services,
        // ServiceAccounts, …) are ready at once, and re-reading them every poll multiplied the
        // API requests per Kustomization.
        let next = PendingHealth {
            targets: still_waiting,
            ..pending.clone()
        };
        ctx.pending_health().insert(key(ks), next);
        if first_pass {
            let message = format!(
                "Running health checks for revision {revision} with a timeout of {}",
                timing::format_duration(
                    pending.deadline.saturating_duration_since(pending.started)
                )
            );
            conditions::mark_reconciling(
                report.status.conditions.get_or_insert_with(Vec::new),
                &message,
                report.generation,
            );
            conditions::set(
                report.status.conditions.get_or_insert_with(Vec::new),
                HEALTHY,
                Status::Unknown,
                reason::PROGRESSING,
                &message,
                report.generation,
            );
            report.write(api).await?;
        }
        return Ok(Action::requeue(ctx.settings.health_poll));
    }
    ctx.pending_health().remove(&key(ks));
    let message = format!(
        "Health check passed in {}",
        timing::format_duration(pending.started.elapsed())
    );
    conditions::set(
        report.status.conditions.get_or_insert_with(Vec::new),
        HEALTHY,
        Status::True,
        "Succeeded",
        &message,
        report.generation,
    );
    let was_unhealthy = ks
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .is_some_and(|c| !conditions::is_true(c, HEALTHY));
    if pending.changed || was_unhealthy {
        ctx.recorder
            .publish(
                ks,
                Event::info("Succeeded", message).with("revision", revision.clone()),
            )
            .await;
    }
    let digest = report.digest.clone().or_else(|| {
        pending
            .status
            .history
            .as_ref()
            .and_then(|h| h.first())
            .map(|s| s.digest.clone())
    });
    let digest = digest.unwrap_or_default();
    report
        .succeeded(ctx, api, &revision, &digest, pending.changed)
        .await
}

async fn object_health(cluster: &Cluster, id: &ObjectId) -> Health {
    let kind = match cluster.resolve(id).await {
        Ok(Some(kind)) => kind,
        Ok(None) => return Health::InProgress("kind not served".into()),
        Err(error) => return Health::InProgress(error.to_string()),
    };
    match cluster.get(&kind, id).await {
        Ok(Some(live)) => health::evaluate(&live),
        Ok(None) => Health::InProgress("NotFound".into()),
        Err(error) => Health::InProgress(error.to_string()),
    }
}

async fn add_finalizer(ks: &Kustomization, api: &Api<Kustomization>) -> Result<(), Error> {
    let mut finalizers = ks.finalizers().to_vec();
    finalizers.push(FINALIZER.to_owned());
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": ks.resource_version()}});
    api.patch(
        &ks.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|source| Error::Api {
        name: ks.name_any(),
        source,
    })?;
    Ok(())
}

/// Deletion: prune the inventory as `deletionPolicy` says (unless suspended), then let go.
async fn finalize(
    ks: &Kustomization,
    ctx: &Context,
    api: &Api<Kustomization>,
) -> Result<Action, Error> {
    ctx.pending_health().remove(&key(ks));
    let namespace = ks.namespace().unwrap_or_default();
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
        match remote::cluster_of(ctx, ks).await {
            Ok(cluster) => {
                let stale = inventory::stale_objects(&inventory, &ResourceInventory::default());
                let (changes, failures) =
                    prune::prune(&cluster, &stale, &ks.name_any(), &namespace).await;
                if policy == DeletionPolicy::WaitForTermination {
                    let timeout = timing::timeout(&ks.spec);
                    termination::wait(&cluster, &changes, timeout, ks, ctx).await;
                }
                let deleted = apply::summary(&changes);
                if !deleted.is_empty() {
                    ctx.recorder
                        .publish(ks, Event::info("Progressing", deleted))
                        .await;
                }
                for (_, message) in failures {
                    ctx.recorder
                        .publish(ks, Event::error("PruneFailed", message))
                        .await;
                }
            }
            Err(message) => {
                ctx.recorder
                    .publish(ks, Event::error("PruneFailed", message))
                    .await
            }
        }
    }
    let remaining: Vec<String> = ks
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    let patch = json!({"metadata": {"finalizers": remaining}});
    match api
        .patch(
            &ks.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Action::await_change()),
        Err(source) => Err(Error::Api {
            name: ks.name_any(),
            source,
        }),
    }
}

/// The status being built during one reconcile and the ways a reconcile ends.
struct Report {
    name: String,
    generation: Option<i64>,
    status: KustomizationStatus,
    requested_at: Option<String>,
    started: Instant,
    interval: Duration,
    jitter: u8,
    digest: Option<String>,
    object: Kustomization,
}

impl Report {
    fn new(ks: &Kustomization, started: Instant) -> Self {
        Self {
            name: ks.name_any(),
            generation: ks.metadata.generation,
            status: ks.status.clone().unwrap_or_default(),
            requested_at: requested_at(ks),
            started,
            interval: timing::interval(&ks.spec),
            jitter: 0,
            digest: None,
            object: ks.clone(),
        }
    }

    async fn write(&mut self, api: &Api<Kustomization>) -> Result<(), Error> {
        apply_status(api, &self.name, policy::FIELD_MANAGER, &self.status)
            .await
            .map_err(|source| Error::Api {
                name: self.name.clone(),
                source,
            })?;
        Ok(())
    }

    /// Final bookkeeping Flux does on every exit: echo the request, observe the generation on
    /// success.
    fn finish(&mut self) {
        if self.requested_at.is_some() {
            self.status.last_handled_reconcile_at = self.requested_at.clone();
        }
        if conditions::is_true(
            self.status.conditions.as_deref().unwrap_or_default(),
            conditions::READY,
        ) {
            self.status.observed_generation = self.generation;
        }
    }

    async fn succeeded(
        &mut self,
        ctx: &Context,
        api: &Api<Kustomization>,
        revision: &str,
        digest: &str,
        changed: bool,
    ) -> Result<Action, Error> {
        let message = format!("Applied revision: {revision}");
        conditions::mark_ready(
            self.status.conditions.get_or_insert_with(Vec::new),
            reason::SUCCEEDED,
            &message,
            self.generation,
        );
        let new_revision = self.status.last_applied_revision.as_deref() != Some(revision);
        self.status.last_applied_revision = Some(revision.to_owned());
        let elapsed = self.started.elapsed();
        let history = self.status.history.get_or_insert_with(Vec::new);
        timing::record_history(history, digest, revision, reason::SUCCEEDED, elapsed);
        self.finish();
        self.write(api).await?;
        let jitter = ctx.settings.interval_jitter_percentage.max(self.jitter);
        let next = jittered(self.interval, jitter);
        if changed || new_revision {
            let text = format!(
                "Reconciliation finished in {}, next run in {}",
                timing::format_duration(elapsed),
                timing::format_duration(self.interval)
            );
            ctx.recorder
                .publish(
                    &self.object,
                    Event::info(reason::SUCCEEDED, text)
                        .with("revision", revision)
                        .with("commit_status", "update"),
                )
                .await;
        }
        Ok(Action::requeue(next))
    }

    async fn failed(
        &mut self,
        ctx: &Context,
        api: &Api<Kustomization>,
        why: &str,
        message: &str,
        retry: Duration,
    ) -> Result<Action, Error> {
        conditions::mark_failed(
            self.status.conditions.get_or_insert_with(Vec::new),
            why,
            message,
            self.generation,
        );
        self.finish();
        self.write(api).await?;
        let mut event = Event::error(why, message);
        if let Some(revision) = &self.status.last_attempted_revision {
            event = event.with("revision", revision.clone());
        }
        ctx.recorder.publish(&self.object, event).await;
        Ok(Action::requeue(retry))
    }

    /// Waiting for something outside this object (a source or dependency): Ready=False, not an
    /// error event.
    async fn progressing(
        &mut self,
        ctx: &Context,
        api: &Api<Kustomization>,
        why: &str,
        message: &str,
        retry: Duration,
    ) -> Result<Action, Error> {
        conditions::mark_failed(
            self.status.conditions.get_or_insert_with(Vec::new),
            why,
            message,
            self.generation,
        );
        self.finish();
        self.write(api).await?;
        ctx.recorder
            .publish(&self.object, Event::info(why, message))
            .await;
        Ok(Action::requeue(retry))
    }

    async fn stalled(
        &mut self,
        ctx: &Context,
        api: &Api<Kustomization>,
        why: &str,
        message: &str,
    ) -> Result<Action, Error> {
        conditions::mark_stalled(
            self.status.conditions.get_or_insert_with(Vec::new),
            why,
            message,
            self.generation,
        );
        self.finish();
        self.write(api).await?;
        ctx.recorder
            .publish(&self.object, Event::error(why, message))
            .await;
        Ok(Action::await_change())
    }
}
