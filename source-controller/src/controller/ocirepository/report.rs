//! How the result of one OCIRepository reconcile becomes status conditions, events and the next
//! requeue. Pure: the reconciler hands in what happened and writes out what comes back.

use eddy_api::meta::{Artifact, condition_type};
use eddy_api::source::OCIRepositoryStatus;
use eddy_runtime::conditions::{self, Status};
use eddy_runtime::events::Event;

use crate::controller::outcome::{
    ARTIFACT_UP_TO_DATE, Failure, NEW_ARTIFACT, NEW_REVISION, Next, Report, SUCCEEDED,
    record_failure, record_success,
};

/// Conditions whose True means something is wrong; each reconcile ends with at most one.
const FAILURE_CONDITIONS: [&str; 2] = [
    condition_type::FETCH_FAILED,
    condition_type::STORAGE_OPERATION_FAILED,
];

/// A successful reconcile.
#[derive(Debug, Clone, PartialEq)]
pub enum Success {
    /// A new artifact was stored; `latest_url` is the `latest.tar.gz` link's URL.
    Stored {
        artifact: Box<Artifact>,
        latest_url: String,
        source_url: String,
    },
    /// The registry still points at the stored artifact's revision; nothing was downloaded.
    UpToDate { revision: String },
}

/// `Ready`/`ArtifactInStorage` message, Flux's wording.
pub fn stored_message(revision: &str) -> String {
    format!("stored artifact for digest '{revision}'")
}

/// The `ArtifactOutdated` message while a new revision is pulled, or `None` when nothing is
/// stored yet or the revision is the stored one.
pub fn outdated_message(status: &OCIRepositoryStatus, revision: &str, url: &str) -> Option<String> {
    let stored = status.artifact.as_ref()?;
    (stored.revision != revision).then(|| format!("new revision '{revision}' for '{url}'"))
}

