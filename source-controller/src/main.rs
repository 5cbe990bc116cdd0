//! The source-controller binary: parses flags and hands over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = source_controller::args::Args::parse();
    let result = source_controller::run(args).await;
    eddy_runtime::process::exit_code("source-controller", result)
}
