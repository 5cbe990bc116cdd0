//! The Helm actions of this slice: install and upgrade (render, record `pending-*`, apply,
//! delete what the upgrade dropped, wait, record `deployed`), rollback after a failed upgrade,
//! unlocking a stale pending release, and uninstall on deletion.

use eddy_api::helm::{
    HelmRelease,
    constants::reason,
    helmrelease::{CrdPolicy, ReleaseAction},
};
use eddy_helm::{ReleaseOptions, TemplateOptions};
use eddy_helm_release::{Release, SecretStorage, Status};
use eddy_kustomization::inventory::ObjectId;
use eddy_runtime::{events::Event, finalizer, outcome::Failure, unsupported::NOT_SUPPORTED};
use kube::{Api, ResourceExt, runtime::controller::Action};

use super::{
    Context, apply, chart_source,
    helmrelease::{Done, Error, Inputs, Stop, publish},
    release_name::release_name,
    release_state, render,
    report::{Report, action_timeout},
    storage::{self, NewRevision},
};

fn storage_failure(error: eddy_helm_release::StorageError) -> Failure {
    Failure::backoff(reason::RESOURCE_MANAGER_ERROR, error.to_string())
}

fn verb(action: ReleaseAction) -> &'static str {
    match action {
        ReleaseAction::Install => "install",
        ReleaseAction::Upgrade => "upgrade",
    }
}

/// Rewrites a release a crashed run left `pending-*` as `failed`.
pub async fn unlock(
    inputs: &Inputs,
    version: u32,
    status: Status,
    report: &mut Report,
) -> Result<(), Failure> {
    let Some(mut release) = inputs
        .storage
        .get(&inputs.release_name, version)
        .await
        .map_err(storage_failure)?
    else {
        return Ok(());
    };
    release.info.status = Status::Failed;
    release.info.description = format!("Release unlocked from stale '{status}' state");
    inputs
        .storage
        .update(&release)
        .await
        .map_err(storage_failure)?;
    let history = report.status.history.get_or_insert_with(Vec::new);
    storage::record(history, &release, 0);
    Ok(())
}

/// Removes a release whose every revision failed to install (objects, then records), so it
/// can be installed again.
pub async fn remove_failed_install(
    ctx: &Context,
    inputs: &Inputs,
    history: &[Release],
) -> Result<(), Failure> {
    if let Some(last) = history.last() {
        let objects = apply::manifest_objects(&ctx.cluster, &last.manifest, &last.namespace).await;
        let failures = apply::delete_objects(&ctx.cluster, &objects, &[]).await;
        if !failures.is_empty() {
            return Err(Failure::retry_interval(
                reason::UNINSTALL_FAILED,
                failures.join("\n"),
            ));
        }
    }
    for release in history {
        inputs
            .storage
            .delete(&inputs.release_name, release.version)
            .await
            .map_err(storage_failure)?;
    }
    Ok(())
}

/// What an action is settled with.
struct Plan<'a> {
    action: ReleaseAction,
    timeout: std::time::Duration,
    wait: bool,
    hooks_disabled: bool,
    crds: CrdPolicy,
    schema_validation: bool,
    previous: Option<&'a Release>,
    version: u32,
}

fn plan<'a>(hr: &HelmRelease, history: &'a [Release], action: ReleaseAction) -> Plan<'a> {
    let version = history.last().map_or(1, |r| r.version + 1);
    let previous = history
        .iter()
        .rev()
        .find(|r| r.info.status == Status::Deployed);
    match action {
        ReleaseAction::Install => {
            let install = hr.spec.install.clone().unwrap_or_default();
            let crds = install.crds.unwrap_or(if install.skip_crds == Some(true) {
                CrdPolicy::Skip
            } else {
                CrdPolicy::Create
            });
            Plan {
                action,
                timeout: action_timeout(hr, install.timeout.as_deref()),
                wait: install.disable_wait != Some(true),
                hooks_disabled: install.disable_hooks == Some(true),
                crds,
                schema_validation: install.disable_schema_validation != Some(true),
                previous,
                version,
            }
        }
        ReleaseAction::Upgrade => {
            let upgrade = hr.spec.upgrade.clone().unwrap_or_default();
            Plan {
                action,
                timeout: action_timeout(hr, upgrade.timeout.as_deref()),
                wait: upgrade.disable_wait != Some(true),
                hooks_disabled: upgrade.disable_hooks == Some(true),
                crds: upgrade.crds.unwrap_or(CrdPolicy::Skip),
                schema_validation: upgrade.disable_schema_validation != Some(true),
                previous,
                version,
            }
        }
    }
}

