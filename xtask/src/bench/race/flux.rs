//! Builds Flux's own controllers once, at the versions pinned in `xtask/race-tools/go.mod`, into
//! `~/.cache/eddy/race/<version>/<controller>` (or under `$XDG_CACHE_HOME`).
//!
//! `go build github.com/fluxcd/<controller>` cannot work from the tools module: a dependency's
//! `replace` directives are ignored, and each controller replaces its `api` module with `./api`,
//! a directory its published module does not contain. So the controller's source (downloaded and
//! checksum-verified through the pin's go.sum) is copied to a scratch directory, the pinned `api`
//! module is copied into its `./api`, and it is built there with its own go.mod and go.sum.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, bail};

/// The controllers of a Flux fleet, by binary (and module) name.
pub const CONTROLLERS: [&str; 2] = ["source-controller", "kustomize-controller"];

/// A Flux controller binary ready to run.
#[derive(Debug, Clone)]
pub struct FluxBinary {
    pub name: &'static str,
    pub version: String,
    pub path: PathBuf,
}

fn pin_dir() -> PathBuf {
    crate::workspace::root().join("xtask/race-tools")
}

fn module_of(controller: &str) -> String {
    format!("github.com/fluxcd/{controller}")
}

/// The version `module` is required at in a go.mod's text (single-line or block `require`).
pub fn required_version(go_mod: &str, module: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("require ").unwrap_or(line);
        let mut words = line.split_whitespace();
        (words.next() == Some(module))
            .then(|| words.next().map(str::to_owned))
            .flatten()
    })
}

fn pinned_version(controller: &str) -> anyhow::Result<String> {
    let path = pin_dir().join("go.mod");
    let go_mod = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    required_version(&go_mod, &module_of(controller)).with_context(|| {
        format!(
            "{} does not require {}",
            path.display(),
            module_of(controller)
        )
    })
}

fn cache_root() -> anyhow::Result<PathBuf> {
    if let Some(cache) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(cache).join("eddy/race"));
    }
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(PathBuf::from(home).join(".cache/eddy/race"))
}

/// Both Flux controllers, built first where the cache has none.
pub fn binaries() -> anyhow::Result<Vec<FluxBinary>> {
    CONTROLLERS.iter().map(|name| binary(name)).collect()
}

fn binary(name: &'static str) -> anyhow::Result<FluxBinary> {
    let version = pinned_version(name)?;
    let dir = cache_root()?.join(&version);
    let path = dir.join(name);
    if !path.is_file() {
        println!(
            "building Flux's {name} {version} with Go (once; cached in {})",
            dir.display()
        );
        build(name, &version, &dir, &path)?;
    }
    Ok(FluxBinary {
        name,
        version,
        path,
    })
}

fn build(name: &str, version: &str, dir: &Path, binary: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let module = module_of(name);
    let api_module = format!("{module}/api");
    let source = download(&module, version)?;
    let api_source = download(&api_module, version)?;
    let scratch = dir.join(format!("{name}-src.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    copy_writable(&source, &scratch)?;
    let api_dir = scratch.join("api");
    let _ = std::fs::remove_dir_all(&api_dir);
    copy_writable(&api_source, &api_dir)?;

    let partial = dir.join(format!("{name}.{}.partial", std::process::id()));
    let log = dir.join(format!("{name}-build.log"));
    let log_file = std::fs::File::create(&log)?;
    let status = Command::new("go")
        .current_dir(&scratch)
        .args(["build", "-trimpath", "-o"])
        .arg(&partial)
        .arg(".")
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
        bail!(
            "building Flux's {name} {version} failed; see {}",
            log.display()
        );
    }
    std::fs::rename(&partial, binary)?;
    Ok(())
}

/// Downloads (or finds in the module cache) `module` at `version`, verified against the pin's
/// go.sum, and returns its source directory.
fn download(module: &str, version: &str) -> anyhow::Result<PathBuf> {
    let output = Command::new("go")
        .current_dir(pin_dir())
        .args(["mod", "download", "-json", module])
        .env("GOWORK", "off")
        .env("GOFLAGS", "-mod=readonly")
        .output()
        .context("cannot run `go mod download`; is Go installed?")?;
    if !output.status.success() {
        bail!(
            "go mod download {module} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let info: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    if info["Version"] != version {
        bail!(
            "go mod download {module} returned {} instead of {version}",
            info["Version"]
        );
    }
    let dir = info["Dir"]
        .as_str()
        .with_context(|| format!("go mod download {module} did not name a directory"))?;
    Ok(PathBuf::from(dir))
}

/// Copies a (read-only) module directory and makes the copy writable, so it can be removed.
fn copy_writable(from: &Path, to: &Path) -> anyhow::Result<()> {
    run(
        Command::new("cp").arg("-R").arg(from).arg(to),
        "copy a Go module",
    )?;
    run(
        Command::new("chmod").arg("-R").arg("u+w").arg(to),
        "make the module copy writable",
    )
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("cannot {what}"))?;
    if !status.success() {
        bail!("cannot {what}: {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_MOD: &str = "module eddy.invalid/xtask/race-tools\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/fluxcd/kustomize-controller v1.9.5\n\tgithub.com/fluxcd/kustomize-controller/api v1.9.5\n\tgithub.com/fluxcd/source-controller v1.9.3\n)\n\nrequire example.com/single v0.1.0 // indirect\n";

    #[test]
    fn reads_versions_from_a_require_block_without_confusing_submodules() {
        assert_eq!(
            required_version(GO_MOD, "github.com/fluxcd/kustomize-controller").as_deref(),
            Some("v1.9.5")
        );
        assert_eq!(
            required_version(GO_MOD, "github.com/fluxcd/source-controller").as_deref(),
            Some("v1.9.3")
        );
    }

    #[test]
    fn reads_single_line_requires_and_misses_absent_modules() {
        assert_eq!(
            required_version(GO_MOD, "example.com/single").as_deref(),
            Some("v0.1.0")
        );
        assert_eq!(
            required_version(GO_MOD, "github.com/fluxcd/helm-controller"),
            None
        );
    }

    #[test]
    fn the_pins_name_both_controllers() {
        for controller in CONTROLLERS {
            pinned_version(controller).unwrap();
        }
    }
}
