//! How a HelmRepository or HelmChart reconcile becomes status conditions, events and the next
//! requeue, and the storage step both start with. The conditions are Flux's: failures set one of
//! `FetchFailed`, `BuildFailed`, `StorageOperationFailed`; success sets `ArtifactInStorage` and
//! `Ready=True` with the kind's reason.

use std::path::PathBuf;

use eddy_api::meta::{Artifact, Condition, condition_type};
use eddy_api::source::{HelmChartStatus, HelmRepositoryStatus};
use eddy_runtime::conditions;
use eddy_runtime::events::Event;
use eddy_runtime::outcome::{Failure, Next};

use super::outcome;
use crate::storage::{ObjectKey, Storage, StorageError};

/// Conditions whose True means something is wrong; a reconcile ends with at most one of them.
const FAILURE_CONDITIONS: [&str; 3] = [
    condition_type::FETCH_FAILED,
    condition_type::BUILD_FAILED,
    condition_type::STORAGE_OPERATION_FAILED,
];

/// The status fields both Helm kinds share.
pub trait HelmSourceStatus {
    fn conditions_mut(&mut self) -> &mut Option<Vec<Condition>>;
    fn artifact_mut(&mut self) -> &mut Option<Artifact>;
    fn url_mut(&mut self) -> &mut Option<String>;
    fn observed_generation_mut(&mut self) -> &mut Option<i64>;
}

macro_rules! helm_source_status {
    ($status:ty) => {
        impl HelmSourceStatus for $status {
            fn conditions_mut(&mut self) -> &mut Option<Vec<Condition>> {
                &mut self.conditions
            }
            fn artifact_mut(&mut self) -> &mut Option<Artifact> {
                &mut self.artifact
            }
            fn url_mut(&mut self) -> &mut Option<String> {
                &mut self.url
            }
            fn observed_generation_mut(&mut self) -> &mut Option<i64> {
                &mut self.observed_generation
            }
        }
    };
}
helm_source_status!(HelmRepositoryStatus);
helm_source_status!(HelmChartStatus);

/// A successful reconcile.
#[derive(Debug, Clone)]
pub struct Success {
    /// A newly stored artifact and the URL of its "latest" link; `None` keeps what is there.
    pub stored: Option<(Artifact, String)>,
    /// `Ready=True` reason and message.
    pub reason: String,
    pub message: String,
    /// Recorded only when the artifact's revision or digest changed.
    pub new_artifact_event: Option<Event>,
    /// Recorded every time (trace events for up-to-date checks).
    pub event: Option<Event>,
}

/// Applies the result to `status`; returns the events to record and when to come back.
pub fn apply(
    status: &mut impl HelmSourceStatus,
    generation: Option<i64>,
    result: &Result<Success, Failure>,
) -> (Vec<Event>, Next) {
    match result {
        Ok(success) => {
            let mut events = Vec::new();
            if let Some((artifact, url)) = &success.stored {
                let changed = status.artifact_mut().as_ref().is_none_or(|previous| {
                    previous.revision != artifact.revision || previous.digest != artifact.digest
                });
                if changed && let Some(event) = &success.new_artifact_event {
                    events.push(event.clone());
                }
                *status.artifact_mut() = Some(artifact.clone());
                *status.url_mut() = Some(url.clone());
            }
            events.extend(success.event.clone());
            let has_artifact = status.artifact_mut().is_some();
            outcome::record_success(
                status.conditions_mut().get_or_insert_with(Vec::new),
                &FAILURE_CONDITIONS,
                has_artifact,
                (&success.reason, &success.message),
                generation,
            );
            *status.observed_generation_mut() = generation;
            (events, Next::Interval)
        }
        Err(failure) => {
            let mut observed = *status.observed_generation_mut();
            let report = outcome::record_failure(
                status.conditions_mut().get_or_insert_with(Vec::new),
                &FAILURE_CONDITIONS,
                failure,
                generation,
                &mut observed,
            );
            *status.observed_generation_mut() = observed;
            (report.events, report.next)
        }
    }
}

/// Whether the reconcile starts by reporting `Reconciling`: a new generation, no artifact, or
/// not Ready.
pub fn needs_progress_report(
    generation: Option<i64>,
    status: &mut impl HelmSourceStatus,
    expects_artifact: bool,
) -> bool {
    *status.observed_generation_mut() != generation
        || (expects_artifact && status.artifact_mut().is_none())
        || !conditions::is_true(
            status.conditions_mut().as_deref().unwrap_or_default(),
            condition_type::READY,
        )
}

/// Marks `Reconciling` with Flux's "processing object" message.
pub fn mark_reconciling(generation: Option<i64>, status: &mut impl HelmSourceStatus) {
    let message = match (*status.observed_generation_mut(), generation) {
        (Some(observed), Some(current)) if observed != current => {
            format!("processing object: new generation {observed} -> {current}")
        }
        (None, Some(current)) => format!("processing object: new generation {current}"),
        _ => "reconciling the source".to_owned(),
    };
    conditions::mark_reconciling(
        status.conditions_mut().get_or_insert_with(Vec::new),
        &message,
        generation,
    );
}

