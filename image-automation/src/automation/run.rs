//! Runs the ImageUpdateAutomation reconciler on the shared runtime. Besides its own changes and
//! the interval, an automation is reconciled when an ImagePolicy of its namespace changes (a new
//! `latestRef`) and when the GitRepository it pushes to changes (a new revision); the reconciler
//! itself skips the Git work when neither the policies nor the source moved.

use std::sync::Arc;

use eddy_api::{
    image::{ImagePolicy, ImageUpdateAutomation},
    source::GitRepository,
};
use eddy_runtime::{
    events::{EventError, EventRecorder},
    process::{self, ControllerProcess, StartError},
    requeue::Backoff,
};
use kube::{
    Api, ResourceExt,
    runtime::{Controller, reflector::ObjectRef, watcher},
};
use tokio_util::sync::CancellationToken;

use super::imageupdateautomation;
use crate::args::AutomationArgs;

pub const NAME: &str = "image-automation-controller";

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Events(#[from] EventError),
    #[error(transparent)]
    Flags(#[from] eddy_runtime::unsupported::flags::UnsupportedFlags),
}

/// Runs the controller until it is asked to stop (the binary's entry point).
pub async fn run(args: AutomationArgs) -> Result<(), RunError> {
    eddy_runtime::unsupported::flags::refuse_non_default(args.unread_flags())?;
    run_with_client(args, None).await
}

/// [`run`] with a given client instead of one from the environment (tests).
pub async fn run_with_client(
    args: AutomationArgs,
    client: Option<kube::Client>,
) -> Result<(), RunError> {
    let process = Arc::new(process::start_with_client(NAME, &args.common, client).await?);
    let stop = eddy_runtime::controller::lead(&process, &args.common).await;
    run_reconciler(process, args, stop).await
}

/// The reconciler on a started process, until `stop` is cancelled (tests run this in-process).
pub async fn run_reconciler(
    process: Arc<ControllerProcess>,
    args: AutomationArgs,
    stop: CancellationToken,
) -> Result<(), RunError> {
    let context = Arc::new(imageupdateautomation::Context {
        client: process.client.clone(),
        recorder: EventRecorder::new(process.client.clone(), NAME, &args.common.events_addr)?,
        failure_backoff: Backoff::new(args.common.min_retry_delay, args.common.max_retry_delay),
        no_cross_namespace_refs: args.common.no_cross_namespace_refs,
    });
    let policy_api: Api<ImagePolicy> = Api::all(process.client.clone());
    let source_api: Api<GitRepository> = Api::all(process.client.clone());
    let triggers: eddy_runtime::controller::Customize<ImageUpdateAutomation> =
        Box::new(move |controller: Controller<ImageUpdateAutomation>| {
            let by_policy = controller.store();
            let by_source = controller.store();
            controller
                .watches(policy_api, watcher::Config::default(), move |policy| {
                    let namespace = policy.namespace();
                    by_policy
                        .state()
                        .iter()
                        .filter(|automation| automation.namespace() == namespace)
                        .map(|automation| ObjectRef::from_obj(automation.as_ref()))
                        .collect::<Vec<_>>()
                })
                .watches(source_api, watcher::Config::default(), move |source| {
                    let namespace = source.namespace();
                    let name = source.name_any();
                    by_source
                        .state()
                        .iter()
                        .filter(|automation| {
                            let reference = &automation.spec.source_ref;
                            reference.name == name
                                && reference
                                    .namespace
                                    .clone()
                                    .or_else(|| automation.namespace())
                                    == namespace
                        })
                        .map(|automation| ObjectRef::from_obj(automation.as_ref()))
                        .collect::<Vec<_>>()
                })
        });
    eddy_runtime::controller::run::<ImageUpdateAutomation, _, _, _, _>(
        &process,
        &args.common,
        args.concurrent,
        context,
        imageupdateautomation::reconcile,
        Some(triggers),
        stop,
    )
    .await;
    Ok(())
}
