//! `eddy kustomize build` prints what `kubectl kustomize` prints, and fails clearly.

// Test helpers may unwrap: a failure should stop the test right there, loudly.
#![allow(clippy::unwrap_used)]

use std::{path::PathBuf, process::Command};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn eddy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn builds_the_tutorial_overlay_byte_for_byte_like_kubectl() {
    let overlay = workspace().join("examples/config-repo/apps/myapp/overlays/production");
    let ours = eddy(&["kustomize", "build", overlay.to_str().unwrap()]);
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let oracle = Command::new("kubectl")
        .args(["kustomize"])
        .arg(&overlay)
        .output()
        .unwrap();
    assert!(
        oracle.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&oracle.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&oracle.stdout)
    );
    let text = String::from_utf8(ours.stdout).unwrap();
    assert!(text.contains("replicas: 5"), "{text}");
    assert!(text.contains("namespace: production"), "{text}");
}

#[test]
fn a_missing_directory_fails_with_a_message_naming_it() {
    let output = eddy(&["kustomize", "build", "/no/such/overlay"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/no/such/overlay"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
