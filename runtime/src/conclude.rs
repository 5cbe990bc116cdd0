//! The last step of a reconcile for kinds whose controller writes the whole status itself
//! (Receiver, ImageRepository, ImagePolicy): the status when it changed, then the event, then
//! the controller action — in that order, so an event never announces a state the API does
//! not hold yet.

use std::{fmt::Debug, time::Duration};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    events::{Event, EventRecorder},
    outcome::{Failure, Next, Timing, report_failure},
    requeue::Backoff,
    status::apply_status,
};

/// How a reconcile ended, before anything is written.
#[derive(Debug, Clone)]
pub struct Ending {
    pub event: Option<Event>,
    pub next: Next,
}

impl Ending {
    /// A success, announced by `event` when there is something new to say.
    pub fn succeeded(event: Option<Event>) -> Self {
        Self {
            event,
            next: Next::Interval,
        }
    }

    /// `failure` recorded in `conditions`; `observed_generation` moves to `generation` when
    /// the failure is final for it (stalled).
    pub fn failed(
        conditions: &mut Vec<Condition>,
        failure: &Failure,
        generation: Option<i64>,
        observed_generation: &mut Option<i64>,
    ) -> Self {
        let reported = report_failure(conditions, &[], failure, generation);
        if reported.observed {
            *observed_generation = generation;
        }
        Self {
            event: Some(reported.event),
            next: reported.next,
        }
    }
}

/// Where a reconcile's ending goes.
pub struct Outlet<'a> {
    pub field_manager: &'a str,
    pub recorder: &'a EventRecorder,
    pub backoff: &'a Backoff,
}

/// Writes `status` when it differs from `previous`, publishes the ending's event, and turns
/// its next step into an action with `timing`.
pub async fn conclude<K, S>(
    object: &K,
    api: &Api<K>,
    outlet: &Outlet<'_>,
    (previous, status): (Option<&S>, &S),
    ending: Ending,
    timing: &Timing,
) -> Result<Action, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize + PartialEq,
{
    if previous != Some(status) {
        apply_status(api, &object.name_any(), outlet.field_manager, status).await?;
    }
    if let Some(event) = ending.event {
        outlet.recorder.publish(object, event).await;
    }
    let key = format!(
        "{}/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    );
    Ok(ending.next.action(timing, outlet.backoff, &key))
}

impl Timing {
    /// One period for everything: kinds with a single `spec.interval` and no jitter.
    pub fn fixed(interval: Duration) -> Self {
        Self {
            interval,
            retry_interval: interval,
            requeue_dependency: interval,
            jitter_percent: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_stalled_failure_counts_the_generation_as_observed() {
        let mut observed = Some(1);
        let mut conditions = Vec::new();
        let retried = Failure::retry_interval("BuildFailed", "no such file");
        let ending = Ending::failed(&mut conditions, &retried, Some(2), &mut observed);
        assert_eq!(observed, Some(1));
        assert_eq!(ending.next, Next::RetryInterval);

        let stalled = Failure::stalled("NotSupported", "spec.x is not supported yet");
        let ending = Ending::failed(&mut conditions, &stalled, Some(2), &mut observed);
        assert_eq!(observed, Some(2));
        assert_eq!(ending.next, Next::AwaitChange);
        assert!(ending.event.is_some());
    }

    #[test]
    fn a_fixed_timing_uses_one_period_without_jitter() {
        let timing = Timing::fixed(Duration::from_secs(90));
        assert_eq!(timing.retry_interval, Duration::from_secs(90));
        assert_eq!(timing.requeue_dependency, Duration::from_secs(90));
        assert_eq!(timing.jitter_percent, 0);
    }
}
