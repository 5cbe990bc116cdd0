//! `eddy`: the command-line tool for Eddy (and, where it makes sense, for Flux clusters too).

mod kustomize;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "eddy",
    version,
    about = "GitOps for Kubernetes, compatible with Flux"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with Kustomize overlays locally, without a cluster.
    Kustomize(kustomize::KustomizeArgs),
    /// Print a shell completion script.
    Completion {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::Kustomize(args) => kustomize::run(args),
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "eddy", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("✗ {error:#}");
            ExitCode::FAILURE
        }
    }
}