/// Install or upgrade.
pub async fn release(
    hr: &HelmRelease,
    ctx: &Context,
    api: &Api<HelmRelease>,
    report: &mut Report,
    inputs: &Inputs,
    history: &[Release],
    action: ReleaseAction,
) -> Result<Done, Stop> {
    let plan = plan(hr, history, action);
    let target_namespace = hr.target_namespace().unwrap_or_default().to_owned();
    let chart_ref = format!(
        "{}@{}",
        inputs.desired.chart_name, inputs.desired.chart_version
    );
    let subject = format!("{target_namespace}/{}", inputs.release_name);
    report.status.last_attempted_release_action = Some(action);
    let progress = format!(
        "Running '{}' action with timeout of {}",
        verb(action),
        humantime(plan.timeout)
    );
    report.progress(api, &progress).await?;

    let failed = |message: String| {
        let reason = match action {
            ReleaseAction::Install => reason::INSTALL_FAILED,
            ReleaseAction::Upgrade => reason::UPGRADE_FAILED,
        };
        let text = format!(
            "Helm {} failed for release {subject} with chart {chart_ref}: {message}",
            verb(action)
        );
        (reason, text)
    };

    let rendered = match render_release(ctx, hr, inputs, &plan, &target_namespace).await {
        Ok(rendered) => rendered,
        Err(render::RenderError::Hooks(hooks)) => {
            let message = format!(
                "Helm hooks are not supported yet: the chart renders {}; set spec.{}.disableHooks to skip them",
                hooks.join(", "),
                verb(action)
            );
            return Err(Failure::stalled(NOT_SUPPORTED, message).into());
        }
        Err(render::RenderError::Chart(message)) => {
            let (reason, text) = failed(message);
            report.released(false, reason, &text);
            count_failure(report, action);
            return Err(Failure::retry_interval(reason, text).into());
        }
    };

    let mut release = storage::new_release(&NewRevision {
        name: &inputs.release_name,
        namespace: &target_namespace,
        version: plan.version,
        chart: &inputs.chart,
        values: &inputs.values,
        rendered: &rendered,
        status: match action {
            ReleaseAction::Install => Status::PendingInstall,
            ReleaseAction::Upgrade => Status::PendingUpgrade,
        },
        description: match action {
            ReleaseAction::Install => "Initial install underway",
            ReleaseAction::Upgrade => "Preparing upgrade",
        },
        first_deployed: history.first().map(|r| r.info.first_deployed),
    });
    inputs
        .storage
        .create(&release)
        .await
        .map_err(storage_failure)?;
    record_history(hr, report, &release);

    match deploy(ctx, hr, &plan, &rendered, &target_namespace).await {
        Ok(()) => {}
        Err(message) => {
            release.info.status = Status::Failed;
            release.info.description =
                format!("Release \"{}\" failed: {message}", inputs.release_name);
            inputs
                .storage
                .update(&release)
                .await
                .map_err(storage_failure)?;
            record_history(hr, report, &release);
            let (reason, text) = failed(message);
            report.released(false, reason, &text);
            count_failure(report, action);
            publish(
                ctx,
                hr,
                Event::error(reason, text.clone())
                    .with("revision", inputs.desired.chart_version.clone()),
            )
            .await;
            if action == ReleaseAction::Upgrade
                && release_state::retries(&hr.spec, ReleaseAction::Upgrade) != 0
            {
                rollback(ctx, hr, api, report, inputs, &release).await?;
            }
            return Err(Failure::retry_interval(reason, text).into());
        }
    }

    release.info.status = Status::Deployed;
    release.info.description = match action {
        ReleaseAction::Install => "Install complete".to_owned(),
        ReleaseAction::Upgrade => "Upgrade complete".to_owned(),
    };
    inputs
        .storage
        .update(&release)
        .await
        .map_err(storage_failure)?;
    supersede(inputs, report, plan.previous).await?;
    record_history(hr, report, &release);
    let max_history = usize::try_from(hr.spec.max_history()).unwrap_or(0);
    inputs
        .storage
        .prune(&inputs.release_name, max_history)
        .await
        .map_err(storage_failure)?;

    let (reason, past) = match action {
        ReleaseAction::Install => (reason::INSTALL_SUCCEEDED, "install succeeded"),
        ReleaseAction::Upgrade => (reason::UPGRADE_SUCCEEDED, "upgrade succeeded"),
    };
    let message = format!(
        "Helm {past} for release {subject}.v{} with chart {chart_ref}",
        release.version
    );
    report.released(true, reason, &message);
    report.status.install_failures = None;
    report.status.upgrade_failures = None;
    Ok(Done {
        reason: reason.to_owned(),
        message: message.clone(),
        event: Some((inputs.desired.chart_version.clone(), message)),
    })
}