/// Collect garbage, forget an artifact whose file vanished, point URLs at the current
/// advertised address. Blocks; returns the removed files.
pub fn reconcile_storage(
    storage: &Storage,
    key: &ObjectKey,
    status: &mut impl HelmSourceStatus,
    latest_link: &str,
) -> Result<Vec<PathBuf>, StorageError> {
    let current_file = status
        .artifact_mut()
        .as_ref()
        .and_then(|artifact| artifact.path.rsplit('/').next().map(str::to_owned));
    let removed = storage.garbage_collect(key, current_file.as_deref())?;
    let exists = status
        .artifact_mut()
        .as_ref()
        .is_some_and(|artifact| storage.artifact_exists(&artifact.path));
    if exists {
        if let Some(artifact) = status.artifact_mut().as_mut() {
            artifact.url = storage.artifact_url(&artifact.path);
        }
        let link = Storage::artifact_path(key, latest_link);
        *status.url_mut() = Some(storage.artifact_url(&link));
    } else if status.artifact_mut().take().is_some() {
        *status.url_mut() = None;
        if let Some(list) = status.conditions_mut().as_mut() {
            conditions::remove(list, condition_type::ARTIFACT_IN_STORAGE);
        }
    }
    Ok(removed)
}

/// Stores nothing new: the artifact in place stays.
pub fn up_to_date(reason: &str, message: String, trace: Option<Event>) -> Success {
    Success {
        stored: None,
        reason: reason.to_owned(),
        message,
        new_artifact_event: None,
        event: trace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(revision: &str) -> Artifact {
        Artifact {
            path: "helmchart/ns/c/c-1.0.0.tgz".into(),
            url: "http://h/helmchart/ns/c/c-1.0.0.tgz".into(),
            revision: revision.into(),
            digest: format!("sha256:{revision}"),
            last_update_time: eddy_runtime::time::now(),
            size: Some(1),
            metadata: None,
        }
    }

    fn stored(revision: &str) -> Success {
        Success {
            stored: Some((artifact(revision), "http://h/latest.tar.gz".into())),
            reason: "ChartPullSucceeded".into(),
            message: format!("pulled 'c' chart with version '{revision}'"),
            new_artifact_event: Some(Event::info("ChartPullSucceeded", "pulled")),
            event: None,
        }
    }

    fn condition<'a>(status: &'a HelmChartStatus, type_: &str) -> Option<&'a Condition> {
        conditions::get(status.conditions.as_deref().unwrap_or_default(), type_)
    }

    #[test]
    fn a_new_artifact_is_announced_once_and_a_failure_keeps_it() {
        let mut status = HelmChartStatus::default();
        let (events, next) = apply(&mut status, Some(1), &Ok(stored("1.0.0")));
        assert_eq!((events.len(), next), (1, Next::Interval));
        let ready = condition(&status, "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "ChartPullSucceeded")
        );
        assert_eq!(status.url.as_deref(), Some("http://h/latest.tar.gz"));
        let (events, _) = apply(&mut status, Some(1), &Ok(stored("1.0.0")));
        assert!(events.is_empty());

        let failure = Failure::backoff("ChartPullError", "GET x: 404 Not Found")
            .with_condition(condition_type::BUILD_FAILED);
        let (events, next) = apply(&mut status, Some(1), &Err(failure));
        assert_eq!(next, Next::Backoff);
        assert_eq!(events[0].reason, "ChartPullError");
        assert_eq!(status.artifact.as_ref().unwrap().revision, "1.0.0");
        assert_eq!(condition(&status, "Ready").unwrap().status, "False");
        assert_eq!(condition(&status, "BuildFailed").unwrap().status, "True");

        apply(&mut status, Some(1), &Ok(stored("1.1.0")));
        assert!(condition(&status, "BuildFailed").is_none());
    }

    #[test]
    fn progress_is_reported_only_when_something_visibly_changes() {
        let mut status = HelmRepositoryStatus::default();
        assert!(needs_progress_report(Some(1), &mut status, true));
        apply(
            &mut status,
            Some(1),
            &Ok(up_to_date("Succeeded", "ready".into(), None)),
        );
        assert!(!needs_progress_report(Some(1), &mut status, false));
        assert!(needs_progress_report(Some(1), &mut status, true));
        assert!(needs_progress_report(Some(2), &mut status, false));
        mark_reconciling(Some(2), &mut status);
        let reconciling = conditions::get(
            status.conditions.as_deref().unwrap_or_default(),
            "Reconciling",
        )
        .unwrap();
        assert_eq!(
            reconciling.message,
            "processing object: new generation 1 -> 2"
        );
    }
}
