//! `cargo xtask`: the developer tasks of the Eddy workspace.
//!
//! Every check CI runs is reachable from here, so `cargo xtask ci` on a laptop and `.ci/run` on a
//! fresh machine do the same thing.

mod bench;
mod boundaries;
mod ci;
mod crds;
mod demo;
mod testenv;
mod workspace;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Eddy's developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Write the CustomResourceDefinitions to config/crd/bases (or check they are current).
    Crds(crds::CrdsArgs),
    /// Build, start, stop or inspect the local Kubernetes control plane used by tests and the demo.
    Testenv(testenv::TestenvArgs),
    /// Run every check and test, as CI does.
    Ci(ci::CiArgs),
    /// Start a local control plane with Eddy on it and reconcile a sample repository end to end.
    Demo(demo::DemoArgs),
    /// Measure speed and memory.
    Bench(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Crds(args) => crds::run(args),
        Task::Testenv(args) => testenv::run(args),
        Task::Ci(args) => ci::run(args),
        Task::Demo(args) => demo::run(args),
        Task::Bench(args) => bench::run(args),
    }
}
