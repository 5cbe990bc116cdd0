//! The image-reflector-controller binary: parses flags and hands over to the shared runtime.

use clap::Parser;
use eddy_image_automation::args::ReflectorArgs;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = ReflectorArgs::parse();
    let result = eddy_runtime::process::run_idle("image-reflector-controller", &args.common).await;
    eddy_runtime::process::exit_code("image-reflector-controller", result)
}
