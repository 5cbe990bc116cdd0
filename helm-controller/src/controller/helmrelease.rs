//! The HelmRelease reconciler. A reconcile reads top to bottom as named steps:
//!
//! 1. deletion (uninstall), finalizer, suspend, fields Eddy cannot act on yet;
//! 2. **source**: the HelmChart for `spec.chart` (applied) or the `chartRef`, and its artifact;
//! 3. **values**: `valuesFrom` and `values` composed ([`super::values`]), the config digest;
//! 4. **chart**: the artifact downloaded, verified and unpacked once per digest, then loaded;
//! 5. **release state** from Helm's storage ([`super::release_state`]) and the one action it
//!    asks for ([`super::action`]): install, upgrade, unlock, or nothing;
//! 6. the report ([`super::report`]).
//!
//! Every step fails with the runtime's typed [`Failure`]; one place turns it into the status.

use std::sync::Arc;

use eddy_api::helm::{HelmRelease, constants::reason, helmrelease::ReleaseAction};
use eddy_api::meta::reason::ARTIFACT_FAILED;
use eddy_helm_release::{ChartSnapshot, SecretStorage};
use eddy_runtime::{events::Event, finalizer, outcome::Failure};
use kube::{Api, ResourceExt, runtime::controller::Action};

use super::{
    Context, action, chart_source,
    release_name::release_name,
    release_state::{self, Desired, Failures, Next},
    render,
    report::{RELEASED, Report},
    unsupported, values,
};

/// Errors that end a reconcile with the controller's backoff (API trouble writing the status).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to update HelmRelease {name}: {source}")]
    Api {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// Why a step stopped the reconcile: a failure the status reports, or API trouble.
pub enum Stop {
    Failed(Failure),
    Api(Error),
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Self {
        Stop::Failed(failure)
    }
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Stop::Api(error)
    }
}

/// How a successful reconcile is reported.
pub struct Done {
    pub reason: String,
    pub message: String,
    /// `(revision, message)` of the event an action that ran records.
    pub event: Option<(String, String)>,
}

/// Everything the release step needs, resolved.
pub struct Inputs {
    /// The unpacked artifact (held so the cache keeps it while the release renders).
    pub unpacked: Arc<eddy_artifact::Unpacked>,
    /// The chart as Helm records it in the release.
    pub chart: ChartSnapshot,
    pub values: eddy_helm::Table,
    pub desired: Desired,
    pub release_name: String,
    pub storage: SecretStorage,
}

/// Reconciles one HelmRelease.
pub async fn reconcile(hr: Arc<HelmRelease>, ctx: Arc<Context>) -> Result<Action, Error> {
    let api: Api<HelmRelease> =
        Api::namespaced(ctx.client.clone(), &hr.namespace().unwrap_or_default());
    if hr.metadata.deletion_timestamp.is_some() {
        return action::finalize(&hr, &ctx, &api).await;
    }
    finalizer::ensure(&api, hr.as_ref())
        .await
        .map_err(|source| Error::Api {
            name: hr.name_any(),
            source,
        })?;
    if hr.spec.suspend == Some(true) {
        tracing::info!("reconciliation is suspended for this object");
        return Ok(Action::await_change());
    }
    let mut report = Report::new(&hr);
    // Before any read or apply: a field Eddy would ignore stops here.
    if let Some((why, message)) = unsupported::refusal(&unsupported::unsupported_fields(&hr.spec)) {
        return report
            .failed(&ctx, &api, Failure::stalled(why, message))
            .await;
    }
    match reconcile_release(&hr, &ctx, &api, &mut report).await {
        Ok(done) => {
            report
                .succeeded(&ctx, &api, &done.reason, &done.message, done.event)
                .await
        }
        Err(Stop::Failed(failure)) => report.failed(&ctx, &api, failure).await,
        Err(Stop::Api(error)) => Err(error),
    }
}

/// Steps 2–5.
async fn reconcile_release(
    hr: &HelmRelease,
    ctx: &Context,
    api: &Api<HelmRelease>,
    report: &mut Report,
) -> Result<Done, Stop> {
    let source = chart_source::resolve(hr, ctx).await?;
    let previous_chart = report.status.helm_chart.clone();
    report.status.helm_chart = source.helm_chart.clone();
    if let Some(old) = previous_chart.filter(|old| Some(old) != source.helm_chart.as_ref()) {
        // spec.chart gave way to a chartRef (or moved): the HelmChart made for it goes.
        if hr.spec.chart_ref.is_some() || hr.generated_helm_chart().is_some() {
            let _ = chart_source::delete_helm_chart(ctx, &old).await;
        }
    }
    let values = compose_values(hr, ctx).await?;
    let (unpacked, chart) = fetch_chart(ctx, &source.artifact).await?;
    let desired = Desired {
        chart_name: chart.metadata.name.clone(),
        chart_version: chart.metadata.version.clone(),
        config_digest: values::config_digest(&values),
    };
    record_attempt(hr, report, &desired);
    let storage_namespace = hr.storage_namespace().unwrap_or_default().to_owned();
    report.status.storage_namespace = Some(storage_namespace.clone());
    let inputs = Inputs {
        unpacked,
        chart,
        values,
        desired,
        release_name: release_name(hr),
        storage: SecretStorage::new(ctx.client.clone(), &storage_namespace),
    };
    run_state_machine(hr, ctx, api, report, &inputs).await
}

