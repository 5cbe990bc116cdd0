//! The image-reflector-controller binary. Until registry scanning lands it marks every
//! ImageRepository and ImagePolicy `NotSupported` instead of leaving them without status.

use clap::Parser;
use eddy_api::image::{ImagePolicy, ImageRepository};
use eddy_image_automation::{NOT_REFLECTED, args::ReflectorArgs};
use eddy_runtime::{
    controller, process,
    unsupported::{
        flags::refuse_non_default,
        kind::{MarkerStartError, run_not_supported},
    },
};

const NAME: &str = "image-reflector-controller";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = ReflectorArgs::parse();
    process::exit_code(NAME, run(args).await)
}

async fn run(args: ReflectorArgs) -> Result<(), MarkerStartError> {
    refuse_non_default(args.unread_flags())?;
    let process = process::start(NAME, &args.common).await?;
    let stop = controller::lead(&process, &args.common).await;
    let (common, concurrent) = (&args.common, args.concurrent);
    tokio::join!(
        run_not_supported::<ImageRepository>(
            &process,
            common,
            concurrent,
            NOT_REFLECTED.to_owned(),
            stop.clone()
        ),
        run_not_supported::<ImagePolicy>(
            &process,
            common,
            concurrent,
            NOT_REFLECTED.to_owned(),
            stop
        ),
    );
    Ok(())
}
