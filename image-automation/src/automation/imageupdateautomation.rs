//! The ImageUpdateAutomation reconciler, read top to bottom: validate the spec → select the
//! policies → resolve the GitRepository → skip when nothing moved since the last run → clone,
//! apply the setters, commit and push (`write_back`, off the async runtime) → report the status
//! and the "pushed commit …" event.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use eddy_api::image::{
    ImageRef, ImageUpdateAutomation, ImageUpdateAutomationStatus,
    imageupdateautomation::{HOLD_MANUAL_CHANGES_ANNOTATION, RELEASE_HOLDS_ANNOTATION, SetterHold},
    reasons,
};
use eddy_git::{Author, commit_of_revision};
use eddy_runtime::{
    conditions,
    events::{Event, EventRecorder},
    finalizer,
    outcome::{self, Failure, Next, Timing},
    requeue::Backoff,
    status::apply_status,
    time, watch,
};
use kube::{Api, Client, ResourceExt, runtime::controller::Action};

use super::{
    policies,
    setters::pushed_key,
    source::{self, GitTarget},
    template::{self, TemplateError},
    write_back::{Pushed, WriteError, WriteOutcome, WriteRequest, write_back},
};

pub const FIELD_MANAGER: &str = "image-automation-controller";
/// The Ready message of a successful run, pushed or not.
pub const UP_TO_DATE: &str = "repository up-to-date";
/// How long to wait for a GitRepository or policy that is not there yet.
const REQUEUE_DEPENDENCY: Duration = Duration::from_secs(30);

