//! The architecture's one hard rule, checked: controllers are separate binaries that talk only
//! through the Kubernetes API, so no shipped crate (a controller or the CLI) depends on another
//! controller's crate. Tests may run several controllers in-process (dev-dependencies are
//! allowed); what is shared lives in library crates.

use std::{collections::BTreeSet, process::Command};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::workspace;

/// Crates that are controllers: each is a binary other shipped crates must not link.
const CONTROLLERS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "eddy-image-automation",
];

/// Crates that ship as binaries and must therefore link no controller but themselves.
const SHIPPED: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "eddy-image-automation",
    "eddy-cli",
];

pub fn check() -> anyhow::Result<()> {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace::root())
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)?;
    let violations = violations(&metadata);
    if !violations.is_empty() {
        bail!(
            "shipped crates link another controller (move the shared code to a library crate):\n  {}",
            violations.join("\n  ")
        );
    }
    Ok(())
}

/// `crate → controller` for every normal or build dependency of a shipped crate on a
/// controller other than itself.
fn violations(metadata: &Value) -> Vec<String> {
    let controllers: BTreeSet<&str> = CONTROLLERS.iter().copied().collect();
    let mut found = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        if !SHIPPED.contains(&name) {
            continue;
        }
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let target = dependency["name"].as_str().unwrap_or_default();
            let is_dev = dependency["kind"].as_str() == Some("dev");
            if !is_dev && target != name && controllers.contains(target) {
                found.push(format!("{name} → {target}"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_normal_dependency_on_another_controller_is_a_violation_and_a_dev_one_is_not() {
        let metadata = json!({"packages": [
            {"name": "eddy-cli", "dependencies": [
                {"name": "kustomize-controller", "kind": null},
                {"name": "source-controller", "kind": "dev"},
                {"name": "eddy-kustomization", "kind": null},
            ]},
            {"name": "eddy-e2e", "dependencies": [{"name": "kustomize-controller", "kind": null}]},
        ]});
        assert_eq!(violations(&metadata), ["eddy-cli → kustomize-controller"]);
    }
}
