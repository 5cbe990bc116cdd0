//! Building the control-plane binaries with Go, once, into the cache.
//!
//! Each binary is built into a temporary name and renamed into place only after it ran
//! `--version` successfully, so an interrupted build never leaves a half-written file under the
//! final name. A cached binary that no longer runs (truncated, overwritten, wrong architecture) is
//! detected the same way and rebuilt.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{TestenvError, log_tail};
use crate::layout::Layout;
use crate::process::wait_with_timeout;
use crate::versions::{self, COMPONENTS, Component, MINIMUM_GO};

/// How long `<binary> --version` may take before the binary counts as broken.
const VERSION_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// A cold build takes about ten minutes on two cores; anything past this is a hang.
const BUILD_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The Go module that pins the component versions (see `testenv/tools/go.mod`).
pub fn tools_module_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools")
}

/// Makes sure every component binary is in the cache and runs, building what is missing or broken.
pub fn ensure_binaries(layout: &Layout) -> Result<(), TestenvError> {
    let bin_dir = layout.bin_dir();
    let mut to_build = Vec::new();
    for component in COMPONENTS {
        let path = layout.binary(component.binary);
        if !path.exists() {
            to_build.push(component);
            continue;
        }
        if let Err(reason) = check_runs(&path) {
            progress!(
                "cached {} at {} is broken ({reason}); rebuilding it",
                component.binary,
                path.display()
            );
            to_build.push(component);
        }
    }
    if to_build.is_empty() {
        return Ok(());
    }

    check_go()?;
    fs::create_dir_all(&bin_dir).map_err(|e| TestenvError::io("cannot create", &bin_dir, e))?;
    progress!(
        "building {} from {} into {} (from an empty Go cache all five take ~11 minutes on \
         2 cores; they are built once and reused)",
        to_build
            .iter()
            .map(|c| c.binary)
            .collect::<Vec<_>>()
            .join(", "),
        tools_module_dir().display(),
        bin_dir.display()
    );
    let total = to_build.len();
    for (index, component) in to_build.into_iter().enumerate() {
        let started = Instant::now();
        progress!("building {} ({}/{total})…", component.binary, index + 1);
        build_one(layout, component)?;
        progress!(
            "built {} in {:.0}s",
            component.binary,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn build_one(layout: &Layout, component: Component) -> Result<(), TestenvError> {
    let final_path = layout.binary(component.binary);
    let partial = layout.bin_dir().join(format!(
        ".{}.partial-{}",
        component.binary,
        std::process::id()
    ));
    let log_path = layout
        .bin_dir()
        .join(format!("{}.build.log", component.binary));
    let log =
        File::create(&log_path).map_err(|e| TestenvError::io("cannot create", &log_path, e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| TestenvError::io("cannot open", &log_path, e))?;

    let module_dir = tools_module_dir().join(component.module_dir);
    let mut child = Command::new("go")
        .current_dir(&module_dir)
        .args(["build", "-trimpath", "-ldflags"])
        .arg(versions::go_ldflags())
        .arg("-o")
        .arg(&partial)
        .arg(component.package)
        // The tools module stands alone: a go.work elsewhere must not pull it in, and go.sum is
        // committed, so the build must not rewrite it.
        .env("GOWORK", "off")
        .env("GOFLAGS", "-mod=readonly -buildvcs=false")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| TestenvError::io("cannot run `go build` in", &module_dir, e))?;
    let status = wait_with_timeout(&mut child, BUILD_TIMEOUT)
        .map_err(|e| TestenvError::io("cannot wait for `go build` of", &partial, e))?;

    let succeeded = status.is_some_and(|s| s.success());
    if !succeeded {
        let _ = fs::remove_file(&partial);
        let mut tail = log_tail(&log_path, 20);
        if status.is_none() {
            tail.push_str(&format!("\n(killed after {}s)", BUILD_TIMEOUT.as_secs()));
        }
        return Err(TestenvError::GoBuildFailed {
            binary: component.binary,
            log: log_path,
            tail,
        });
    }
    if let Err(reason) = check_runs(&partial) {
        let _ = fs::remove_file(&partial);
        return Err(TestenvError::BrokenBinary {
            binary: component.binary,
            path: final_path,
            reason,
        });
    }
    fs::rename(&partial, &final_path)
        .map_err(|e| TestenvError::io("cannot move into place", &final_path, e))
}

/// Runs `<binary> --version`; a binary that cannot do that cannot run the control plane either.
pub fn check_runs(path: &Path) -> Result<(), String> {
    let mut child = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot execute it: {e}"))?;
    match wait_with_timeout(&mut child, VERSION_CHECK_TIMEOUT) {
        Ok(Some(status)) if status.success() => Ok(()),
        Ok(Some(status)) => Err(format!("it exited with {status}")),
        Ok(None) => Err(format!(
            "it did not finish within {}s",
            VERSION_CHECK_TIMEOUT.as_secs()
        )),
        Err(e) => Err(format!("cannot wait for it: {e}")),
    }
}

/// Fails with an actionable message when `go` is missing or older than the tools module needs.
pub fn check_go() -> Result<(), TestenvError> {
    let output = match Command::new("go")
        .arg("version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(output) if output.status.success() => output,
        Ok(_) | Err(_) => {
            return Err(TestenvError::GoMissing {
                minimum: MINIMUM_GO,
            });
        }
    };
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match parse_go_version(&text) {
        Some(found) if found >= MINIMUM_GO => Ok(()),
        _ => Err(TestenvError::GoTooOld {
            found: text,
            minimum: MINIMUM_GO,
        }),
    }
}

/// The (major, minor) of a `go version` line such as `go version go1.26.8 linux/amd64`.
fn parse_go_version(line: &str) -> Option<(u32, u32)> {
    let release = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("go1"))?;
    let minor: String = release
        .trim_start_matches('.')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((1, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn go_version_lines_are_parsed() {
        assert_eq!(
            parse_go_version("go version go1.26.8 linux/amd64"),
            Some((1, 26))
        );
        assert_eq!(
            parse_go_version("go version go1.24rc1 linux/arm64"),
            Some((1, 24))
        );
        assert_eq!(
            parse_go_version("go version go1.9 linux/amd64"),
            Some((1, 9))
        );
        assert_eq!(parse_go_version("something else"), None);
    }

    #[test]
    fn go_versions_compare_by_minor() {
        assert!(parse_go_version("go version go1.9 linux/amd64") < Some(MINIMUM_GO));
        assert!(parse_go_version("go version go1.100 linux/amd64") > Some(MINIMUM_GO));
    }

    #[test]
    fn a_corrupt_binary_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kube-apiserver");
        // What an interrupted copy leaves behind: the start of an ELF header and nothing else.
        fs::write(&path, b"\x7fELF\x02\x01\x01").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(check_runs(&path).is_err());
    }

    #[test]
    fn a_failing_binary_is_detected_and_a_working_one_passes() {
        let dir = tempfile::tempdir().unwrap();
        let failing = dir.path().join("failing");
        fs::write(&failing, "#!/bin/sh\nexit 3\n").unwrap();
        fs::set_permissions(&failing, fs::Permissions::from_mode(0o755)).unwrap();
        let error = check_runs(&failing).unwrap_err();
        assert!(error.contains("exit status: 3"), "{error}");

        let working = dir.path().join("working");
        fs::write(&working, "#!/bin/sh\necho v1\n").unwrap();
        fs::set_permissions(&working, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(check_runs(&working), Ok(()));
    }
}
