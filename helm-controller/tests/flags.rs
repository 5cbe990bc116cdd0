//! helm-controller refuses flags it cannot honour, naming them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::process::Command;

#[test]
fn a_flag_without_behaviour_stops_the_start_with_its_name() {
    let output = Command::new(env!("CARGO_BIN_EXE_helm-controller"))
        .args([
            "--feature-gates=OOMWatch=true",
            "--snapshot-digest-algo=sha512",
        ])
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--feature-gates=OOMWatch=true is not supported yet")
            && stderr.contains("--snapshot-digest-algo=sha512 is not supported yet"),
        "{stderr}"
    );
}
