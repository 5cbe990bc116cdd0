//! `cargo xtask ci`: every check and test, in the order that fails fastest.
//!
//! Formatting and generated-file checks take seconds, clippy a few minutes, and the integration
//! tests need the testenv (whose first start builds Kubernetes from source), so they run last.

use std::{process::Command, time::Instant};

use anyhow::{Context, bail};

use crate::workspace;

#[derive(clap::Args)]
pub struct CiArgs {
    /// Leave the testenv running afterwards (faster re-runs while developing).
    #[arg(long)]
    keep_testenv: bool,
}

pub fn run(args: CiArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    step("cargo fmt --check", || cargo(&["fmt", "--all", "--check"]))?;
    step("generated CRDs are current", || {
        cargo(&["xtask", "crds", "--check"])
    })?;
    step(
        "no shipped crate links another controller",
        crate::boundaries::check,
    )?;
    step("cargo clippy", || {
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
    })?;
    let kubeconfig = step("testenv up", || {
        eddy_testenv::up().context("the testenv did not start; see the message above")
    })?;
    let tests = step(
        "cargo test (unit and integration, against the testenv)",
        || {
            cargo_with_env(
                &["test", "--workspace", "--all-targets", "--no-fail-fast"],
                &[("KUBECONFIG", kubeconfig.as_os_str())],
            )
        },
    );
    let demo = match &tests {
        Ok(()) => step(
            "cargo xtask demo --exit-when-ready (the README's first command)",
            || crate::demo::run(crate::demo::DemoArgs::scripted()),
        ),
        Err(_) => Ok(()),
    };
    if !args.keep_testenv
        && let Err(error) = eddy_testenv::down()
    {
        eprintln!("warning: stopping the testenv failed: {error}");
    }
    tests?;
    demo?;
    eprintln!("ci: everything passed in {:.0?}", started.elapsed());
    Ok(())
}

fn step<T>(name: &str, run: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    eprintln!("==> {name}");
    let started = Instant::now();
    let result = run().with_context(|| format!("ci step failed: {name}"));
    eprintln!(
        "<== {name} ({:.1?}, {})",
        started.elapsed(),
        if result.is_ok() { "ok" } else { "FAILED" }
    );
    result
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    cargo_with_env(args, &[])
}

fn cargo_with_env(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(workspace::root());
    for (key, value) in env {
        command.env(key, value);
    }
    let status = command
        .status()
        .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} exited with {status}", args.join(" "));
    }
    Ok(())
}
