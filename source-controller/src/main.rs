//! The source-controller binary: parses flags and hands over to the shared runtime.

mod args;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = args::Args::parse();
    let result = eddy_runtime::process::run_idle("source-controller", &args.common).await;
    eddy_runtime::process::exit_code("source-controller", result)
}
