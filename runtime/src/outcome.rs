//! The one vocabulary every reconciler ends in: a step fails with a typed [`Failure`] (reason,
//! message, how it is retried), and [`report_failure`] turns it into conditions, an event and
//! the [`Next`] reconcile — pure, so each controller's reporting is unit-tested without a
//! cluster, and every controller answers the same failure the same way.
//!
//! The four ways a failure is retried are Flux's:
//! - [`Retry::Backoff`]: a transient fault (network, storage); exponential backoff per object.
//! - [`Retry::RetryInterval`]: the object's input is wrong or the cluster refused it; retried
//!   after the object's `spec.retryInterval` (its `spec.interval` when unset).
//! - [`Retry::Dependency`]: waiting for something outside the object (a source's artifact, a
//!   dependency becoming Ready); `Ready=False` with an informational event, retried after the
//!   controller's `--requeue-dependency`.
//! - [`Retry::Never`]: retrying cannot help until the object changes; `Stalled=True`.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::controller::Action;

use crate::{
    conditions::{self, Status},
    events::Event,
    requeue::{Backoff, jittered},
};

/// How a failed reconcile is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Backoff,
    RetryInterval,
    Dependency,
    Never,
}

/// A reconcile step that failed, as it is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A negative-polarity condition set True alongside `Ready=False` (`FetchFailed`,
    /// `StorageOperationFailed`, …), when the kind has one for this step.
    pub condition: Option<&'static str>,
    pub reason: String,
    pub message: String,
    pub retry: Retry,
}

impl Failure {
    pub fn new(reason: impl Into<String>, message: impl Into<String>, retry: Retry) -> Self {
        Failure {
            condition: None,
            reason: reason.into(),
            message: message.into(),
            retry,
        }
    }

    pub fn backoff(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(reason, message, Retry::Backoff)
    }

    pub fn retry_interval(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(reason, message, Retry::RetryInterval)
    }

    pub fn dependency(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(reason, message, Retry::Dependency)
    }

    pub fn stalled(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(reason, message, Retry::Never)
    }

    /// The same failure, also setting the negative-polarity `condition` True.
    pub fn with_condition(mut self, condition: &'static str) -> Self {
        self.condition = Some(condition);
        self
    }
}

/// When to reconcile next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// At `spec.interval`, jittered; a success also resets the failure backoff.
    Interval,
    /// After the object's next exponential backoff delay.
    Backoff,
    /// After `spec.retryInterval`.
    RetryInterval,
    /// After `--requeue-dependency`.
    Dependency,
    /// Only when the object changes.
    AwaitChange,
}

/// The durations [`Next`] refers to, for one object.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub interval: Duration,
    pub retry_interval: Duration,
    pub requeue_dependency: Duration,
    pub jitter_percent: u8,
}

impl Next {
    /// The controller action; `key` names the object in the per-object `backoff`.
    pub fn action(self, timing: &Timing, backoff: &Backoff, key: &str) -> Action {
        match self {
            Next::Interval => {
                backoff.reset(key);
                Action::requeue(jittered(timing.interval, timing.jitter_percent))
            }
            Next::Backoff => Action::requeue(backoff.next_delay(key)),
            Next::RetryInterval => Action::requeue(timing.retry_interval),
            Next::Dependency => Action::requeue(timing.requeue_dependency),
            Next::AwaitChange => Action::await_change(),
        }
    }

    /// [`Next::action`] for `object`, keyed `<namespace>/<name>` in the backoff.
    pub fn action_for<K: kube::Resource>(
        self,
        timing: &Timing,
        backoff: &Backoff,
        object: &K,
    ) -> Action {
        let meta = object.meta();
        let key = format!(
            "{}/{}",
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default()
        );
        self.action(timing, backoff, &key)
    }
}

/// The bookkeeping Flux does on every exit of a reconcile that writes its status step by step:
/// the reconcile request is echoed into `last_handled_reconcile_at`, and the generation counts
/// as observed once the object is Ready or the failure is final for it (`observed`).
pub fn finish_status(
    conditions: &[Condition],
    (requested_at, generation): (Option<&str>, Option<i64>),
    observed: bool,
    (last_handled_reconcile_at, observed_generation): (&mut Option<String>, &mut Option<i64>),
) {
    if let Some(requested) = requested_at {
        *last_handled_reconcile_at = Some(requested.to_owned());
    }
    if observed || crate::conditions::is_true(conditions, crate::conditions::READY) {
        *observed_generation = generation;
    }
}

/// What a failure asks the reconciler to record and do.
#[derive(Debug, Clone)]
pub struct Reported {
    pub event: Event,
    pub next: Next,
    /// The generation counts as processed (kstatus): true when stalled, since nothing more
    /// will happen for it.
    pub observed: bool,
}

/// Sets the conditions for `failure` (clearing the other negative-polarity conditions in
/// `negative_conditions`) and says which event to record and when to come back.
pub fn report_failure(
    conditions: &mut Vec<Condition>,
    negative_conditions: &[&str],
    failure: &Failure,
    generation: Option<i64>,
) -> Reported {
    for other in negative_conditions {
        if Some(*other) != failure.condition {
            conditions::remove(conditions, other);
        }
    }
    if let Some(condition) = failure.condition {
        conditions::set(
            conditions,
            condition,
            Status::True,
            &failure.reason,
            &failure.message,
            generation,
        );
    }
    let (reason, message) = (failure.reason.as_str(), failure.message.as_str());
    match failure.retry {
        Retry::Never => {
            conditions::mark_stalled(conditions, reason, message, generation);
            Reported {
                event: Event::error(reason, message),
                next: Next::AwaitChange,
                observed: true,
            }
        }
        Retry::Dependency => {
            conditions::mark_failed(conditions, reason, message, generation);
            Reported {
                event: Event::info(reason, message),
                next: Next::Dependency,
                observed: false,
            }
        }
        Retry::Backoff | Retry::RetryInterval => {
            conditions::mark_failed(conditions, reason, message, generation);
            Reported {
                event: Event::error(reason, message),
                next: if failure.retry == Retry::Backoff {
                    Next::Backoff
                } else {
                    Next::RetryInterval
                },
                observed: false,
            }
        }
    }
}

