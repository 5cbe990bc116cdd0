//! helm-controller: installs, upgrades and uninstalls HelmReleases with the native Helm engine
//! (`eddy-helm`), keeping Helm's own release records (`eddy-helm-release`) so that the `helm`
//! CLI sees what Eddy released.
//!
//! The reconciler is [`controller::helmrelease`]; chart artifacts come through the shared
//! `eddy-artifact` crate, objects are applied with the server-side apply and kstatus health of
//! `eddy-kustomization`.

mod args;
pub mod controller;

use std::sync::Arc;

pub use args::Args;
use eddy_runtime::{events::EventRecorder, process::ControllerProcess};
use tokio_util::sync::CancellationToken;

pub const CONTROLLER_NAME: &str = "helm-controller";

/// Why the controller stopped with an error (shared by the artifact consumers).
pub use eddy_runtime::process::ConsumerRunError as RunError;

/// Runs the controller process: start-up, leader election, the HelmRelease reconciler.
pub async fn run(args: Args) -> Result<(), RunError> {
    eddy_runtime::unsupported::flags::refuse_non_default(args.unread_flags())?;
    let process = eddy_runtime::process::start(CONTROLLER_NAME, &args.common).await?;
    let stop = eddy_runtime::controller::lead(&process, &args.common).await;
    run_with(&process, &args, stop).await
}

/// Runs the reconciler on an already started process until `stop` is cancelled (tests run the
/// controller in-process this way).
pub async fn run_with(
    process: &ControllerProcess,
    args: &Args,
    stop: CancellationToken,
) -> Result<(), RunError> {
    let recorder = EventRecorder::new(
        process.client.clone(),
        CONTROLLER_NAME,
        &args.common.events_addr,
    )?;
    let settings = controller::Settings::from_args(args);
    let context = Arc::new(controller::Context::new(
        process.client.clone(),
        recorder,
        settings,
    )?);
    controller::run_controller(process, args, context, stop).await;
    Ok(())
}
