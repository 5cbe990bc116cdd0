//! `kbuild DIR [--load-restrictor none] [--reorder=none]`: prints what the engine builds, for comparing with kubectl.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: kbuild DIR [--load-restrictor none] [--reorder=none]");
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
    let options = eddy_kustomize::BuildOptions {
        load_restrictions,
        reorder,
    };
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
