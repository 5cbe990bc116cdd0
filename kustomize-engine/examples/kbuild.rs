//! `kbuild DIR [--load-restrictor none] [--reorder=none]`: prints what the engine builds, for comparing with kubectl.
//!
//! `kbuild --time DIR...`: builds every directory once in this one process, discards the output and
//! prints the nanoseconds spent building (process start-up excluded), for `cargo xtask bench
//! kustomize`. A failing build (an error case of the corpus) counts like a successful one.

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--time") {
        return time_builds(&args[1..]);
    }
    let Some(dir) = args.first() else {
        eprintln!(
            "usage: kbuild DIR [--load-restrictor none] [--reorder=none] | kbuild --time DIR..."
        );
        return ExitCode::from(2);
    };
    let load_restrictions = if args.iter().any(|a| a == "none") {
        eddy_kustomize::LoadRestrictions::None
    } else {
        eddy_kustomize::LoadRestrictions::RootOnly
    };
    let reorder = if args.iter().any(|a| a == "--reorder=none") {
        eddy_kustomize::Reorder::None
    } else {
        eddy_kustomize::Reorder::Legacy
    };
    // Like kubectl, with no outer root: this tool compares the engine with it by hand.
    let mut options = eddy_kustomize::BuildOptions::unconfined();
    options.load_restrictions = load_restrictions;
    options.reorder = reorder;
    match eddy_kustomize::build(std::path::Path::new(dir), &options) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("Error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn time_builds(dirs: &[String]) -> ExitCode {
    let options = eddy_kustomize::BuildOptions::unconfined();
    let started = Instant::now();
    let mut bytes = 0usize;
    for dir in dirs {
        // The output length keeps the optimiser from dropping the work.
        bytes += eddy_kustomize::build(std::path::Path::new(dir), &options)
            .map(|text| text.len())
            .unwrap_or(0);
    }
    let nanos = started.elapsed().as_nanos();
    println!("{nanos} {bytes}");
    ExitCode::SUCCESS
}
