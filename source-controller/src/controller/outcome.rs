//! How the result of one GitRepository reconcile becomes status conditions, events and the next
//! requeue. Pure: the reconciler hands in what happened and writes out what comes back.

use eddy_api::meta::Artifact;
use eddy_api::meta::{condition_type, reason as meta_reason};
use eddy_api::source::GitRepositoryStatus;
use eddy_runtime::conditions::{self, Status};
use eddy_runtime::events::Event;

use super::config::ContentConfig;

/// Reason of `Ready=True` and `ArtifactInStorage=True`.
pub const SUCCEEDED: &str = meta_reason::SUCCEEDED;
/// Event reason of a newly stored artifact.
pub const NEW_ARTIFACT: &str = "NewArtifact";
/// Warning event reason when a new artifact lacks the repository's symlinks.
pub const SYMLINKS_SKIPPED: &str = "SymlinksSkipped";
/// Trace event reason when the remote has not moved.
pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
/// `ArtifactOutdated` reason while a new upstream revision is being built.
pub const NEW_REVISION: &str = "NewRevision";
/// Trace event reason after old artifacts were removed.
pub const GARBAGE_COLLECTION_SUCCEEDED: &str = "GarbageCollectionSucceeded";
/// Reasons of `IncludeUnavailable`: the included GitRepository is missing, or has no artifact.
pub const INCLUDE_NOT_FOUND: &str = "NotFound";
pub const INCLUDE_NO_ARTIFACT: &str = "NoArtifact";

pub use eddy_runtime::outcome::{Failure, Next};

/// Fetching from upstream failed: `FetchFailed`, retried with backoff.
pub fn fetch_failed(reason: &str, message: impl Into<String>) -> Failure {
    Failure::backoff(reason, message).with_condition(condition_type::FETCH_FAILED)
}

/// Storage failed: `StorageOperationFailed`, retried with backoff.
pub fn storage_failed(reason: &str, message: impl Into<String>) -> Failure {
    Failure::backoff(reason, message).with_condition(condition_type::STORAGE_OPERATION_FAILED)
}

/// An included source is not ready: `IncludeUnavailable`, retried after `--requeue-dependency`.
pub fn include_unavailable(reason: &str, message: impl Into<String>) -> Failure {
    Failure::dependency(reason, message).with_condition(condition_type::INCLUDE_UNAVAILABLE)
}

/// A successful reconcile.
#[derive(Debug, Clone, PartialEq)]
pub enum Success {
    /// A new artifact was built and stored.
    Stored {
        artifact: Box<Artifact>,
        included: Vec<Artifact>,
        config: ContentConfig,
        /// The `NewArtifact` event message ("stored artifact for commit '…'").
        event_message: String,
        /// The `SymlinksSkipped` warning naming the links left out of the artifact, if any.
        skipped_symlinks: Option<String>,
    },
    /// The remote still points at the stored artifact's revision.
    UpToDate { revision: String },
}

/// What the reconciler must do after updating the status.
#[derive(Debug, Clone)]
pub struct Report {
    pub events: Vec<Event>,
    pub next: Next,
}

/// Conditions whose True means something is wrong; each reconcile ends with at most one of them.
const FAILURE_CONDITIONS: [&str; 3] = [
    condition_type::FETCH_FAILED,
    condition_type::STORAGE_OPERATION_FAILED,
    condition_type::INCLUDE_UNAVAILABLE,
];

/// The `Reconciling` message at the start of a reconcile.
pub fn reconciling_message(generation: Option<i64>, status: &GitRepositoryStatus) -> String {
    match (status.observed_generation, generation) {
        (Some(observed), Some(current)) if observed != current => {
            format!("processing object: new generation {observed} -> {current}")
        }
        (None, Some(current)) => format!("processing object: new generation {current}"),
        _ => "reconciling the source".to_owned(),
    }
}

/// Message of `Ready=True` / `ArtifactInStorage=True`.
pub fn stored_message(revision: &str) -> String {
    format!("stored artifact for revision '{revision}'")
}

