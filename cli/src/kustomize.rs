//! `eddy kustomize build DIR`: the native engine, printing what `kubectl kustomize DIR` prints.

use std::{io::Write, path::PathBuf};

use anyhow::Context;

#[derive(clap::Args)]
pub struct KustomizeArgs {
    #[command(subcommand)]
    command: KustomizeCommand,
}

#[derive(clap::Subcommand)]
enum KustomizeCommand {
    /// Build a kustomization directory and print the resulting YAML stream.
    Build {
        /// The directory holding kustomization.yaml (default: the current directory).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Which files a kustomization may load: only below its root (kubectl's default), or any
        /// (Flux's behaviour).
        #[arg(long, value_parser = ["LoadRestrictionsRootOnly", "LoadRestrictionsNone"], default_value = "LoadRestrictionsRootOnly")]
        load_restrictor: String,
    },
}

pub fn run(args: KustomizeArgs) -> anyhow::Result<()> {
    match args.command {
        KustomizeCommand::Build {
            dir,
            load_restrictor,
        } => {
            let restrictions = if load_restrictor == "LoadRestrictionsNone" {
                eddy_kustomize::LoadRestrictions::None
            } else {
                eddy_kustomize::LoadRestrictions::RootOnly
            };
            // `kubectl kustomize` has no outer root, and this command mimics it.
            let mut options = eddy_kustomize::BuildOptions::unconfined();
            options.load_restrictions = restrictions;
            let output = eddy_kustomize::build(&dir, &options)
                .with_context(|| format!("kustomize build {} failed", dir.display()))?;
            std::io::stdout()
                .write_all(output.as_bytes())
                .context("cannot write to stdout")?;
            Ok(())
        }
    }
}
