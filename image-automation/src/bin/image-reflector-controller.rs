//! The image-reflector-controller binary: parses flags and runs the ImageRepository and
//! ImagePolicy reconcilers on the shared runtime.

use clap::Parser;
use eddy_image_automation::args::ReflectorArgs;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = ReflectorArgs::parse();
    let result = eddy_image_automation::reflector::run::run(args).await;
    eddy_runtime::process::exit_code("image-reflector-controller", result)
}