/// Applies the result of a reconcile to `status` and says what to record and when to come back.
pub fn apply(
    status: &mut GitRepositoryStatus,
    generation: Option<i64>,
    result: &Result<Success, Failure>,
) -> Report {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    // A success after a failure repeats the artifact event once (Flux notifies on recovery), so
    // an alert that reported the failure also reports the way back.
    let recovering = conditions
        .iter()
        .any(|c| c.type_ == condition_type::READY && c.status == "False");
    match result {
        Ok(success) => {
            let mut events = Vec::new();
            match success {
                Success::Stored {
                    artifact,
                    included,
                    config,
                    event_message,
                    skipped_symlinks,
                } => {
                    let previous = status.artifact.as_ref();
                    let changed = previous.is_none_or(|p| {
                        p.revision != artifact.revision || p.digest != artifact.digest
                    });
                    if changed || recovering {
                        events.push(
                            Event::info(NEW_ARTIFACT, event_message.clone())
                                .with("revision", artifact.revision.clone())
                                .with("digest", artifact.digest.clone()),
                        );
                        if let Some(message) = skipped_symlinks {
                            events.push(
                                Event::error(SYMLINKS_SKIPPED, message.clone())
                                    .with("revision", artifact.revision.clone()),
                            );
                        }
                    }
                    status.artifact = Some(artifact.as_ref().clone());
                    status.included_artifacts = (!included.is_empty()).then(|| included.clone());
                    config.record(status);
                }
                Success::UpToDate { revision } => {
                    events.push(Event::trace(
                        ARTIFACT_UP_TO_DATE,
                        format!("artifact up-to-date with remote revision: '{revision}'"),
                    ));
                    if let (true, Some(artifact)) = (recovering, status.artifact.as_ref()) {
                        events.push(
                            Event::info(NEW_ARTIFACT, stored_message(&artifact.revision))
                                .with("revision", artifact.revision.clone())
                                .with("digest", artifact.digest.clone()),
                        );
                    }
                }
            }
            let revision = status
                .artifact
                .as_ref()
                .map(|artifact| artifact.revision.clone())
                .unwrap_or_default();
            let message = stored_message(&revision);
            record_success(
                status.conditions.get_or_insert_with(Vec::new),
                &FAILURE_CONDITIONS,
                true,
                (SUCCEEDED, &message),
                generation,
            );
            status.observed_generation = generation;
            Report {
                events,
                next: Next::Interval,
            }
        }
        Err(failure) => record_failure(
            status.conditions.get_or_insert_with(Vec::new),
            &FAILURE_CONDITIONS,
            failure,
            generation,
            &mut status.observed_generation,
        ),
    }
}

/// The conditions every source kind sets after a successful reconcile: `ArtifactOutdated` gone,
/// `ArtifactInStorage=True` when an artifact is stored, `Ready=True` with `reason` and
/// `message`, the kind's `failure_conditions` cleared.
pub fn record_success(
    conditions: &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    failure_conditions: &[&str],
    stored: bool,
    (reason, message): (&str, &str),
    generation: Option<i64>,
) {
    conditions::remove(conditions, condition_type::ARTIFACT_OUTDATED);
    if stored {
        conditions::set(
            conditions,
            condition_type::ARTIFACT_IN_STORAGE,
            Status::True,
            SUCCEEDED,
            message,
            generation,
        );
    }
    eddy_runtime::outcome::report_success(
        conditions,
        failure_conditions,
        reason,
        message,
        generation,
    );
}

/// A failed reconcile of any source kind: the runtime's conditions and event; the generation
/// counts as observed when the failure is final for it.
pub fn record_failure(
    conditions: &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    failure_conditions: &[&str],
    failure: &Failure,
    generation: Option<i64>,
    observed_generation: &mut Option<i64>,
) -> Report {
    let reported =
        eddy_runtime::outcome::report_failure(conditions, failure_conditions, failure, generation);
    if reported.observed {
        *observed_generation = generation;
    }
    Report {
        events: vec![reported.event],
        next: reported.next,
    }
}

