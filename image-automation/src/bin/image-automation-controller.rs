//! The image-automation-controller binary. Until Git write-back lands it marks every
//! ImageUpdateAutomation `NotSupported` instead of leaving it without status.

use clap::Parser;
use eddy_api::image::ImageUpdateAutomation;
use eddy_image_automation::{NOT_AUTOMATED, args::AutomationArgs};
use eddy_runtime::{
    controller, process,
    unsupported::{
        flags::refuse_non_default,
        kind::{MarkerStartError, run_not_supported},
    },
};

const NAME: &str = "image-automation-controller";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = AutomationArgs::parse();
    process::exit_code(NAME, run(args).await)
}

async fn run(args: AutomationArgs) -> Result<(), MarkerStartError> {
    refuse_non_default(args.unread_flags())?;
    let process = process::start(NAME, &args.common).await?;
    let stop = controller::lead(&process, &args.common).await;
    let message = NOT_AUTOMATED.to_owned();
    run_not_supported::<ImageUpdateAutomation>(
        &process,
        &args.common,
        args.concurrent,
        message,
        stop,
    )
    .await;
    Ok(())
}
