//! The seed's example overlays must build exactly as `kubectl kustomize` builds them.
//! `fixtures/seed-config-repo-myapp-production.yaml` is kubectl v1.32 (kustomize v5.5.0) output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use eddy_kustomize::BuildOptions;

fn seed_dir() -> PathBuf {
    common::corpus_dir()
        .parent()
        .and_then(Path::parent)
        .expect("shared dir")
        .join("seed/examples")
}

fn build(dir: &Path) -> Result<String, eddy_kustomize::Error> {
    eddy_kustomize::build(dir, &BuildOptions::new(&seed_dir()).unwrap())
}

#[test]
fn config_repo_production_overlay_matches_kubectl() {
    let dir = seed_dir().join("config-repo/apps/myapp/overlays/production");
    let expected = include_str!("fixtures/seed-config-repo-myapp-production.yaml");
    let actual = build(&dir).expect("the overlay builds");
    assert_eq!(actual, expected);
}

/// The multi-env base has no kustomization file, so kubectl refuses both overlays; so must we.
#[test]
fn multi_env_overlays_fail_like_kubectl() {
    for overlay in ["staging", "production"] {
        let dir = seed_dir().join("multi-env/overlays").join(overlay);
        let error = build(&dir).expect_err("kubectl fails on this overlay");
        let message = error.to_string();
        assert!(
            message.contains("multi-env/base")
                && message.contains("unable to find one of 'kustomization.yaml'"),
            "unexpected error for {overlay}: {message}"
        );
    }
}
