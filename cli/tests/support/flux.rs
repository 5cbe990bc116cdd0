//! Builds the real `flux` CLI once, at the version pinned in `cli/flux-compat/go.mod`, into
//! `~/.cache/eddy/flux/<version>/flux` (or under `$XDG_CACHE_HOME`).
//!
//! `go build github.com/fluxcd/flux2/v2/cmd/flux` cannot work straight from the module cache:
//! `cmd/flux` embeds `manifests/*.yaml`, which Flux's release process generates and the module
//! does not contain. So the module's source (downloaded and checksum-verified through the pin's
//! go.sum) is copied to a scratch directory, given a placeholder manifest, and built there with
//! its own go.sum. The placeholder means `flux install` of this build has nothing to install;
//! the tests use `eddy install` instead.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Mutex,
};

use anyhow::{Context, bail};

const MODULE: &str = "github.com/fluxcd/flux2/v2";

/// One build at a time per test process; the atomic rename covers other processes.
static BUILD: Mutex<()> = Mutex::new(());

fn pin_dir() -> PathBuf {
    super::workspace().join("cli/flux-compat")
}

/// The version `require`d in the pin's go.mod, e.g. `v2.9.5`.
pub fn pinned_version() -> anyhow::Result<String> {
    let go_mod = std::fs::read_to_string(pin_dir().join("go.mod"))?;
    go_mod
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("require ")?
                .strip_prefix(MODULE)?
                .split_whitespace()
                .next()
                .map(str::to_string)
        })
        .context("cli/flux-compat/go.mod does not require github.com/fluxcd/flux2/v2")
}

fn cache_root() -> anyhow::Result<PathBuf> {
    if let Some(cache) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(cache).join("eddy/flux"));
    }
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(PathBuf::from(home).join(".cache/eddy/flux"))
}

/// The path of a working `flux` binary, building it first when the cache has none.
pub fn binary() -> anyhow::Result<PathBuf> {
    let _guard = BUILD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let version = pinned_version()?;
    let dir = cache_root()?.join(&version);
    let binary = dir.join("flux");
    if runs(&binary) {
        return Ok(binary);
    }
    std::fs::create_dir_all(&dir)?;
    let source = download(&version)?;
    let scratch = dir.join(format!("src.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    run(
        Command::new("cp").arg("-R").arg(&source).arg(&scratch),
        "copy the flux2 module",
    )?;
    run(
        Command::new("chmod").arg("-R").arg("u+w").arg(&scratch),
        "make the copy writable",
    )?;
    let manifests = scratch.join("cmd/flux/manifests");
    std::fs::create_dir_all(&manifests)?;
    std::fs::write(
        manifests.join("placeholder.yaml"),
        "# Built for Eddy's compatibility tests: no Flux manifests embedded; use `eddy install`.\n",
    )?;
    let partial = dir.join(format!("flux.{}.partial", std::process::id()));
    let log = dir.join("build.log");
    let log_file = std::fs::File::create(&log)?;
    let status = Command::new("go")
        .current_dir(&scratch)
        .args(["build", "-trimpath", "-ldflags"])
        .arg(format!(
            "-X main.VERSION={}",
            version.trim_start_matches('v')
        ))
        .arg("-o")
        .arg(&partial)
        .arg("./cmd/flux")
        .env("GOWORK", "off")
        .env("GOFLAGS", "-mod=readonly -buildvcs=false")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .status()
        .context("cannot run `go build`; is Go installed?")?;
    let _ = std::fs::remove_dir_all(&scratch);
    if !status.success() {
        let _ = std::fs::remove_file(&partial);
        bail!("building flux failed; see {}", log.display());
    }
    std::fs::rename(&partial, &binary)?;
    if !runs(&binary) {
        bail!("the freshly built {} does not run", binary.display());
    }
    Ok(binary)
}

/// Downloads (or finds in the module cache) the pinned flux2 module, verified against the
/// pin's go.sum, and returns its source directory.
fn download(version: &str) -> anyhow::Result<PathBuf> {
    let output = Command::new("go")
        .current_dir(pin_dir())
        .args(["mod", "download", "-json", MODULE])
        .env("GOWORK", "off")
        .env("GOFLAGS", "-mod=readonly")
        .output()
        .context("cannot run `go mod download`; is Go installed?")?;
    if !output.status.success() {
        bail!(
            "go mod download {MODULE} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let info: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    if info["Version"] != version {
        bail!(
            "go mod download returned {} instead of {version}",
            info["Version"]
        );
    }
    let dir = info["Dir"]
        .as_str()
        .context("go mod download did not name a directory")?;
    Ok(PathBuf::from(dir))
}

fn runs(binary: &Path) -> bool {
    Command::new(binary)
        .args(["version", "--client"])
        .output()
        .is_ok_and(|output| output.status.success())
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("cannot {what}"))?;
    if !status.success() {
        bail!("cannot {what}: {status}");
    }
    Ok(())
}

/// Runs `flux` with `KUBECONFIG` pointing at the testenv.
pub fn flux(kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    Command::new(binary().unwrap())
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap()
}
