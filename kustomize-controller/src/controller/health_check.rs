//! The health step: after an apply, the objects to watch are remembered in [`PendingHealth`] and
//! the Kustomization is requeued shortly; each later pass only evaluates health (no fetch, build
//! or apply) until everything is healthy, something failed, or the timeout passed. Health checks
//! never hold a worker.

use std::time::{Duration, Instant};

use eddy_api::{
    kustomize::{Kustomization, KustomizationStatus},
    meta::{condition_type::HEALTHY, reason},
};
use eddy_runtime::{
    conditions::{self, Status},
    events::Event,
    outcome::Failure,
};
use futures::StreamExt;
use kube::{Api, ResourceExt, runtime::controller::Action};

use super::{Context, history, kustomization::Error, report::Report};
use crate::{
    apply::{self, ChangeAction, cluster::Cluster},
    health::{self, Health},
    inventory::{self, ObjectId},
};

/// How many objects a health check reads concurrently.
const HEALTH_READS_IN_FLIGHT: usize = 8;

/// A health check waiting for objects to become ready.
#[derive(Debug, Clone)]
pub struct PendingHealth {
    pub generation: Option<i64>,
    pub revision: String,
    targets: Vec<ObjectId>,
    started: Instant,
    deadline: Instant,
    reconcile_started: Instant,
    status: KustomizationStatus,
    digest: String,
    origin_revision: Option<String>,
    /// Jobs with `ttlSecondsAfterFinished`: gone means finished and cleaned up, not missing.
    deleted_when_finished: Vec<ObjectId>,
    changed: bool,
}

/// The key a pending health check is remembered under.
pub fn key(ks: &Kustomization) -> String {
    format!("{}/{}", ks.namespace().unwrap_or_default(), ks.name_any())
}

/// What an apply did, for the health step.
pub struct Applied {
    pub revision: String,
    pub changes: Vec<apply::Change>,
    /// Applied Jobs the cluster deletes after they finish (see [`deleted_when_finished`]).
    pub deleted_when_finished: Vec<ObjectId>,
    /// Whether anything was created, configured or deleted.
    pub changed: bool,
}

/// After an apply: succeed at once when nothing is to be checked, else start the health check.
pub async fn begin(
    ks: &Kustomization,
    ctx: &Context,
    api: &Api<Kustomization>,
    mut report: Report,
    applied: Applied,
    timeout: Duration,
) -> Result<Action, Error> {
    let Applied {
        revision,
        changes,
        deleted_when_finished,
        changed,
    } = applied;
    let targets = health_targets(ks, &changes);
    if targets.is_empty() {
        conditions::remove(report.conditions(), HEALTHY);
        return report.succeeded(ctx, api, &revision, changed).await;
    }
    let started = Instant::now();
    let pending = PendingHealth {
        generation: ks.metadata.generation,
        revision,
        targets,
        started,
        deadline: started + timeout,
        reconcile_started: report.started,
        status: report.status.clone(),
        digest: report.digest.clone().unwrap_or_default(),
        origin_revision: report.origin_revision.clone(),
        deleted_when_finished,
        changed,
    };
    check(ks, ctx, api, pending).await
}