#[cfg(test)]
mod tests {
    use eddy_runtime::events::Severity;

    use super::*;

    fn artifact(revision: &str) -> Artifact {
        Artifact {
            path: "gitrepository/ns/app/abc.tar.gz".into(),
            url: "http://h/gitrepository/ns/app/abc.tar.gz".into(),
            revision: revision.into(),
            digest: format!("sha256:{}", revision.len()),
            last_update_time: eddy_runtime::time::now(),
            size: Some(10),
            metadata: None,
        }
    }

    fn stored(revision: &str) -> Success {
        Success::Stored {
            artifact: Box::new(artifact(revision)),
            included: Vec::new(),
            config: ContentConfig::default(),
            event_message: "stored artifact for commit 'one'".into(),
            skipped_symlinks: None,
        }
    }

    fn condition<'a>(
        status: &'a GitRepositoryStatus,
        type_: &str,
    ) -> Option<&'a conditions_type::Condition> {
        conditions::get(status.conditions.as_deref().unwrap_or_default(), type_)
    }

    mod conditions_type {
        pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
    }

    #[test]
    fn skipped_symlinks_are_warned_about_with_a_new_artifact_only() {
        let with_links = |revision: &str| match stored(revision) {
            Success::Stored {
                artifact,
                included,
                config,
                event_message,
                ..
            } => Success::Stored {
                artifact,
                included,
                config,
                event_message,
                skipped_symlinks: Some("symlink 'leak' was left out".into()),
            },
            other => other,
        };
        let mut status = GitRepositoryStatus::default();
        let report = apply(&mut status, Some(1), &Ok(with_links("main@sha1:1")));
        let reasons: Vec<&str> = report.events.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, [NEW_ARTIFACT, SYMLINKS_SKIPPED]);
        assert_eq!(
            report.events[1].severity,
            eddy_runtime::events::Severity::Error
        );
        assert!(report.events[1].message.contains("'leak'"));
        assert_eq!(
            condition(&status, "Ready").unwrap().status,
            "True",
            "skipped links do not fail the artifact"
        );
        let again = apply(&mut status, Some(1), &Ok(with_links("main@sha1:1")));
        assert!(again.events.is_empty(), "{:?}", again.events);
    }

    #[test]
    fn a_recovery_at_the_same_revision_announces_the_artifact_once() {
        let mut status = GitRepositoryStatus::default();
        apply(&mut status, Some(1), &Ok(stored("main@sha1:1")));
        let failure = Err(fetch_failed("GitOperationFailed", "connection refused"));
        apply(&mut status, Some(1), &failure);
        let up_to_date = || {
            Ok(Success::UpToDate {
                revision: "main@sha1:1".into(),
            })
        };
        let recovered = apply(&mut status, Some(1), &up_to_date());
        let announced: Vec<&Event> = recovered
            .events
            .iter()
            .filter(|event| event.reason == NEW_ARTIFACT)
            .collect();
        assert_eq!(announced.len(), 1, "{:?}", recovered.events);
        assert_eq!(
            announced[0].message,
            "stored artifact for revision 'main@sha1:1'"
        );
        let quiet = apply(&mut status, Some(1), &up_to_date());
        assert!(
            quiet
                .events
                .iter()
                .all(|event| event.reason != NEW_ARTIFACT),
            "{:?}",
            quiet.events
        );
    }

    #[test]
    fn success_stores_the_artifact_and_announces_it_once() {
        let mut status = GitRepositoryStatus::default();
        let report = apply(&mut status, Some(2), &Ok(stored("main@sha1:1")));
        assert_eq!(report.next, Next::Interval);
        assert_eq!(report.events.len(), 1);
        assert_eq!(report.events[0].reason, NEW_ARTIFACT);
        assert_eq!(
            report.events[0]
                .metadata
                .get("revision")
                .map(String::as_str),
            Some("main@sha1:1")
        );
        let ready = condition(&status, "Ready").unwrap();
        assert_eq!(ready.status, "True");
        assert_eq!(ready.message, "stored artifact for revision 'main@sha1:1'");
        assert_eq!(ready.observed_generation, Some(2));
        assert_eq!(
            condition(&status, "ArtifactInStorage").unwrap().status,
            "True"
        );
        assert_eq!(status.observed_generation, Some(2));
        assert_eq!(status.observed_recurse_submodules, Some(false));

        // The same artifact again: no second NewArtifact event.
        let report = apply(&mut status, Some(2), &Ok(stored("main@sha1:1")));
        assert!(report.events.is_empty());
    }

    #[test]
    fn failure_keeps_the_previous_artifact_and_sets_only_true_negative_conditions() {
        let mut status = GitRepositoryStatus::default();
        apply(&mut status, Some(1), &Ok(stored("main@sha1:1")));
        let failure = fetch_failed("AuthenticationFailed", "authentication failed for 'x'");
        let report = apply(&mut status, Some(1), &Err(failure));
        assert_eq!(report.next, Next::Backoff);
        assert_eq!(report.events[0].severity, Severity::Error);
        assert_eq!(report.events[0].reason, "AuthenticationFailed");
        assert_eq!(status.artifact.as_ref().unwrap().revision, "main@sha1:1");
        let ready = condition(&status, "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "AuthenticationFailed")
        );
        assert_eq!(condition(&status, "FetchFailed").unwrap().status, "True");
        assert_eq!(
            condition(&status, "Reconciling").unwrap().reason,
            "ProgressingWithRetry"
        );
        assert!(condition(&status, "Stalled").is_none());
        assert!(condition(&status, "StorageOperationFailed").is_none());

        // Recovery removes the negative condition instead of setting it False.
        apply(&mut status, Some(1), &Ok(stored("main@sha1:2")));
        assert!(condition(&status, "FetchFailed").is_none());
        assert!(condition(&status, "Reconciling").is_none());
    }

    #[test]
    fn spec_errors_stall_and_includes_wait_for_their_dependency() {
        let mut status = GitRepositoryStatus::default();
        let report = apply(
            &mut status,
            Some(3),
            &Err(Failure::stalled("URLInvalid", "invalid URL 'ftp://x'")
                .with_condition(condition_type::FETCH_FAILED)),
        );
        assert_eq!(report.next, Next::AwaitChange);
        assert_eq!(condition(&status, "Stalled").unwrap().reason, "URLInvalid");
        assert!(condition(&status, "Reconciling").is_none());
        assert_eq!(status.observed_generation, Some(3));

        let report = apply(
            &mut status,
            Some(4),
            &Err(include_unavailable("NoArtifact", "no artifact")),
        );
        assert_eq!(report.next, Next::Dependency);
        assert!(condition(&status, "Stalled").is_none());
        assert!(condition(&status, "FetchFailed").is_none());
        assert_eq!(
            condition(&status, "IncludeUnavailable").unwrap().status,
            "True"
        );
    }

    #[test]
    fn up_to_date_is_a_trace_event_and_keeps_ready() {
        let mut status = GitRepositoryStatus::default();
        apply(&mut status, Some(1), &Ok(stored("main@sha1:1")));
        let report = apply(
            &mut status,
            Some(1),
            &Ok(Success::UpToDate {
                revision: "main@sha1:1".into(),
            }),
        );
        assert_eq!(report.events.len(), 1);
        assert_eq!(report.events[0].severity, Severity::Trace);
        assert_eq!(report.events[0].reason, ARTIFACT_UP_TO_DATE);
        assert_eq!(condition(&status, "Ready").unwrap().status, "True");
    }

    #[test]
    fn reconciling_message_names_the_generation_change() {
        let mut status = GitRepositoryStatus::default();
        assert_eq!(
            reconciling_message(Some(1), &status),
            "processing object: new generation 1"
        );
        status.observed_generation = Some(1);
        assert_eq!(
            reconciling_message(Some(2), &status),
            "processing object: new generation 1 -> 2"
        );
    }
}
