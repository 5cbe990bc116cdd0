//! What every controller benchmark shares: building the binary, running it against the testenv,
//! and reading its CPU time and peak memory from `/proc`.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use anyhow::{Context, bail};

/// Label that confines a benchmark's controller to the objects of one run
/// (`--watch-label-selector`), so leftovers of other runs and tests are not measured.
pub const RUN_LABEL: &str = "bench.eddy.dev/run";

/// What one phase cost.
pub struct Figures {
    pub seconds: f64,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
}

/// Builds `package` (release unless `debug`) and returns the path of its binary.
pub fn build_controller(package: &str, debug: bool) -> anyhow::Result<PathBuf> {
    let mut binaries = build_controllers(&[package], debug)?;
    binaries.pop().context("cargo build returned no binary")
}

/// Builds `packages` in one cargo invocation (so their dependencies' features are unified once,
/// not rebuilt per package) and returns the paths of their binaries, in order.
pub fn build_controllers(packages: &[&str], debug: bool) -> anyhow::Result<Vec<PathBuf>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.arg("build");
    for package in packages {
        command.args(["-p", package]);
    }
    if !debug {
        command.arg("--release");
    }
    let status = command
        .current_dir(crate::workspace::root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building {} failed", packages.join(", "));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace::root().join("target"));
    let profile = target.join(if debug { "debug" } else { "release" });
    Ok(packages
        .iter()
        .map(|package| profile.join(package))
        .collect())
}

/// A controller process under measurement, talking to the testenv; killed by `stop`.
pub struct MeasuredProcess {
    name: String,
    child: Child,
}

impl MeasuredProcess {
    /// Starts `binary` with `args` against the shared testenv, its output going to `log`.
    pub fn spawn(binary: &Path, args: &[String], log: &Path) -> anyhow::Result<Self> {
        let kubeconfig = eddy_testenv::kubeconfig_path()?;
        Self::spawn_with_kubeconfig(binary, args, log, &kubeconfig)
    }

    /// Starts `binary` with `args` against the cluster of `kubeconfig`, its output going to `log`.
    pub fn spawn_with_kubeconfig(
        binary: &Path,
        args: &[String],
        log: &Path,
        kubeconfig: &Path,
    ) -> anyhow::Result<Self> {
        let log = std::fs::File::create(log)?;
        let child = Command::new(binary)
            .env("KUBECONFIG", kubeconfig)
            .args(args)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self { name, child })
    }

    /// Fails when the process has exited (a benchmark must not wait for a dead controller).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early: {status}", self.name);
        }
        Ok(())
    }

    fn status_field_kib(&self, field: &str) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {field} in /proc status"))
    }

    /// The binary's file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The resident set now.
    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        Ok(self.status_field_kib("VmRSS:")? / 1024.0)
    }

    /// The kernel's high-water mark of the resident set since start (or the last reset).
    pub fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        Ok(self.status_field_kib("VmHWM:")? / 1024.0)
    }

    /// Starts a new high-water mark, so the next phase's peak is its own.
    pub fn reset_peak_rss(&self) -> anyhow::Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .context("cannot reset the peak RSS (/proc/<pid>/clear_refs)")
    }

    /// User plus system CPU time so far (clock ticks are 1/100 s on Linux).
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let after_name = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .context("malformed /proc stat")?;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |index: usize| -> anyhow::Result<f64> {
            Ok(fields
                .get(index)
                .context("short /proc stat")?
                .parse::<f64>()?)
        };
        Ok((ticks(11)? + ticks(12)?) / 100.0)
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