fn record_history(hr: &HelmRelease, report: &mut Report, release: &Release) {
    let max = usize::try_from(hr.spec.max_history()).unwrap_or(0);
    let history = report.status.history.get_or_insert_with(Vec::new);
    storage::record(history, release, max);
}

fn count_failure(report: &mut Report, action: ReleaseAction) {
    let counter = match action {
        ReleaseAction::Install => &mut report.status.install_failures,
        ReleaseAction::Upgrade => &mut report.status.upgrade_failures,
    };
    *counter = Some(counter.unwrap_or(0) + 1);
}

/// The previously deployed revision becomes `superseded`.
async fn supersede(
    inputs: &Inputs,
    report: &mut Report,
    previous: Option<&Release>,
) -> Result<(), Failure> {
    let Some(previous) = previous else {
        return Ok(());
    };
    let mut previous = previous.clone();
    previous.info.status = Status::Superseded;
    previous.labels.clear();
    inputs
        .storage
        .update(&previous)
        .await
        .map_err(storage_failure)?;
    if let Some(history) = report.status.history.as_mut() {
        storage::mark(
            history,
            &previous.name,
            previous.version,
            Status::Superseded,
        );
    }
    Ok(())
}

async fn render_release(
    ctx: &Context,
    hr: &HelmRelease,
    inputs: &Inputs,
    plan: &Plan<'_>,
    target_namespace: &str,
) -> Result<render::Rendered, render::RenderError> {
    let capabilities = ctx.capabilities().await.map_err(|e| {
        render::RenderError::Chart(format!("cannot discover the cluster's capabilities: {e}"))
    })?;
    let release = ReleaseOptions {
        name: inputs.release_name.clone(),
        namespace: target_namespace.to_owned(),
        revision: i64::from(plan.version),
        is_install: plan.action == ReleaseAction::Install,
        is_upgrade: plan.action == ReleaseAction::Upgrade,
    };
    let skip_schema_validation = !plan.schema_validation;
    let (dir, values, hr, hooks_disabled) = (
        inputs.unpacked.dir.clone(),
        inputs.values.clone(),
        hr.clone(),
        plan.hooks_disabled,
    );
    tokio::task::spawn_blocking(move || {
        // Built here: the engine's function table is not `Send`.
        let options = TemplateOptions {
            release,
            capabilities,
            include_crds: false,
            skip_tests: false,
            skip_schema_validation,
            disable_hooks: hooks_disabled,
            extra_functions: Vec::new(),
        };
        let chart = render::load_chart(&dir).map_err(render::RenderError::Chart)?;
        render::render(chart, &values, &options, &hr, hooks_disabled)
    })
    .await
    .unwrap_or_else(|join| {
        Err(render::RenderError::Chart(format!(
            "render panicked: {join}"
        )))
    })
}

