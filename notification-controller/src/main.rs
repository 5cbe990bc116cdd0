//! The notification-controller binary: parses flags and runs the controller.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = notification_controller::Args::parse();
    let result = notification_controller::run(args).await;
    eddy_runtime::process::exit_code(notification_controller::NAME, result)
}
