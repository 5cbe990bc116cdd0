//! `cargo xtask demo`: Eddy end to end on a local control plane.

#[derive(clap::Args)]
pub struct DemoArgs {}

pub fn run(_args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("demo is not implemented yet")
}
