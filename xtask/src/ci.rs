//! `cargo xtask ci`: every check and test.

#[derive(clap::Args)]
pub struct CiArgs {}

pub fn run(_args: CiArgs) -> anyhow::Result<()> {
    anyhow::bail!("ci is not implemented yet")
}