pub struct Context {
    pub client: Client,
    pub recorder: EventRecorder,
    pub failure_backoff: Backoff,
    /// `--no-cross-namespace-refs`: a `sourceRef` in another namespace is refused.
    pub no_cross_namespace_refs: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("cannot write status: {0}")]
    Status(#[source] kube::Error),
    #[error("cannot update the finalizer: {0}")]
    Finalizer(#[source] kube::Error),
}

/// What a run ended with.
enum RunOutcome {
    /// Policies and source are what the last successful run saw, and its interval has not passed.
    UpToDate,
    Unchanged {
        revision: String,
        holds: Vec<SetterHold>,
        observed: BTreeMap<String, ImageRef>,
    },
    Pushed {
        pushed: Pushed,
        observed: BTreeMap<String, ImageRef>,
    },
}

pub async fn reconcile(
    automation: Arc<ImageUpdateAutomation>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let name = automation.name_any();
    let namespace = automation.namespace().unwrap_or_default();
    let api: Api<ImageUpdateAutomation> = Api::namespaced(ctx.client.clone(), &namespace);
    if automation.metadata.deletion_timestamp.is_some() {
        finalizer::release(&api, automation.as_ref())
            .await
            .map_err(ReconcileError::Finalizer)?;
        return Ok(Action::await_change());
    }
    if automation.spec.suspend == Some(true) {
        return Ok(Action::await_change());
    }
    finalizer::ensure(&api, automation.as_ref())
        .await
        .map_err(ReconcileError::Finalizer)?;
    let generation = automation.metadata.generation;
    let previous = automation.status.clone().unwrap_or_default();
    let mut status = ImageUpdateAutomationStatus {
        last_handled_reconcile_at: watch::requested_at(automation.as_ref())
            .or(previous.last_handled_reconcile_at.clone()),
        ..previous.clone()
    };
    let mut conditions = status.conditions.take().unwrap_or_default();
    let interval = time::interval(&automation.spec.interval);
    let (event, next) = match run(&automation, &ctx, interval).await {
        Ok(RunOutcome::UpToDate) => (None, Next::Interval),
        Ok(outcome) => {
            let event = record_run(&mut status, outcome);
            if let Some(token) = pending_hold_release(&automation) {
                status.last_handled_hold_release = Some(token.to_owned());
            }
            outcome::report_success(
                &mut conditions,
                &[],
                conditions::SUCCEEDED,
                UP_TO_DATE,
                generation,
            );
            status.observed_generation = generation;
            (Some(event), Next::Interval)
        }
        Err(failure) => {
            let reported = outcome::report_failure(&mut conditions, &[], &failure, generation);
            if reported.observed {
                status.observed_generation = generation;
            }
            (Some(reported.event), reported.next)
        }
    };
    status.conditions = Some(conditions);
    if Some(&status) != automation.status.as_ref() {
        apply_status(&api, &name, FIELD_MANAGER, &status)
            .await
            .map_err(ReconcileError::Status)?;
    }
    if let Some(event) = event {
        ctx.recorder.publish(automation.as_ref(), event).await;
    }
    let timing = Timing {
        interval: remaining_interval(&status, interval),
        retry_interval: interval,
        requeue_dependency: REQUEUE_DEPENDENCY,
        jitter_percent: 0,
    };
    Ok(next.action(
        &timing,
        &ctx.failure_backoff,
        &format!("{namespace}/{name}"),
    ))
}

async fn run(
    automation: &ImageUpdateAutomation,
    ctx: &Context,
    interval: Duration,
) -> Result<RunOutcome, Failure> {
    let namespace = automation.namespace().unwrap_or_default();
    validate(automation)?;
    let selector = policies::selector(automation.spec.policy_selector.as_ref())?;
    let applied = policies::list_applied(&ctx.client, &namespace, &selector).await?;
    let target = source::resolve(&ctx.client, automation, ctx.no_cross_namespace_refs).await?;
    if nothing_moved(automation, &applied.observed, &target, interval) {
        return Ok(RunOutcome::UpToDate);
    }
    let request = write_request(automation, target, applied.images);
    let outcome = tokio::task::spawn_blocking(move || write_back(&request))
        .await
        .map_err(|error| {
            Failure::backoff(
                reasons::GIT_OPERATION_FAILED,
                format!("the Git task failed: {error}"),
            )
        })?
        .map_err(write_failure)?;
    let observed = applied.observed;
    Ok(match outcome {
        WriteOutcome::Unchanged { revision, holds } => RunOutcome::Unchanged {
            revision,
            holds,
            observed,
        },
        WriteOutcome::Pushed(pushed) => RunOutcome::Pushed { pushed, observed },
    })
}

/// Spec problems no retry can fix, found before anything is read.
pub fn validate(automation: &ImageUpdateAutomation) -> Result<(), Failure> {
    let Some(git) = &automation.spec.git else {
        return Err(Failure::stalled(
            reasons::INVALID_SOURCE_CONFIGURATION,
            "spec.git is required: it names the commit author",
        ));
    };
    if let Some(template) = git.commit.message_template.as_deref() {
        template::check_parses(template).map_err(|error| match error {
            TemplateError::RemovedField => {
                Failure::stalled(reasons::REMOVED_TEMPLATE_FIELD, error.to_string())
            }
            other => Failure::stalled(reasons::GIT_OPERATION_FAILED, other.to_string()),
        })?;
    }
    Ok(())
}

/// Whether the last successful run saw these policies and this source revision, for this
/// generation, within the interval, with no reconcile requested since.
fn nothing_moved(
    automation: &ImageUpdateAutomation,
    observed: &BTreeMap<String, ImageRef>,
    target: &GitTarget,
    interval: Duration,
) -> bool {
    let Some(status) = &automation.status else {
        return false;
    };
    let ready = status
        .conditions
        .as_deref()
        .is_some_and(|conditions| conditions::is_true(conditions, conditions::READY));
    // Without an artifact (source-controller has not fetched, or does not run) nothing says the
    // source moved: the interval and reconcile requests still run the automation.
    let same_source = match (&status.observed_source_revision, &target.artifact_revision) {
        (Some(seen), Some(current)) => commit_of_revision(seen) == commit_of_revision(current),
        (Some(_), None) => true,
        (None, _) => false,
    };
    ready
        && pending_hold_release(automation).is_none()
        && status.observed_generation == automation.metadata.generation
        && watch::requested_at(automation) == status.last_handled_reconcile_at
        && status.observed_policies.as_ref() == Some(observed)
        && same_source
        && remaining_interval(status, interval) < interval
}

/// The time left until the interval since the last run has passed (the whole interval when the
/// automation never ran or the interval is over).
fn remaining_interval(status: &ImageUpdateAutomationStatus, interval: Duration) -> Duration {
    let Some(last_run) = &status.last_automation_run_time else {
        return interval;
    };
    let elapsed = time::now_timestamp()
        .duration_since(last_run.0)
        .unsigned_abs();
    match interval.checked_sub(elapsed) {
        Some(left) if !left.is_zero() => left,
        _ => interval,
    }
}

fn write_request(
    automation: &ImageUpdateAutomation,
    target: GitTarget,
    images: super::setters::PolicyImages,
) -> WriteRequest {
    let commit = automation.spec.git.as_ref().map(|git| git.commit.clone());
    let author = commit.as_ref().map(|commit| &commit.author);
    WriteRequest {
        target,
        update_path: automation
            .spec
            .update
            .as_ref()
            .and_then(|update| update.path.clone())
            .unwrap_or_default(),
        images,
        author: Author {
            name: author.and_then(|a| a.name.clone()).unwrap_or_default(),
            email: author.map(|a| a.email.clone()).unwrap_or_default(),
        },
        message_template: commit.as_ref().and_then(|c| c.message_template.clone()),
        template_values: commit
            .and_then(|c| c.message_template_values)
            .unwrap_or_default(),
        name: automation.name_any(),
        namespace: automation.namespace().unwrap_or_default(),
        hold_pushed_values: holds_in_effect(automation).then(|| {
            automation
                .status
                .as_ref()
                .and_then(|status| status.pushed_values.clone())
                .unwrap_or_default()
        }),
    }
}

/// Whether manually changed markers are held in this run: the automation opted in and no
/// release of its holds is pending.
pub fn holds_in_effect(automation: &ImageUpdateAutomation) -> bool {
    let opted_in = automation
        .annotations()
        .get(HOLD_MANUAL_CHANGES_ANNOTATION)
        .is_some_and(|value| value == "true");
    opted_in && pending_hold_release(automation).is_none()
}

/// The `image.eddy.dev/release-holds` token not handled yet, if any: it makes one run overwrite
/// every held marker, as if nothing were held.
pub fn pending_hold_release(automation: &ImageUpdateAutomation) -> Option<&str> {
    let token = automation.annotations().get(RELEASE_HOLDS_ANNOTATION)?;
    let handled = automation
        .status
        .as_ref()
        .and_then(|status| status.last_handled_hold_release.as_deref());
    (handled != Some(token.as_str())).then_some(token.as_str())
}

fn write_failure(error: WriteError) -> Failure {
    let message = error.to_string();
    match error {
        WriteError::Git(git) if git.is_terminal() => {
            Failure::stalled(reasons::GIT_OPERATION_FAILED, message)
        }
        WriteError::Git(_) => Failure::backoff(reasons::GIT_OPERATION_FAILED, message),
        WriteError::Update(super::files::UpdateError::PathOutsideRepository(_)) => {
            Failure::stalled(reasons::UPDATE_FAILED, message)
        }
        WriteError::Update(super::files::UpdateError::Io { .. }) => {
            Failure::backoff(reasons::UPDATE_FAILED, message)
        }
        WriteError::Update(_) => Failure::retry_interval(reasons::UPDATE_FAILED, message),
        WriteError::Template(_) => Failure::retry_interval(reasons::GIT_OPERATION_FAILED, message),
    }
}

/// Records a run in the status and returns its event.
fn record_run(status: &mut ImageUpdateAutomationStatus, outcome: RunOutcome) -> Event {
    let now = time::now();
    status.last_automation_run_time = Some(now.clone());
    match outcome {
        RunOutcome::UpToDate => Event::trace(conditions::SUCCEEDED, UP_TO_DATE),
        RunOutcome::Unchanged {
            revision,
            holds,
            observed,
        } => {
            status.holds = Some(holds).filter(|holds| !holds.is_empty());
            status.observed_policies = Some(observed);
            status.observed_source_revision = Some(revision);
            Event::trace(conditions::SUCCEEDED, "no change since last reconciliation")
        }
        RunOutcome::Pushed { pushed, observed } => {
            let mut values = status.pushed_values.take().unwrap_or_default();
            for (file, objects) in &pushed.changes {
                for change in objects.values().flatten() {
                    values.insert(pushed_key(file, &change.setter), change.new_value.clone());
                }
            }
            status.pushed_values = Some(values);
            status.holds = Some(pushed.holds.clone()).filter(|holds| !holds.is_empty());
            status.observed_policies = Some(observed);
            status.observed_source_revision = Some(pushed.revision.clone());
            status.last_push_commit = Some(pushed.commit.clone());
            status.last_push_time = Some(now);
            Event::info(conditions::SUCCEEDED, push_summary(&pushed))
        }
    }
}

/// "pushed commit '<short sha>' to branch '<branch>'", the refspec when one was pushed, the
/// changed objects and the commit message.
pub fn push_summary(pushed: &Pushed) -> String {
    let short: String = pushed.commit.chars().take(7).collect();
    let mut summary = format!("pushed commit '{short}' to branch '{}'", pushed.branch);
    if let Some(refspec) = &pushed.refspec {
        summary.push_str(&format!(" and refspec '{refspec}'"));
    }
    for (file, objects) in &pushed.changes {
        for (object, changes) in objects {
            for change in changes {
                let what = if object.kind.is_empty() {
                    file.clone()
                } else {
                    format!("{} {}", object.kind, object.name)
                };
                summary.push_str(&format!(
                    "\n- {what}: {} -> {}",
                    change.old_value, change.new_value
                ));
            }
        }
    }
    summary.push_str("\n\n");
    summary.push_str(&pushed.message);
    summary
}

#[cfg(test)]
mod tests {
    use eddy_git::GitError;

    use super::*;
    use crate::automation::setters::{Change, ObjectChanges, ObjectId};

    fn automation(template: Option<&str>) -> ImageUpdateAutomation {
        let mut spec = serde_json::json!({
            "interval": "5m",
            "sourceRef": {"kind": "GitRepository", "name": "config"},
            "git": {"commit": {"author": {"email": "bot@example.com"}}},
        });
        if let Some(template) = template {
            spec["git"]["commit"]["messageTemplate"] = template.into();
        }
        ImageUpdateAutomation::new("auto", serde_json::from_value(spec).unwrap())
    }

    #[test]
    fn validation_stalls_on_removed_field_and_broken_templates() {
        assert!(validate(&automation(None)).is_ok());
        let removed = validate(&automation(Some("{{ .Updated.Images }}"))).unwrap_err();
        assert_eq!(removed.reason, "RemovedTemplateField");
        assert_eq!(removed.retry, outcome::Retry::Never);
        let broken = validate(&automation(Some("{{ range }"))).unwrap_err();
        assert_eq!(broken.reason, "GitOperationFailed");
        assert!(
            broken.message.contains("cannot be parsed"),
            "{}",
            broken.message
        );
    }

    #[test]
    fn summary_names_commit_branch_refspec_and_objects() {
        let object = ObjectId {
            kind: "Deployment".into(),
            name: "app".into(),
            ..Default::default()
        };
        let pushed = Pushed {
            commit: "0123456789abcdef".into(),
            revision: "main@sha1:aaa".into(),
            branch: "main".into(),
            refspec: Some("refs/heads/main:refs/heads/mirror".into()),
            message: "Update".into(),
            holds: Vec::new(),
            changes: BTreeMap::from([(
                "app.yaml".to_owned(),
                ObjectChanges::from([(
                    object,
                    vec![Change {
                        old_value: "a:1".into(),
                        new_value: "a:2".into(),
                        setter: "ns:a".into(),
                    }],
                )]),
            )]),
        };
        assert_eq!(
            push_summary(&pushed),
            "pushed commit '0123456' to branch 'main' and refspec 'refs/heads/main:refs/heads/mirror'\n- Deployment app: a:1 -> a:2\n\nUpdate"
        );
    }

    #[test]
    fn a_new_release_token_lifts_holds_for_one_run() {
        let mut held = automation(None);
        held.annotations_mut()
            .insert(HOLD_MANUAL_CHANGES_ANNOTATION.into(), "true".into());
        assert!(holds_in_effect(&held));
        assert_eq!(pending_hold_release(&held), None);

        held.annotations_mut()
            .insert(RELEASE_HOLDS_ANNOTATION.into(), "t1".into());
        assert_eq!(pending_hold_release(&held), Some("t1"));
        assert!(!holds_in_effect(&held), "a pending release lifts the holds");

        held.status = Some(ImageUpdateAutomationStatus {
            last_handled_hold_release: Some("t1".into()),
            ..Default::default()
        });
        assert_eq!(pending_hold_release(&held), None, "handled once");
        assert!(holds_in_effect(&held), "later changes are held again");

        held.annotations_mut()
            .insert(RELEASE_HOLDS_ANNOTATION.into(), "t2".into());
        assert_eq!(pending_hold_release(&held), Some("t2"));
    }

    #[test]
    fn failures_map_to_flux_reasons_and_retries() {
        let stalled = write_failure(WriteError::Git(GitError::Signing("bad key".into())));
        assert_eq!(
            (stalled.reason.as_str(), stalled.retry),
            ("GitOperationFailed", outcome::Retry::Never)
        );
        let broken = write_failure(WriteError::Update(
            crate::automation::setters::BrokenYaml {
                file: "x.yaml".into(),
                detail: "bad".into(),
            }
            .into(),
        ));
        assert_eq!(broken.reason, "UpdateFailed");
        assert!(broken.message.contains("x.yaml"));
    }
}
