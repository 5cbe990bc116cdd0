//! `cargo xtask testenv up|down`: the local control plane (placeholder; see the testenv issue).

#[derive(clap::Args)]
pub struct TestenvArgs {
    #[arg(value_parser = ["up", "down", "status"])]
    action: String,
}

pub fn run(args: TestenvArgs) -> anyhow::Result<()> {
    anyhow::bail!("testenv {} is not implemented yet", args.action)
}
