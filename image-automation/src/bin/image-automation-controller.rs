//! The image-automation-controller binary: parses flags and runs the ImageUpdateAutomation
//! reconciler on the shared runtime.

use clap::Parser;
use eddy_image_automation::args::AutomationArgs;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = AutomationArgs::parse();
    let result = eddy_image_automation::automation::run::run(args).await;
    eddy_runtime::process::exit_code("image-automation-controller", result)
}