/// Applies the release to the cluster: namespace, CRDs, objects; deletes what the previous
/// release had and this one lacks; waits for health.
async fn deploy(
    ctx: &Context,
    hr: &HelmRelease,
    plan: &Plan<'_>,
    rendered: &render::Rendered,
    namespace: &str,
) -> Result<(), String> {
    let cluster = &ctx.cluster;
    let install = plan.action == ReleaseAction::Install;
    if install && hr.spec.install.as_ref().and_then(|i| i.create_namespace) == Some(true) {
        apply::ensure_namespace(cluster, namespace).await?;
    }
    if plan.crds != CrdPolicy::Skip && !rendered.crds.is_empty() {
        apply::apply_objects(cluster, &rendered.crds).await?;
    }
    let mut objects = rendered.objects.clone();
    apply::default_namespace(cluster, &mut objects, namespace).await;
    apply::apply_objects(cluster, &objects).await?;
    if let Some(previous) = plan.previous {
        let old = apply::manifest_objects(cluster, &previous.manifest, &previous.namespace).await;
        let keep: Vec<ObjectId> = objects.iter().map(ObjectId::of).collect();
        let failures = apply::delete_objects(cluster, &old, &keep).await;
        if !failures.is_empty() {
            return Err(failures.join("\n"));
        }
    }
    if plan.wait {
        apply::wait_healthy(cluster, &objects, plan.timeout, ctx.settings.health_poll).await?;
    }
    Ok(())
}

/// Rolls a failed upgrade back to the previous deployed revision: its manifest applied again
/// as a new revision.
async fn rollback(
    ctx: &Context,
    hr: &HelmRelease,
    api: &Api<HelmRelease>,
    report: &mut Report,
    inputs: &Inputs,
    failed: &Release,
) -> Result<(), Stop> {
    let history = inputs
        .storage
        .history(&inputs.release_name)
        .await
        .map_err(storage_failure)?;
    let Some(target) = release_state::rollback_target(&history, failed.version).cloned() else {
        let message = "no previous deployed release to roll back to";
        report.released(false, reason::MISSING_ROLLBACK_TARGET, message);
        return Ok(());
    };
    let version = history.last().map_or(failed.version, |r| r.version) + 1;
    report
        .progress(
            api,
            &format!("Running 'rollback' action to revision {}", target.version),
        )
        .await?;
    let mut release =
        storage::redeploy(&target, version, &format!("Rollback to {}", target.version));
    inputs
        .storage
        .create(&release)
        .await
        .map_err(storage_failure)?;
    let rollback = hr.spec.rollback.clone().unwrap_or_default();
    let cluster = &ctx.cluster;
    let objects = apply::manifest_objects(cluster, &target.manifest, &target.namespace).await;
    let mut outcome = apply::apply_objects(cluster, &objects).await.map(|_| ());
    if outcome.is_ok() {
        let old = apply::manifest_objects(cluster, &failed.manifest, &failed.namespace).await;
        let keep: Vec<ObjectId> = objects.iter().map(ObjectId::of).collect();
        let failures = apply::delete_objects(cluster, &old, &keep).await;
        if !failures.is_empty() {
            outcome = Err(failures.join("\n"));
        }
    }
    if outcome.is_ok() && rollback.disable_wait != Some(true) {
        let timeout = action_timeout(hr, rollback.timeout.as_deref());
        outcome = apply::wait_healthy(cluster, &objects, timeout, ctx.settings.health_poll).await;
    }
    let subject = format!("{}/{}", target.namespace, target.name);
    let (remediated_reason, message) = match &outcome {
        Ok(()) => {
            release.info.status = Status::Deployed;
            (
                reason::ROLLBACK_SUCCEEDED,
                format!(
                    "Helm rollback to previous release {subject}.v{} with chart {}@{} succeeded",
                    target.version, target.chart.metadata.name, target.chart.metadata.version
                ),
            )
        }
        Err(error) => {
            release.info.status = Status::Failed;
            (
                reason::ROLLBACK_FAILED,
                format!(
                    "Helm rollback to previous release {subject}.v{} failed: {error}",
                    target.version
                ),
            )
        }
    };
    inputs
        .storage
        .update(&release)
        .await
        .map_err(storage_failure)?;
    if outcome.is_ok() {
        let mut superseded = target.clone();
        superseded.info.status = Status::Superseded;
        superseded.labels.clear();
        inputs
            .storage
            .update(&superseded)
            .await
            .map_err(storage_failure)?;
    }
    record_history(hr, report, &release);
    let generation = report.generation;
    let status = if outcome.is_ok() {
        eddy_runtime::conditions::Status::True
    } else {
        eddy_runtime::conditions::Status::False
    };
    eddy_runtime::conditions::set(
        report.conditions(),
        "Remediated",
        status,
        remediated_reason,
        &message,
        generation,
    );
    let event = if outcome.is_ok() {
        Event::info(remediated_reason, message)
    } else {
        Event::error(remediated_reason, message)
    };
    publish(ctx, hr, event).await;
    Ok(())
}

