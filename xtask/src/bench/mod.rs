//! `cargo xtask bench <what>`: speed and memory measurements, reported as figures (never as
//! pass/fail assertions).

use anyhow::bail;

mod gotemplate;
mod helm;
mod helm_source;
mod image_automation;
mod image_reflector;
mod kustomize;
mod kustomize_controller;
mod process;
mod race;
mod source;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// What to measure.
    what: String,
    /// Extra arguments for the benchmark.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let _ = &args.rest;
    #[allow(clippy::match_single_binding, reason = "benchmarks add arms here")]
    match args.what.as_str() {
        "source" => source::run(&args.rest),
        "gotemplate" => gotemplate::run(&args.rest),
        "helm" => helm::run(&args.rest),
        "image-automation" => image_automation::run(&args.rest),
        "image-reflector" => image_reflector::run(&args.rest),
        "helm-source" => helm_source::run(&args.rest),
        "kustomize" => kustomize::run(&args.rest),
        "kustomize-controller" => kustomize_controller::run(&args.rest),
        "race" => race::run(&args.rest),
        other => bail!("no benchmark named '{other}'"),
    }
}
