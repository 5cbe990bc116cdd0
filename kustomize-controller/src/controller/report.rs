//! The status one reconcile builds up, and the two ways a reconcile ends: a success, or a
//! [`Failure`] turned into conditions, an event and the next reconcile by the runtime's one
//! outcome function.

use std::time::{Duration, Instant};

use eddy_api::{
    kustomize::{Kustomization, KustomizationStatus},
    meta::reason,
};
use eddy_runtime::{
    events::Event,
    outcome::{self, Failure, Next, Retry, Timing},
    status::apply_status,
    time,
    watch::requested_at,
};
use kube::{Api, ResourceExt, runtime::controller::Action};

use super::{Context, history, kustomization::Error};
use crate::apply::policy;

/// The status being built during one reconcile.
pub struct Report {
    pub name: String,
    pub generation: Option<i64>,
    pub status: KustomizationStatus,
    requested_at: Option<String>,
    pub started: Instant,
    /// The digest of the applied objects, for the history entry a success records.
    pub digest: Option<String>,
    /// The source's origin revision (an OCI artifact's `org.opencontainers.image.revision`),
    /// recorded as `lastAppliedOriginRevision` and in the history and event on success.
    pub origin_revision: Option<String>,
    object: Kustomization,
}

/// `spec.interval`, `spec.retryInterval` and the controller's delays for `ks`.
pub fn timing(ks: &Kustomization, ctx: &Context) -> Timing {
    let interval = time::interval(&ks.spec.interval);
    Timing {
        interval,
        retry_interval: time::retry_interval(ks.spec.retry_interval.as_deref(), interval),
        requeue_dependency: ctx.settings.requeue_dependency,
        jitter_percent: ctx.settings.interval_jitter_percentage,
    }
}

/// `spec.timeout`, else the interval minus 30 s but at least 30 s (Flux's default).
pub fn timeout(ks: &Kustomization) -> Duration {
    let default = time::interval(&ks.spec.interval)
        .saturating_sub(Duration::from_secs(30))
        .max(Duration::from_secs(30));
    time::timeout(ks.spec.timeout.as_deref(), default)
}

impl Report {
    pub fn new(ks: &Kustomization, started: Instant) -> Self {
        Self {
            name: ks.name_any(),
            generation: ks.metadata.generation,
            status: ks.status.clone().unwrap_or_default(),
            requested_at: requested_at(ks),
            started,
            digest: None,
            origin_revision: None,
            object: ks.clone(),
        }
    }

    pub fn conditions(
        &mut self,
    ) -> &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
        self.status.conditions.get_or_insert_with(Vec::new)
    }

    pub async fn write(&mut self, api: &Api<Kustomization>) -> Result<(), Error> {
        apply_status(api, &self.name, policy::FIELD_MANAGER, &self.status)
            .await
            .map_err(|source| Error::Api {
                name: self.name.clone(),
                source,
            })?;
        Ok(())
    }

    /// Final bookkeeping Flux does on every exit: echo the request, observe the generation once
    /// it is fully processed.
    fn finish(&mut self, observed: bool) {
        let conditions = self.status.conditions.clone().unwrap_or_default();
        outcome::finish_status(
            &conditions,
            (self.requested_at.as_deref(), self.generation),
            observed,
            (
                &mut self.status.last_handled_reconcile_at,
                &mut self.status.observed_generation,
            ),
        );
    }

    fn action(&self, next: Next, ctx: &Context) -> Action {
        next.action_for(
            &timing(&self.object, ctx),
            &ctx.failure_backoff,
            &self.object,
        )
    }

    /// `revision` is applied (and healthy): `Ready=True`, history, and an event when something
    /// changed.
    pub async fn succeeded(
        &mut self,
        ctx: &Context,
        api: &Api<Kustomization>,
        revision: &str,
        changed: bool,
    ) -> Result<Action, Error> {
        let message = format!("Applied revision: {revision}");
        let generation = self.generation;
        outcome::report_success(
            self.conditions(),
            &[],
            reason::RECONCILIATION_SUCCEEDED,
            &message,
            generation,
        );
        let new_revision = self.status.last_applied_revision.as_deref() != Some(revision);
        self.status.last_applied_revision = Some(revision.to_owned());
        self.status.last_applied_origin_revision = self.origin_revision.clone();
        let elapsed = self.started.elapsed();
        let digest = self.digest.clone().unwrap_or_default();
        let entries = self.status.history.get_or_insert_with(Vec::new);
        history::record_history(
            entries,
            &digest,
            history::Revisions {
                revision,
                origin: self.origin_revision.as_deref(),
            },
            reason::RECONCILIATION_SUCCEEDED,
            elapsed,
        );
        self.finish(false);
        self.write(api).await?;
        // A success after a failure is reported once, so whoever saw the failure (an alert)
        // also sees the recovery.
        if changed || new_revision || self.was_failing() {
            let interval = time::interval(&self.object.spec.interval);
            let text = format!(
                "Reconciliation finished in {}, next run in {}",
                history::format_duration(elapsed),
                history::format_duration(interval)
            );
            let mut event = Event::info(reason::RECONCILIATION_SUCCEEDED, text)
                .with("revision", revision)
                .with("commit_status", "update");
            if let Some(origin) = &self.origin_revision {
                event = event.with("originRevision", origin.clone());
            }
            ctx.recorder.publish(&self.object, event).await;
        }
        Ok(self.action(Next::Interval, ctx))
    }

    /// Whether the object's last written Ready condition was False.
    fn was_failing(&self) -> bool {
        self.object
            .status
            .as_ref()
            .and_then(|status| status.conditions.as_deref())
            .and_then(|list| {
                list.iter()
                    .find(|c| c.type_ == eddy_api::meta::condition_type::READY)
            })
            .is_some_and(|ready| ready.status == "False")
    }

    /// A step failed: the runtime's outcome function decides the conditions, the event and
    /// when to come back.
    pub async fn failed(
        &mut self,
        ctx: &Context,
        api: &Api<Kustomization>,
        failure: Failure,
    ) -> Result<Action, Error> {
        tracing::info!(reason = %failure.reason, message = %failure.message, "reconciliation failed");
        let generation = self.generation;
        let reported = outcome::report_failure(self.conditions(), &[], &failure, generation);
        self.finish(reported.observed);
        self.write(api).await?;
        let mut event = reported.event;
        let retried = matches!(failure.retry, Retry::RetryInterval | Retry::Backoff);
        if let (true, Some(revision)) = (retried, &self.status.last_attempted_revision) {
            event = event.with("revision", revision.clone());
        }
        ctx.recorder.publish(&self.object, event).await;
        Ok(self.action(reported.next, ctx))
    }
}
