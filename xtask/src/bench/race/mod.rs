//! `cargo xtask bench race`: Eddy's source- and kustomize-controller against Flux's own, on the
//! same control plane, the same Git repository and the same N Kustomizations, one fleet after the
//! other. See README.md in this directory for what is measured and how to read it.

mod apiserver;
mod control_plane;
mod fleet;
mod flux;
mod phases;
mod report;
mod wait;
mod workload;

use std::time::Duration;

use clap::Parser;

use self::{
    control_plane::ControlPlane,
    fleet::{FleetBinaries, FleetSettings, Implementation},
    phases::{RaceContext, run_fleet},
    report::RaceReport,
    workload::Workload,
};
use super::process::build_controllers;

#[derive(Parser, Debug)]
#[command(name = "cargo xtask bench race")]
struct RaceArgs {
    /// How many Kustomizations (apps) each fleet reconciles.
    #[arg(long, default_value_t = 100)]
    objects: usize,
    /// `--concurrent` of every controller of both fleets.
    #[arg(long, default_value_t = 4)]
    concurrent: usize,
    /// Length of the idle phase.
    #[arg(long, default_value_t = 180)]
    idle_seconds: u64,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 1800)]
    timeout_secs: u64,
    /// Race on the shared testenv instead of a private control plane (its API request counts
    /// then include every other client's).
    #[arg(long)]
    shared_testenv: bool,
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let args =
        RaceArgs::try_parse_from(std::iter::once("race".to_owned()).chain(rest.iter().cloned()))?;
    let flux_binaries = flux::binaries()?;
    let flux = FleetBinaries {
        implementation: Implementation::Flux,
        source_controller: flux_binaries[0].path.clone(),
        kustomize_controller: flux_binaries[1].path.clone(),
        versions: flux_binaries
            .iter()
            .map(|b| format!("{} {}", b.name, b.version))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let eddy_binaries = build_controllers(&["source-controller", "kustomize-controller"], false)?;
    let [source_controller, kustomize_controller] = <[_; 2]>::try_from(eddy_binaries)
        .map_err(|_| anyhow::anyhow!("cargo build returned the wrong number of binaries"))?;
    let eddy = FleetBinaries {
        implementation: Implementation::Eddy,
        source_controller,
        kustomize_controller,
        versions: format!("release build of {}", workspace_commit()),
    };
    let control_plane = if args.shared_testenv {
        ControlPlane::shared()?
    } else {
        println!("starting a private control plane for the race");
        ControlPlane::private()?
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(race(&args, &control_plane, &flux, &eddy))?;
    drop(control_plane);
    println!();
    print!("{}", report::table(&report));
    let json = report::write_json(&report)?;
    println!("raw figures: {}", json.display());
    println!("{}", report::summary_line(&report));
    Ok(())
}

async fn race(
    args: &RaceArgs,
    control_plane: &ControlPlane,
    flux: &FleetBinaries,
    eddy: &FleetBinaries,
) -> anyhow::Result<RaceReport> {
    let client = eddy_testenv::client(control_plane.kubeconfig()).await?;
    eddy_test_support::install_crds(&client).await?;
    let workload = Workload::start(args.objects).await?;
    let settings = FleetSettings {
        concurrent: args.concurrent,
        requeue_dependency: "5s".to_owned(),
    };
    let context = RaceContext {
        client: &client,
        kubeconfig: control_plane.kubeconfig(),
        workload: &workload,
        settings: &settings,
        idle: Duration::from_secs(args.idle_seconds),
        timeout: Duration::from_secs(args.timeout_secs),
    };
    println!(
        "race: {} Kustomizations, --concurrent {}, idle {} s, {} control plane",
        args.objects,
        args.concurrent,
        args.idle_seconds,
        control_plane.describe()
    );
    println!("Flux: {}", flux.versions);
    let flux_run = run_fleet(&context, flux, 1).await?;
    println!("Eddy: {}", eddy.versions);
    let eddy_run = run_fleet(&context, eddy, 3).await?;
    println!("raw server-side apply ceiling");
    let raw = raw_ssa(&client, args).await?;
    Ok(RaceReport {
        objects: args.objects,
        concurrent: args.concurrent,
        idle_seconds: args.idle_seconds,
        control_plane: control_plane.describe().to_owned(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        finished_at_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
        flux: flux_run,
        eddy: eddy_run,
        raw_ssa_seconds: raw,
    })
}

async fn raw_ssa(client: &kube::Client, args: &RaceArgs) -> anyhow::Result<f64> {
    let namespace = eddy_test_support::TestNamespace::new(client, "race-raw").await?;
    let figures = super::kustomize_controller::raw_apply(
        client,
        namespace.name(),
        args.objects,
        args.concurrent,
    )
    .await?;
    namespace.cleanup().await?;
    Ok(figures.seconds)
}

fn workspace_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(crate::workspace::root())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "an unknown commit".to_owned())
}