/// Applies the result of a reconcile to `status` and says what to record and when to return.
pub fn apply(
    status: &mut OCIRepositoryStatus,
    generation: Option<i64>,
    result: &Result<Success, Failure>,
) -> Report {
    match result {
        Ok(success) => {
            let mut events = Vec::new();
            match success {
                Success::Stored {
                    artifact,
                    latest_url,
                    source_url,
                } => {
                    let changed = status.artifact.as_ref().is_none_or(|previous| {
                        previous.revision != artifact.revision || previous.digest != artifact.digest
                    });
                    if changed {
                        let mut event = Event::info(
                            NEW_ARTIFACT,
                            format!(
                                "stored artifact with revision '{}' from '{source_url}'",
                                artifact.revision
                            ),
                        )
                        .with("revision", artifact.revision.clone())
                        .with("digest", artifact.digest.clone());
                        if let Some(origin) = origin_revision(artifact) {
                            event = event.with("originRevision", origin);
                        }
                        events.push(event);
                    }
                    status.artifact = Some(artifact.as_ref().clone());
                    status.url = Some(latest_url.clone());
                }
                Success::UpToDate { revision } => events.push(Event::trace(
                    ARTIFACT_UP_TO_DATE,
                    format!("artifact up-to-date with remote revision: '{revision}'"),
                )),
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

/// The source revision `flux push artifact` records (`org.opencontainers.image.revision`).
fn origin_revision(artifact: &Artifact) -> Option<String> {
    artifact
        .metadata
        .as_ref()?
        .get("org.opencontainers.image.revision")
        .cloned()
}

/// Marks the stored artifact outdated while `message`'s revision is pulled.
pub fn mark_outdated(status: &mut OCIRepositoryStatus, message: &str, generation: Option<i64>) {
    let list = status.conditions.get_or_insert_with(Vec::new);
    conditions::set(
        list,
        condition_type::ARTIFACT_OUTDATED,
        Status::True,
        NEW_REVISION,
        message,
        generation,
    );
    conditions::mark_reconciling(list, &format!("building artifact: {message}"), generation);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use eddy_runtime::events::Severity;

    use super::*;
    use crate::controller::ocirepository::reason;

    fn artifact(revision: &str) -> Artifact {
        Artifact {
            path: "ocirepository/ns/app/abc.tar.gz".into(),
            url: "http://h/ocirepository/ns/app/abc.tar.gz".into(),
            revision: revision.into(),
            digest: format!("sha256:{}", revision.len()),
            last_update_time: eddy_runtime::time::now(),
            size: Some(10),
            metadata: Some(BTreeMap::from([(
                "org.opencontainers.image.revision".to_owned(),
                "main@sha1:abc".to_owned(),
            )])),
        }
    }

    fn stored(revision: &str) -> Success {
        Success::Stored {
            artifact: Box::new(artifact(revision)),
            latest_url: "http://h/ocirepository/ns/app/latest.tar.gz".into(),
            source_url: "oci://r/app".into(),
        }
    }

    fn condition<'a>(
        status: &'a OCIRepositoryStatus,
        type_: &str,
    ) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
        conditions::get(status.conditions.as_deref().unwrap_or_default(), type_)
    }

    #[test]
    fn a_new_artifact_is_announced_once_with_its_origin_revision() {
        let mut status = OCIRepositoryStatus::default();
        let report = apply(&mut status, Some(1), &Ok(stored("latest@sha256:1")));
        assert_eq!(report.next, Next::Interval);
        assert_eq!(report.events.len(), 1);
        let event = &report.events[0];
        assert_eq!(event.reason, "NewArtifact");
        assert_eq!(
            event.message,
            "stored artifact with revision 'latest@sha256:1' from 'oci://r/app'"
        );
        assert_eq!(
            event.metadata.get("originRevision").map(String::as_str),
            Some("main@sha1:abc")
        );
        let ready = condition(&status, "Ready").unwrap();
        assert_eq!(
            ready.message,
            "stored artifact for digest 'latest@sha256:1'"
        );
        assert_eq!(
            status.url.as_deref(),
            Some("http://h/ocirepository/ns/app/latest.tar.gz")
        );
        let again = apply(&mut status, Some(1), &Ok(stored("latest@sha256:1")));
        assert!(again.events.is_empty());
        let up_to_date = apply(
            &mut status,
            Some(1),
            &Ok(Success::UpToDate {
                revision: "latest@sha256:1".into(),
            }),
        );
        assert_eq!(up_to_date.events[0].severity, Severity::Trace);
    }

    #[test]
    fn a_failure_keeps_the_artifact_and_recovery_clears_the_condition() {
        let mut status = OCIRepositoryStatus::default();
        apply(&mut status, Some(1), &Ok(stored("latest@sha256:1")));
        mark_outdated(
            &mut status,
            "new revision 'latest@sha256:2' for 'oci://r/app'",
            Some(1),
        );
        let failure = Failure::backoff(reason::PULL_FAILED, "cannot reach the registry")
            .with_condition(condition_type::FETCH_FAILED);
        let report = apply(&mut status, Some(1), &Err(failure));
        assert_eq!(report.next, Next::Backoff);
        assert_eq!(report.events[0].reason, "OCIArtifactPullFailed");
        assert_eq!(
            status.artifact.as_ref().unwrap().revision,
            "latest@sha256:1"
        );
        let ready = condition(&status, "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "OCIArtifactPullFailed")
        );
        assert_eq!(condition(&status, "FetchFailed").unwrap().status, "True");
        apply(&mut status, Some(1), &Ok(stored("latest@sha256:2")));
        assert!(condition(&status, "FetchFailed").is_none());
        assert!(condition(&status, "ArtifactOutdated").is_none());
    }

    #[test]
    fn outdated_only_when_a_different_revision_replaces_a_stored_one() {
        let mut status = OCIRepositoryStatus::default();
        assert_eq!(
            outdated_message(&status, "latest@sha256:2", "oci://r/app"),
            None
        );
        status.artifact = Some(artifact("latest@sha256:1"));
        assert_eq!(
            outdated_message(&status, "latest@sha256:1", "oci://r/app"),
            None
        );
        assert_eq!(
            outdated_message(&status, "latest@sha256:2", "oci://r/app").as_deref(),
            Some("new revision 'latest@sha256:2' for 'oci://r/app'")
        );
    }
}