/// Determines the release state and runs what it asks for; an unlocked release is looked at
/// again.
async fn run_state_machine(
    hr: &HelmRelease,
    ctx: &Context,
    api: &Api<HelmRelease>,
    report: &mut Report,
    inputs: &Inputs,
) -> Result<Done, Stop> {
    for _ in 0..2 {
        let history = inputs
            .storage
            .history(&inputs.release_name)
            .await
            .map_err(|e| Failure::backoff(reason::RESOURCE_MANAGER_ERROR, e.to_string()))?;
        let failures = Failures {
            install: report.status.install_failures.unwrap_or(0),
            upgrade: report.status.upgrade_failures.unwrap_or(0),
        };
        match release_state::determine(&history, &inputs.desired, failures, &hr.spec) {
            Next::InSync => return Ok(in_sync(report)),
            Next::Unlock { version, status } => {
                action::unlock(inputs, version, status, report).await?;
            }
            Next::RetriesExceeded { action, attempts } => {
                let verb = match action {
                    ReleaseAction::Install => "install",
                    ReleaseAction::Upgrade => "upgrade",
                };
                let message = format!("Failed to {verb} after {attempts} attempt(s)");
                return Err(Failure::stalled(reason::RETRIES_EXCEEDED, message).into());
            }
            Next::Install => {
                return action::release(
                    hr,
                    ctx,
                    api,
                    report,
                    inputs,
                    &history,
                    ReleaseAction::Install,
                )
                .await;
            }
            Next::Reinstall => {
                action::remove_failed_install(ctx, inputs, &history).await?;
                return action::release(hr, ctx, api, report, inputs, &[], ReleaseAction::Install)
                    .await;
            }
            Next::Upgrade => {
                return action::release(
                    hr,
                    ctx,
                    api,
                    report,
                    inputs,
                    &history,
                    ReleaseAction::Upgrade,
                )
                .await;
            }
        }
    }
    let message = "the release is still locked after unlocking it";
    Err(Failure::backoff(reason::RESOURCE_MANAGER_ERROR, message).into())
}

/// Nothing to do: Ready repeats the last successful action's words.
fn in_sync(report: &mut Report) -> Done {
    let released = report
        .status
        .conditions
        .as_deref()
        .and_then(|c| eddy_runtime::conditions::get(c, RELEASED))
        .filter(|c| c.status == "True")
        .map(|c| (c.reason.clone(), c.message.clone()));
    let (reason, message) = released.unwrap_or_else(|| {
        (
            eddy_api::meta::reason::RECONCILIATION_SUCCEEDED.to_owned(),
            "Release is in sync".to_owned(),
        )
    });
    report.status.install_failures = None;
    report.status.upgrade_failures = None;
    Done {
        reason,
        message,
        event: None,
    }
}

/// The last attempt's chart, values and generation; the failure counters start again when any
/// of them changed (Flux resets them the same way).
fn record_attempt(hr: &HelmRelease, report: &mut Report, desired: &Desired) {
    let status = &mut report.status;
    let changed = status.last_attempted_generation != hr.metadata.generation
        || status.last_attempted_config_digest.as_deref() != Some(desired.config_digest.as_str())
        || status.last_attempted_revision.as_deref() != Some(desired.chart_version.as_str());
    if changed {
        status.install_failures = None;
        status.upgrade_failures = None;
        status.failures = None;
    }
    status.last_attempted_generation = hr.metadata.generation;
    status.last_attempted_revision = Some(desired.chart_version.clone());
    status.last_attempted_config_digest = Some(desired.config_digest.clone());
}

async fn compose_values(hr: &HelmRelease, ctx: &Context) -> Result<eddy_helm::Table, Failure> {
    let namespace = hr.namespace().unwrap_or_default();
    let references = hr.spec.values_from.as_deref().unwrap_or_default();
    let found = values::fetch_references(&ctx.client, &namespace, references)
        .await
        .map_err(|message| Failure::retry_interval(reason::VALUES_ERROR, message))?;
    values::compose(&namespace, &hr.spec, &found)
        .map_err(|message| Failure::retry_interval(reason::VALUES_ERROR, message))
}

/// Downloads (verifying the digest), unpacks and loads the chart off the async runtime; the
/// engine's chart is not `Send`, so what crosses back is the record Helm keeps of it.
async fn fetch_chart(
    ctx: &Context,
    artifact: &eddy_api::meta::Artifact,
) -> Result<(Arc<eddy_artifact::Unpacked>, ChartSnapshot), Failure> {
    let url =
        eddy_artifact::rewrite_url(&artifact.url, ctx.settings.source_host_override.as_deref());
    let unpacked = ctx
        .artifacts
        .get(&ctx.http, &url, &artifact.digest)
        .await
        .map_err(|error| {
            if error.is_not_found() {
                Failure::dependency(ARTIFACT_FAILED, "Source is not ready, artifact not found")
            } else {
                Failure::retry_interval(ARTIFACT_FAILED, error.to_string())
            }
        })?;
    let dir = unpacked.dir.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        render::load_chart(&dir).map(|chart| ChartSnapshot::from_chart(&chart))
    })
    .await
    .unwrap_or_else(|join| Err(format!("chart loading panicked: {join}")));
    let snapshot = loaded.map_err(|message| {
        Failure::retry_interval(ARTIFACT_FAILED, format!("failed to load chart: {message}"))
    })?;
    Ok((unpacked, snapshot))
}

/// An event about `hr` (used by the action module for steps that do not end the reconcile).
pub async fn publish(ctx: &Context, hr: &HelmRelease, event: Event) {
    ctx.recorder.publish(hr, event).await;
}
