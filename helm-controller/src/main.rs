//! The helm-controller binary. Until the Helm engine lands it reconciles no HelmRelease, and says
//! so: every HelmRelease is marked `Ready=False`, `Stalled=True`, reason `NotSupported`, rather
//! than left without status as if nothing watched it.

mod args;

use clap::Parser;
use eddy_api::helm::HelmRelease;
use eddy_runtime::{
    controller, process,
    unsupported::{
        flags::refuse_non_default,
        kind::{MarkerStartError, run_not_supported},
    },
};

const NAME: &str = "helm-controller";
/// The condition message every HelmRelease gets.
pub const NOT_RECONCILED: &str = "helm-controller does not reconcile HelmReleases yet";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = args::Args::parse();
    process::exit_code(NAME, run(args).await)
}

async fn run(args: args::Args) -> Result<(), MarkerStartError> {
    refuse_non_default(args.unread_flags())?;
    let process = process::start(NAME, &args.common).await?;
    let stop = controller::lead(&process, &args.common).await;
    let message = NOT_RECONCILED.to_owned();
    run_not_supported::<HelmRelease>(&process, &args.common, args.concurrent, message, stop).await;
    Ok(())
}
