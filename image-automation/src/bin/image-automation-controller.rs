//! The image-automation-controller binary: parses flags and hands over to the shared runtime.

use clap::Parser;
use eddy_image_automation::args::AutomationArgs;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = AutomationArgs::parse();
    let result = eddy_runtime::process::run_idle("image-automation-controller", &args.common).await;
    eddy_runtime::process::exit_code("image-automation-controller", result)
}
