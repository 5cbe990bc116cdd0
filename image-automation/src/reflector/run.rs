//! Runs image-reflector-controller's two reconcilers on the shared runtime: ImageRepository
//! scans, and ImagePolicy evaluation re-triggered whenever a repository's status changes.

use std::sync::Arc;

use eddy_api::image::{ImagePolicy, ImageRepository};
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

use super::{imagepolicy, imagerepository, storage::TagStore};
use crate::args::ReflectorArgs;

pub const NAME: &str = "image-reflector-controller";

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Events(#[from] EventError),
    #[error(transparent)]
    Flags(#[from] eddy_runtime::unsupported::flags::UnsupportedFlags),
    #[error("cannot build the registry HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Runs the controller until it is asked to stop (the binary's entry point).
pub async fn run(args: ReflectorArgs) -> Result<(), RunError> {
    eddy_runtime::unsupported::flags::refuse_non_default(args.unread_flags())?;
    run_with_client(args, None).await
}

/// [`run`] with a given client instead of one from the environment (tests).
pub async fn run_with_client(
    args: ReflectorArgs,
    client: Option<kube::Client>,
) -> Result<(), RunError> {
    let process = Arc::new(process::start_with_client(NAME, &args.common, client).await?);
    let stop = eddy_runtime::controller::lead(&process, &args.common).await;
    run_reconcilers(process, args, stop).await
}

/// Both reconcilers on a started process, until `stop` is cancelled (tests run this in-process).
pub async fn run_reconcilers(
    process: Arc<ControllerProcess>,
    args: ReflectorArgs,
    stop: CancellationToken,
) -> Result<(), RunError> {
    let store = Arc::new(TagStore::new(args.storage_path.clone()));
    let backoff = || Backoff::new(args.common.min_retry_delay, args.common.max_retry_delay);
    let http = reqwest::Client::builder().build()?;
    let repositories = Arc::new(imagerepository::Context {
        client: process.client.clone(),
        recorder: EventRecorder::new(process.client.clone(), NAME, &args.common.events_addr)?,
        failure_backoff: backoff(),
        http: http.clone(),
        store: store.clone(),
    });
    let policies = Arc::new(imagepolicy::Context {
        client: process.client.clone(),
        recorder: EventRecorder::new(process.client.clone(), NAME, &args.common.events_addr)?,
        failure_backoff: backoff(),
        store,
        http: http.clone(),
        no_cross_namespace_refs: args.common.no_cross_namespace_refs,
    });
    let repository_api: Api<ImageRepository> = Api::all(process.client.clone());
    let on_repository_change: eddy_runtime::controller::Customize<ImagePolicy> =
        Box::new(move |controller: Controller<ImagePolicy>| {
            let policies = controller.store();
            controller.watches(
                repository_api,
                watcher::Config::default(),
                move |repository| {
                    let namespace = repository.namespace();
                    let name = repository.name_any();
                    policies
                        .state()
                        .iter()
                        .filter(|policy| {
                            let reference = &policy.spec.image_repository_ref;
                            reference.name == name
                                && reference.namespace.clone().or_else(|| policy.namespace())
                                    == namespace
                        })
                        .map(|policy| ObjectRef::from_obj(policy.as_ref()))
                        .collect::<Vec<_>>()
                },
            )
        });
    tokio::join!(
        eddy_runtime::controller::run::<ImageRepository, _, _, _, _>(
            &process,
            &args.common,
            args.concurrent,
            repositories,
            imagerepository::reconcile,
            None,
            stop.clone(),
        ),
        eddy_runtime::controller::run::<ImagePolicy, _, _, _, _>(
            &process,
            &args.common,
            args.concurrent,
            policies,
            imagepolicy::reconcile,
            Some(on_repository_change),
            stop,
        ),
    );
    Ok(())
}
