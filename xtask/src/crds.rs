//! `cargo xtask crds [--check]`: CRD generation (placeholder; see the foundation issue).

#[derive(clap::Args)]
pub struct CrdsArgs {
    /// Fail when the files on disk differ from what would be generated, instead of writing them.
    #[arg(long)]
    check: bool,
}

pub fn run(args: CrdsArgs) -> anyhow::Result<()> {
    let _ = args.check;
    anyhow::bail!("CRD generation is not implemented yet")
}