/// What to health-check: every applied object with `wait`, else the listed `healthChecks`.
pub fn health_targets(ks: &Kustomization, changes: &[apply::Change]) -> Vec<ObjectId> {
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

/// The objects of one pass, sorted by what they said.
#[derive(Debug, Default)]
struct Pass {
    waiting: Vec<String>,
    still_waiting: Vec<ObjectId>,
    failed: Vec<String>,
}

/// Evaluates a pending health check once; requeues shortly while objects are in progress.
pub async fn check(
    ks: &Kustomization,
    ctx: &Context,
    api: &Api<Kustomization>,
    pending: PendingHealth,
) -> Result<Action, Error> {
    let mut report = Report::new(ks, pending.reconcile_started);
    report.status = pending.status.clone();
    report.digest = Some(pending.digest.clone());
    report.origin_revision = pending.origin_revision.clone();
    let cluster = match super::remote::cluster_of(ctx, ks).await {
        Ok(cluster) => cluster,
        Err(message) => {
            let failure = Failure::retry_interval(reason::RECONCILIATION_FAILED, message);
            return report.failed(ctx, api, failure).await;
        }
    };
    let pass = evaluate(&cluster, &pending.targets, &pending.deleted_when_finished).await;
    let timed_out = !pass.waiting.is_empty() && Instant::now() >= pending.deadline;
    if !pass.failed.is_empty() || timed_out {
        ctx.pending_health().remove(&key(ks));
        let message = failure_message(&pending, &pass);
        let generation = report.generation;
        conditions::set(
            report.conditions(),
            HEALTHY,
            Status::False,
            reason::HEALTH_CHECK_FAILED,
            &message,
            generation,
        );
        let failure = Failure::retry_interval(reason::HEALTH_CHECK_FAILED, message);
        return report.failed(ctx, api, failure).await;
    }
    if !pass.waiting.is_empty() {
        return keep_waiting(ks, ctx, api, report, pending, pass).await;
    }
    ctx.pending_health().remove(&key(ks));
    passed(ks, ctx, api, report, &pending).await
}

async fn evaluate(
    cluster: &Cluster,
    targets: &[ObjectId],
    deleted_when_finished: &[ObjectId],
) -> Pass {
    // A few reads in flight at once: a large inventory is checked in a fraction of the time
    // without flooding the API server.
    let healths: Vec<Health> = futures::stream::iter(targets.to_vec())
        .map(|id| async move {
            let gone_is_done = deleted_when_finished.contains(&id);
            object_health(cluster, &id, gone_is_done).await
        })
        .buffered(HEALTH_READS_IN_FLIGHT)
        .collect()
        .await;
    let mut pass = Pass::default();
    for (id, health) in targets.iter().zip(healths) {
        match health {
            Health::Current => {}
            Health::InProgress(message) => {
                pass.waiting
                    .push(format!("{} status: 'InProgress': {message}", id.subject()));
                pass.still_waiting.push(id.clone());
            }
            Health::Failed(message) => pass
                .failed
                .push(format!("{} status: 'Failed': {message}", id.subject())),
        }
    }
    pass
}

fn failure_message(pending: &PendingHealth, pass: &Pass) -> String {
    let elapsed = history::format_duration(pending.started.elapsed());
    if pass.failed.is_empty() {
        format!(
            "health check failed after {elapsed}: timeout waiting for: [{}]",
            pass.waiting.join(", ")
        )
    } else {
        format!(
            "health check failed after {elapsed}: failed early due to stalled resources: [{}]",
            pass.failed.join(", ")
        )
    }
}

async fn keep_waiting(
    ks: &Kustomization,
    ctx: &Context,
    api: &Api<Kustomization>,
    mut report: Report,
    pending: PendingHealth,
    pass: Pass,
) -> Result<Action, Error> {
    let first_pass = !ctx.pending_health().contains_key(&key(ks));
    // Objects already ready are not asked about again: most kinds (ConfigMaps, Services,
    // ServiceAccounts, …) are ready at once, and re-reading them every poll multiplied the API
    // requests per Kustomization.
    let next = PendingHealth {
        targets: pass.still_waiting,
        ..pending.clone()
    };
    ctx.pending_health().insert(key(ks), next);
    if first_pass {
        let message = format!(
            "Running health checks for revision {} with a timeout of {}",
            pending.revision,
            history::format_duration(pending.deadline.saturating_duration_since(pending.started))
        );
        let generation = report.generation;
        conditions::mark_reconciling(report.conditions(), &message, generation);
        conditions::set(
            report.conditions(),
            HEALTHY,
            Status::Unknown,
            reason::PROGRESSING,
            &message,
            generation,
        );
        report.write(api).await?;
    }
    Ok(Action::requeue(ctx.settings.health_poll))
}

async fn passed(
    ks: &Kustomization,
    ctx: &Context,
    api: &Api<Kustomization>,
    mut report: Report,
    pending: &PendingHealth,
) -> Result<Action, Error> {
    let message = format!(
        "Health check passed in {}",
        history::format_duration(pending.started.elapsed())
    );
    let generation = report.generation;
    conditions::set(
        report.conditions(),
        HEALTHY,
        Status::True,
        reason::SUCCEEDED,
        &message,
        generation,
    );
    let was_unhealthy = ks
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .is_some_and(|c| !conditions::is_true(c, HEALTHY));
    if pending.changed || was_unhealthy {
        let event =
            Event::info(reason::SUCCEEDED, message).with("revision", pending.revision.clone());
        ctx.recorder.publish(ks, event).await;
    }
    report
        .succeeded(ctx, api, &pending.revision, pending.changed)
        .await
}

/// The applied Jobs with `spec.ttlSecondsAfterFinished`: the cluster deletes them once they
/// finish, so a health check that finds one gone counts it as done rather than missing.
pub fn deleted_when_finished(objects: &[serde_json::Value]) -> Vec<ObjectId> {
    objects
        .iter()
        .filter(|object| {
            object["kind"] == "Job"
                && object["apiVersion"] == "batch/v1"
                && object.pointer("/spec/ttlSecondsAfterFinished").is_some()
        })
        .map(ObjectId::of)
        .collect()
}

async fn object_health(cluster: &Cluster, id: &ObjectId, gone_is_done: bool) -> Health {
    let kind = match cluster.resolve(id).await {
        Ok(Some(kind)) => kind,
        Ok(None) => return Health::InProgress("kind not served".into()),
        Err(error) => return Health::InProgress(error.to_string()),
    };
    match cluster.get(&kind, id).await {
        Ok(Some(live)) => health::evaluate(&live),
        Ok(None) if gone_is_done => Health::Current,
        Ok(None) => Health::InProgress("NotFound".into()),
        Err(error) => Health::InProgress(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_batch_jobs_with_a_ttl_may_be_gone() {
        let job = |name: &str, ttl: Option<i64>| {
            let mut object = json!({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": name, "namespace": "apps"},
                "spec": {"template": {}},
            });
            if let Some(ttl) = ttl {
                object["spec"]["ttlSecondsAfterFinished"] = ttl.into();
            }
            object
        };
        let objects = [
            job("with-ttl", Some(0)),
            job("without", None),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "apps"},
                   "spec": {"ttlSecondsAfterFinished": 1}}),
        ];
        let gone: Vec<String> = deleted_when_finished(&objects)
            .iter()
            .map(|id| id.name.clone())
            .collect();
        assert_eq!(gone, ["with-ttl"]);
    }
}
