//! `cargo xtask demo`: Eddy reconciling a Git repository end to end on a local control plane.
//!
//! Steps: start the testenv (built from source the first time), build the controllers and
//! `eddy`, install the CRDs, create a Git repository from `examples/config-repo` plus a
//! `clusters/demo` directory (the app's production and staging Kustomizations and an Alert whose
//! webhook prints into this terminal) served over HTTP with basic auth, run source-,
//! kustomize- and notification-controller as local processes (in-cluster Deployments cannot run
//! containers here), then `eddy bootstrap git --path clusters/demo` against the server — it
//! commits Flux's `flux-system` layout, installs the components and the sync objects — and
//! follow everything until it is Ready at the pushed revision. Then it keeps running until
//! Ctrl-C, unless `--exit-when-ready`.

mod bootstrap;
mod manifests;
mod processes;
mod progress;
mod repo;
mod webhook;

use std::{path::PathBuf, time::Instant};

use anyhow::Context;

use crate::workspace;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Stop (controllers and servers) as soon as everything is Ready; for scripts and CI.
    #[arg(long)]
    exit_when_ready: bool,
    /// Also stop the testenv when the demo ends.
    #[arg(long)]
    down: bool,
    /// How long to wait for everything to become Ready, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

impl DemoArgs {
    /// The options CI uses: stop as soon as everything is Ready, leave the testenv to the caller.
    pub fn scripted() -> Self {
        Self {
            exit_when_ready: true,
            down: false,
            timeout: 300,
        }
    }
}

/// Where the demo keeps its Git repositories, artifacts and controller logs.
fn demo_dir() -> PathBuf {
    workspace::root().join("target/demo")
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    progress::step("starting the local control plane (the first run builds it from source)");
    let kubeconfig = eddy_testenv::up().context("the testenv did not start")?;
    progress::step("building the controllers");
    processes::build_controllers()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(async_main(&args, &kubeconfig, started));
    if args.down {
        eddy_testenv::down().context("cannot stop the testenv")?;
        progress::note("testenv stopped");
    }
    result
}

async fn async_main(
    args: &DemoArgs,
    kubeconfig: &std::path::Path,
    started: Instant,
) -> anyhow::Result<()> {
    eddy_runtime::tls::install_crypto_provider();
    let client = eddy_testenv::client(kubeconfig)
        .await
        .context("cannot connect to the testenv")?;
    progress::step("installing Eddy's CRDs");
    let crds = eddy_test_support::install_crds(&client).await?;
    progress::note(&format!("{} CRDs established", crds.len()));

    let dir = demo_dir();
    let webhook = webhook::PrintingWebhook::start().await?;
    progress::step(&format!(
        "creating the Git repository from examples/config-repo and {}",
        manifests::CLUSTER_PATH
    ));
    let repository = repo::DemoRepository::create(&dir, &webhook.url()).await?;
    progress::note(&format!(
        "serving {} (working copy: {})",
        repository.url(),
        repository.working_copy().display()
    ));

    progress::step("starting source-controller, kustomize-controller and notification-controller");
    let controllers = processes::Controllers::start(&dir, kubeconfig).await?;

    progress::step("bootstrapping the cluster from the repository with eddy bootstrap git");
    let timeout = std::time::Duration::from_secs(args.timeout);
    let kubeconfig_path = kubeconfig.to_path_buf();
    let url = repository.url();
    // eddy blocks while it waits; the Git server and the webhook run on this runtime meanwhile.
    let bootstrapped =
        tokio::task::spawn_blocking(move || bootstrap::run(&kubeconfig_path, &url, timeout))
            .await
            .context("the bootstrap thread failed")?;
    if let Err(error) = bootstrapped {
        controllers.print_log_tails();
        return Err(error);
    }

    progress::step("waiting until the app's Kustomizations are Ready at the pushed revision");
    let ready = progress::wait_until_ready(&client, timeout).await;
    if let Err(error) = ready {
        controllers.print_log_tails();
        return Err(error);
    }
    progress::summary(&client, started, kubeconfig, &repository, &controllers).await?;
    if args.exit_when_ready {
        return Ok(());
    }
    progress::note("Eddy keeps reconciling; press Ctrl-C to stop the controllers and servers.");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    drop(controllers);
    drop(webhook);
    Ok(())
}
