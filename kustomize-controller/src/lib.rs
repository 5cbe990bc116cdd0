//! kustomize-controller: builds Kustomizations from source artifacts and applies them with
//! server-side apply, pruning what left the source and checking the health of what was applied.
//!
//! The reconciler is in [`controller::kustomization`]; artifacts are resolved, downloaded and
//! unpacked by the shared `eddy-artifact` crate; the build pipeline, apply policy and inventory
//! are the `eddy-kustomization` library the CLI shares (re-exported here under their module
//! names); what only a running controller does is here ([`prune`], [`dependencies`]).

mod args;
pub mod controller;
pub mod dependencies;
pub mod prune;

pub use eddy_kustomization::{
    apply, build, health, inventory, local_build, origin, sops, substitute, variables,
};

use std::sync::Arc;

pub use args::Args;
use eddy_runtime::{events::EventRecorder, process::ControllerProcess};
use tokio_util::sync::CancellationToken;

pub const CONTROLLER_NAME: &str = "kustomize-controller";

/// Why the controller stopped with an error (shared by the artifact consumers).
pub use eddy_runtime::process::ConsumerRunError as RunError;

/// Runs the controller process: start-up, leader election, the Kustomization reconciler.
pub async fn run(args: Args) -> Result<(), RunError> {
    eddy_runtime::unsupported::flags::refuse_non_default(args.unread_flags())?;
    let process = eddy_runtime::process::start(CONTROLLER_NAME, &args.common).await?;
    let config = kube::Config::infer().await.ok();
    let stop = eddy_runtime::controller::lead(&process, &args.common).await;
    run_with(&process, &args, config, stop).await
}

/// Runs the reconciler on an already started process until `stop` is cancelled (tests run the
/// controller in-process this way).
pub async fn run_with(
    process: &ControllerProcess,
    args: &Args,
    config: Option<kube::Config>,
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
        config,
        recorder,
        settings,
    )?);
    controller::run_controller(process, args, context, stop).await;
    Ok(())
}
