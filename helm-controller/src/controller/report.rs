//! The status one reconcile builds up, and the two ways it ends: a release that is in sync
//! (`Ready=True`), or a [`Failure`] turned into conditions, an event and the next reconcile by
//! the runtime's one outcome function. `Released` is set beside `Ready` as Flux sets it.

use std::time::Duration;

use eddy_api::helm::{HelmRelease, HelmReleaseStatus};
use eddy_runtime::{
    conditions::{self, Status},
    events::Event,
    outcome::{self, Failure, Next, Retry, Timing},
    status::apply_status,
    time,
    watch::requested_at,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, ResourceExt, runtime::controller::Action};

use super::{Context, FIELD_MANAGER, helmrelease::Error};

/// The `Released` condition type.
pub const RELEASED: &str = "Released";

/// The status being built during one reconcile.
pub struct Report {
    pub name: String,
    pub generation: Option<i64>,
    pub status: HelmReleaseStatus,
    requested_at: Option<String>,
    object: HelmRelease,
}

/// `spec.interval`, the retry interval (Flux retries a failed release at the interval) and the
/// controller's delays.
pub fn timing(hr: &HelmRelease, ctx: &Context) -> Timing {
    let interval = time::interval(&hr.spec.interval);
    Timing {
        interval,
        retry_interval: interval,
        requeue_dependency: ctx.settings.requeue_dependency,
        jitter_percent: ctx.settings.interval_jitter_percentage,
    }
}

/// The time limit of a Helm action whose own `timeout` is `action_timeout`.
pub fn action_timeout(hr: &HelmRelease, action_timeout: Option<&str>) -> Duration {
    let text = hr.spec.timeout_for(action_timeout);
    time::timeout(Some(text), Duration::from_secs(300))
}

impl Report {
    pub fn new(hr: &HelmRelease) -> Self {
        Self {
            name: hr.name_any(),
            generation: hr.metadata.generation,
            status: hr.status.clone().unwrap_or_default(),
            requested_at: requested_at(hr),
            object: hr.clone(),
        }
    }

    pub fn conditions(&mut self) -> &mut Vec<Condition> {
        self.status.conditions.get_or_insert_with(Vec::new)
    }

    pub async fn write(&mut self, api: &Api<HelmRelease>) -> Result<(), Error> {
        apply_status(api, &self.name, FIELD_MANAGER, &self.status)
            .await
            .map_err(|source| Error::Api {
                name: self.name.clone(),
                source,
            })?;
        Ok(())
    }

    /// `Reconciling=True` with `message`, written at once (before a long action).
    pub async fn progress(&mut self, api: &Api<HelmRelease>, message: &str) -> Result<(), Error> {
        let generation = self.generation;
        conditions::mark_reconciling(self.conditions(), message, generation);
        self.write(api).await
    }

    /// Sets `Released` (the outcome of the last Helm action).
    pub fn released(&mut self, ok: bool, reason: &str, message: &str) {
        let generation = self.generation;
        let status = if ok { Status::True } else { Status::False };
        conditions::set(
            self.conditions(),
            RELEASED,
            status,
            reason,
            message,
            generation,
        );
    }

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

    /// The release is in sync: `Ready=True` with the reason and message of the last action,
    /// and an event when an action ran.
    pub async fn succeeded(
        &mut self,
        ctx: &Context,
        api: &Api<HelmRelease>,
        reason: &str,
        message: &str,
        event: Option<(String, String)>,
    ) -> Result<Action, Error> {
        let generation = self.generation;
        outcome::report_success(self.conditions(), &[], reason, message, generation);
        self.status.failures = None;
        self.finish(false);
        self.write(api).await?;
        if let Some((revision, text)) = event {
            let event = Event::info(reason, text).with("revision", revision);
            ctx.recorder.publish(&self.object, event).await;
        }
        Ok(self.action(Next::Interval, ctx))
    }

    /// A step failed: conditions, event and the next reconcile from the runtime's outcome.
    pub async fn failed(
        &mut self,
        ctx: &Context,
        api: &Api<HelmRelease>,
        failure: Failure,
    ) -> Result<Action, Error> {
        tracing::info!(reason = %failure.reason, message = %failure.message, "reconciliation failed");
        let generation = self.generation;
        let reported = outcome::report_failure(self.conditions(), &[], &failure, generation);
        if failure.retry != Retry::Dependency {
            self.status.failures = Some(self.status.failures.unwrap_or(0) + 1);
        }
        self.finish(reported.observed);
        self.write(api).await?;
        let mut event = reported.event;
        if let Some(revision) = &self.status.last_attempted_revision {
            event = event.with("revision", revision.clone());
        }
        ctx.recorder.publish(&self.object, event).await;
        Ok(self.action(reported.next, ctx))
    }
}
