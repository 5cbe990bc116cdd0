//! The helm-controller binary: parses flags and hands over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = helm_controller::Args::parse();
    let result = helm_controller::run(args).await;
    eddy_runtime::process::exit_code(helm_controller::CONTROLLER_NAME, result)
}