/// Success: the negative-polarity conditions are gone and `Ready=True` says `message`.
pub fn report_success(
    conditions: &mut Vec<Condition>,
    negative_conditions: &[&str],
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    for condition in negative_conditions {
        conditions::remove(conditions, condition);
    }
    conditions::mark_ready(conditions, reason, message, generation);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Severity;

    const NEGATIVE: &[&str] = &["FetchFailed", "StorageOperationFailed"];

    #[test]
    fn finishing_echoes_the_request_and_observes_ready_or_final_generations() {
        let (mut handled, mut observed) = (None, Some(1));
        finish_status(
            &[],
            (Some("now"), Some(2)),
            false,
            (&mut handled, &mut observed),
        );
        assert_eq!(handled.as_deref(), Some("now"));
        assert_eq!(observed, Some(1), "not Ready and not final: not observed");
        finish_status(&[], (None, Some(2)), true, (&mut handled, &mut observed));
        assert_eq!((handled.as_deref(), observed), (Some("now"), Some(2)));
        let mut ready = Vec::new();
        crate::conditions::mark_ready(&mut ready, "Succeeded", "done", Some(3));
        finish_status(
            &ready,
            (None, Some(3)),
            false,
            (&mut handled, &mut observed),
        );
        assert_eq!(observed, Some(3));
    }

    fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
        conditions::get(conditions, type_)
    }

    #[test]
    fn each_retry_sets_its_conditions_event_and_next_reconcile() {
        let cases = [
            (Retry::Backoff, Next::Backoff, Severity::Error, false),
            (
                Retry::RetryInterval,
                Next::RetryInterval,
                Severity::Error,
                false,
            ),
            (Retry::Dependency, Next::Dependency, Severity::Info, false),
            (Retry::Never, Next::AwaitChange, Severity::Error, true),
        ];
        for (retry, next, severity, stalled) in cases {
            let mut conditions = Vec::new();
            let failure = Failure::new("BuildFailed", "kustomization.yaml: bad", retry);
            let reported = report_failure(&mut conditions, NEGATIVE, &failure, Some(3));
            assert_eq!(reported.next, next, "{retry:?}");
            assert_eq!(reported.event.severity, severity, "{retry:?}");
            assert_eq!(reported.event.reason, "BuildFailed");
            assert_eq!(reported.observed, stalled);
            let ready = condition(&conditions, "Ready").unwrap();
            assert_eq!(
                (ready.status.as_str(), ready.reason.as_str()),
                ("False", "BuildFailed")
            );
            assert_eq!(ready.observed_generation, Some(3));
            assert_eq!(condition(&conditions, "Stalled").is_some(), stalled);
            assert_eq!(condition(&conditions, "Reconciling").is_some(), !stalled);
        }
    }

    #[test]
    fn only_the_failures_own_negative_condition_stays_and_success_removes_it() {
        let mut conditions = Vec::new();
        let fetch =
            Failure::backoff("AuthenticationFailed", "denied").with_condition("FetchFailed");
        report_failure(&mut conditions, NEGATIVE, &fetch, Some(1));
        assert_eq!(
            condition(&conditions, "FetchFailed").unwrap().status,
            "True"
        );
        let storage = Failure::backoff("ArchiveOperationFailed", "disk full")
            .with_condition("StorageOperationFailed");
        report_failure(&mut conditions, NEGATIVE, &storage, Some(1));
        assert!(condition(&conditions, "FetchFailed").is_none());
        assert_eq!(
            condition(&conditions, "StorageOperationFailed")
                .unwrap()
                .reason,
            "ArchiveOperationFailed"
        );
        report_success(&mut conditions, NEGATIVE, "Succeeded", "stored", Some(1));
        assert!(condition(&conditions, "StorageOperationFailed").is_none());
        assert!(condition(&conditions, "Reconciling").is_none());
        assert_eq!(condition(&conditions, "Ready").unwrap().status, "True");
    }

    #[test]
    fn next_maps_to_the_durations_of_the_object() {
        let timing = Timing {
            interval: Duration::from_secs(600),
            retry_interval: Duration::from_secs(120),
            requeue_dependency: Duration::from_secs(30),
            jitter_percent: 0,
        };
        let backoff = Backoff::new(Duration::from_millis(750), Duration::from_secs(60));
        let action = |next: Next| next.action(&timing, &backoff, "ns/app");
        assert_eq!(
            action(Next::Interval),
            Action::requeue(Duration::from_secs(600))
        );
        assert_eq!(
            action(Next::RetryInterval),
            Action::requeue(Duration::from_secs(120))
        );
        assert_eq!(
            action(Next::Dependency),
            Action::requeue(Duration::from_secs(30))
        );
        assert_eq!(
            action(Next::Backoff),
            Action::requeue(Duration::from_millis(750))
        );
        assert_eq!(
            action(Next::Backoff),
            Action::requeue(Duration::from_millis(1500))
        );
        action(Next::Interval);
        assert_eq!(
            action(Next::Backoff),
            Action::requeue(Duration::from_millis(750)),
            "a success resets the backoff"
        );
        assert_eq!(action(Next::AwaitChange), Action::await_change());
    }
}
