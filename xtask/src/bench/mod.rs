//! `cargo xtask bench <what>`: speed and memory measurements.

#[derive(clap::Args)]
pub struct BenchArgs {
    /// What to measure.
    what: String,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("no benchmark named '{}' yet", args.what)
}
