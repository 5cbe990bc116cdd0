//! The kustomize-controller binary: parses flags and hands over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = kustomize_controller::Args::parse();
    let result = kustomize_controller::run(args).await;
    eddy_runtime::process::exit_code("kustomize-controller", result)
}
