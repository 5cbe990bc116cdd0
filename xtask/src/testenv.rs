//! `cargo xtask testenv up|down|status|build`: the local control plane (see `testenv/README.md`).
//!
//! `up` prints the kubeconfig path as the last line of stdout, so scripts can do
//! `export KUBECONFIG=$(cargo xtask testenv up)`; everything else goes to stderr.

#[derive(clap::Args)]
pub struct TestenvArgs {
    /// up: start (or reuse) it and print the kubeconfig path; down: stop it and delete its data;
    /// status: say whether it runs; build: only build the cached binaries.
    #[arg(value_parser = ["up", "down", "status", "build"])]
    action: String,
}

pub fn run(args: TestenvArgs) -> anyhow::Result<()> {
    match args.action.as_str() {
        "up" => {
            let kubeconfig = eddy_testenv::up()?;
            println!("{}", kubeconfig.display());
        }
        "down" => {
            if eddy_testenv::down()? {
                eprintln!("testenv: stopped and removed");
            } else {
                eprintln!("testenv: nothing was running");
            }
        }
        "status" => match eddy_testenv::status()? {
            eddy_testenv::Status::Running { kubeconfig } => {
                eprintln!("testenv: running");
                println!("{}", kubeconfig.display());
            }
            eddy_testenv::Status::Stopped => eprintln!("testenv: not running"),
            eddy_testenv::Status::Broken { reason } => {
                anyhow::bail!(
                    "testenv is broken ({reason}); run `cargo xtask testenv up` to restart it or `down` to remove it"
                )
            }
        },
        "build" => {
            let bin_dir = eddy_testenv::build_binaries()?;
            eprintln!("testenv: binaries ready in {}", bin_dir.display());
        }
        other => anyhow::bail!("unknown testenv action {other}"),
    }
    Ok(())
}
