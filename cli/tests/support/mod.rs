//! What the CLI's integration tests share: running `eddy` and the real `flux` against the
//! testenv.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod flux;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `eddy` with `KUBECONFIG` pointing at the testenv.
pub fn eddy(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap()
}

/// The stdout of a command that must succeed; on failure the test stops with its stderr.
pub fn succeeded(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The stderr of a command that must fail (and must not panic).
pub fn failed(output: Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "{what} should have failed:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// The testenv's kubeconfig, starting the environment if needed.
pub async fn kubeconfig() -> PathBuf {
    // `client()` starts the environment; its kubeconfig then sits at the well-known path.
    eddy_test_support::client().await.unwrap();
    eddy_testenv::kubeconfig_path().unwrap()
}