/// Deletion: uninstall (unless suspended), then the HelmChart, then let go. A failed uninstall
/// keeps the finalizer and is retried.
pub async fn finalize(
    hr: &HelmRelease,
    ctx: &Context,
    api: &Api<HelmRelease>,
) -> Result<Action, Error> {
    if hr.spec.suspend != Some(true)
        && let Err(message) = uninstall(hr, ctx).await
    {
        publish(ctx, hr, Event::error(reason::UNINSTALL_FAILED, message)).await;
        let key = format!("{}/{}", hr.namespace().unwrap_or_default(), hr.name_any());
        return Ok(Action::requeue(ctx.failure_backoff.next_delay(&key)));
    }
    let helm_chart = hr
        .status
        .as_ref()
        .and_then(|s| s.helm_chart.clone())
        .filter(|_| hr.spec.chart.is_some());
    if let Some(helm_chart) = helm_chart
        && let Err(error) = chart_source::delete_helm_chart(ctx, &helm_chart).await
    {
        tracing::info!(%error, "failed to delete the HelmChart");
    }
    finalizer::release(api, hr)
        .await
        .map_err(|source| Error::Api {
            name: hr.name_any(),
            source,
        })?;
    Ok(Action::await_change())
}

/// Helm uninstall: the last release's objects, then every release record. A release that was
/// never stored is already uninstalled.
async fn uninstall(hr: &HelmRelease, ctx: &Context) -> Result<(), String> {
    let namespace = hr
        .status
        .as_ref()
        .and_then(|s| s.storage_namespace.clone())
        .or_else(|| hr.storage_namespace().map(str::to_owned))
        .unwrap_or_default();
    let storage = SecretStorage::new(ctx.client.clone(), &namespace);
    let name = release_name(hr);
    let history = storage.history(&name).await.map_err(|e| e.to_string())?;
    let Some(last) = history.last() else {
        return Ok(());
    };
    let objects = apply::manifest_objects(&ctx.cluster, &last.manifest, &last.namespace).await;
    let failures = apply::delete_objects(&ctx.cluster, &objects, &[]).await;
    if !failures.is_empty() {
        return Err(format!(
            "Helm uninstall failed for release {}/{name}: {}",
            last.namespace,
            failures.join("\n")
        ));
    }
    for release in &history {
        storage
            .delete(&name, release.version)
            .await
            .map_err(|e| e.to_string())?;
    }
    let message = format!(
        "Helm uninstall succeeded for release {}/{name}.v{}",
        last.namespace, last.version
    );
    publish(ctx, hr, Event::info(reason::UNINSTALL_SUCCEEDED, message)).await;
    Ok(())
}

/// `5m0s`: Go's duration text, as Flux's messages print timeouts.
fn humantime(duration: std::time::Duration) -> String {
    let total = duration.as_secs();
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_print_as_go_durations() {
        assert_eq!(humantime(std::time::Duration::from_secs(300)), "5m0s");
        assert_eq!(humantime(std::time::Duration::from_secs(45)), "45s");
        assert_eq!(humantime(std::time::Duration::from_secs(3725)), "1h2m5s");
    }
}
