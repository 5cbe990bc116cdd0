//! Runs `eddy bootstrap git` against the demo's Git server, as a user would.

use std::{path::Path, process::Command, time::Duration};

use anyhow::{Context, bail};

use super::manifests::{CLUSTER_PATH, GIT_PASSWORD, GIT_USERNAME};
use crate::workspace;

/// The `eddy` binary [`super::processes::build_controllers`] builds.
pub fn eddy_binary() -> std::path::PathBuf {
    workspace::root().join("target/debug/eddy")
}

/// Bootstraps the cluster from `url`; eddy's own progress and results go to this terminal.
pub fn run(kubeconfig: &Path, url: &str, timeout: Duration) -> anyhow::Result<()> {
    let timeout = format!("{}s", timeout.as_secs());
    let args = [
        "bootstrap",
        "git",
        "--url",
        url,
        "--branch",
        "main",
        "--path",
        CLUSTER_PATH,
        "--username",
        GIT_USERNAME,
        "--password",
        GIT_PASSWORD,
        // The demo's server is plain HTTP on the loopback interface.
        "--allow-insecure-http",
        "--silent",
        "--timeout",
        &timeout,
    ];
    super::progress::note(&format!(
        "eddy {}",
        args.join(" ").replace(GIT_PASSWORD, "***")
    ));
    let status = Command::new(eddy_binary())
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .status()
        .context("cannot run eddy")?;
    if !status.success() {
        bail!("eddy bootstrap git failed ({status})");
    }
    Ok(())
}
