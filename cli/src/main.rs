//! `eddy`: the command-line tool for Eddy (and, where it makes sense, for Flux clusters too).
//!
//! Commands mirror the `flux` CLI's names, flags and output, so instructions written for one
//! work with the other.

mod cluster;
mod commands;
mod helm;
mod kustomize;
mod manifests;
mod output;
mod wait;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use commands::{
    bootstrap, build, check, create, diff, events, export, get, image, install, reconcile, suspend,
    tree, uninstall,
};

#[derive(Parser)]
#[command(
    name = "eddy",
    version,
    about = "GitOps for Kubernetes, compatible with Flux"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    connection: cluster::ConnectionArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Install the CRDs and controllers (or print them with --export).
    Install(install::InstallArgs),
    /// Keep the components and sync objects in Git, install them, and sync the cluster from Git.
    Bootstrap(bootstrap::BootstrapArgs),
    /// Check the cluster's prerequisites and the installed controllers.
    Check(check::CheckArgs),
    /// List objects of a kind with their revision and Ready status.
    Get(get::GetArgs),
    /// Ask a controller to reconcile an object now, and wait for it.
    Reconcile(reconcile::ReconcileArgs),
    /// Stop reconciling objects until resumed.
    Suspend(suspend::SuspendArgs),
    /// Reconcile suspended objects again, and wait until they are Ready.
    Resume(suspend::SuspendArgs),
    /// Create or update a source or Kustomization.
    Create(create::CreateArgs),
    /// Print objects as YAML to keep in Git.
    Export(export::ExportArgs),
    /// Show the Kubernetes events the controllers recorded.
    Events(events::EventsArgs),
    /// Show what a Kustomization applied.
    Tree(tree::TreeArgs),
    /// Build a local directory as the controller would (`build kustomization NAME --path DIR`).
    Build(build::BuildArgs),
    /// Compare a local directory with the cluster (`diff kustomization NAME --path DIR`);
    /// exits 1 when something would change.
    Diff(diff::DiffArgs),
    /// Image automation beyond Flux: `image release NAME` lifts the holds an
    /// ImageUpdateAutomation keeps after a manual change in Git.
    Image(image::ImageArgs),
    /// Remove the controllers, CRDs and every object of their kinds.
    Uninstall(uninstall::UninstallArgs),
    /// Work with Helm charts locally, without a cluster (`helm template NAME CHART`).
    Helm(helm::HelmArgs),
    /// Work with Kustomize overlays locally, without a cluster.
    Kustomize(kustomize::KustomizeArgs),
    /// Print a shell completion script.
    Completion {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    quiet_panics();
    let matches = parse_command_line();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let result = match cli.command {
        Command::Helm(args) => {
            let namespace = explicit_namespace(&matches, &cli.connection);
            return helm::run(args, namespace);
        }
        Command::Kustomize(args) => kustomize::run(args),
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "eddy", &mut std::io::stdout());
            Ok(())
        }
        command => run_against_cluster(command, &cli.connection),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("✗ {error:#}");
            commands::diff::exit_code(&error).map_or(ExitCode::FAILURE, ExitCode::from)
        }
    }
}

/// Clap's own usage errors exit 2, but `eddy helm` mirrors `helm`, whose usage errors exit 1.
fn parse_command_line() -> clap::ArgMatches {
    match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => {
            let helm = std::env::args().nth(1).is_some_and(|a| a == "helm");
            if helm && error.use_stderr() {
                let _ = error.print();
                std::process::exit(1);
            }
            error.exit()
        }
    }
}

/// The global `-n/--namespace` when the user gave it (flag or not), not its Flux default.
fn explicit_namespace(
    matches: &clap::ArgMatches,
    connection: &cluster::ConnectionArgs,
) -> Option<String> {
    let mut current = matches;
    while let Some((_, sub)) = current.subcommand() {
        current = sub;
    }
    matches!(
        current.value_source("namespace"),
        Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
    )
    .then(|| connection.namespace.clone())
}

/// No stack traces for users: a closed pipe (`eddy get … | head`) ends the program quietly with
/// the status a SIGPIPE would give, and any other panic becomes a one-line report.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        if message.contains("Broken pipe") {
            std::process::exit(141);
        }
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("✗ internal error{location}: {message}; please report this as a bug");
    }));
}

fn run_against_cluster(
    command: Command,
    connection: &cluster::ConnectionArgs,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async {
        match command {
            Command::Install(args) => install::run(args, connection).await,
            Command::Bootstrap(args) => bootstrap::run(args, connection).await,
            Command::Check(args) => check::run(args, connection).await,
            Command::Get(args) => get::run(args, connection).await,
            Command::Reconcile(args) => reconcile::run(args, connection).await,
            Command::Suspend(args) => suspend::run(args, true, connection).await,
            Command::Resume(args) => suspend::run(args, false, connection).await,
            Command::Create(args) => create::run(args, connection).await,
            Command::Export(args) => export::run(args, connection).await,
            Command::Events(args) => events::run(args, connection).await,
            Command::Tree(args) => tree::run(args, connection).await,
            Command::Build(args) => build::run(args, connection).await,
            Command::Diff(args) => diff::run(args, connection).await,
            Command::Image(args) => image::run(args, connection).await,
            Command::Uninstall(args) => uninstall::run(args, connection).await,
            Command::Helm(_) | Command::Kustomize(_) | Command::Completion { .. } => Ok(()),
        }
    })
}
