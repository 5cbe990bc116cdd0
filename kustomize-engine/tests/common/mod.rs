//! Helpers shared by the integration tests: locating the differential corpus.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

/// The kustomize corpus: `$EDDY_SHARED_DIR/corpus/kustomize`, or `<workspace>/../shared/corpus/kustomize`.
/// Panics (failing the test) when it is missing: the corpus is the proof, so it must not be skipped.
pub fn corpus_dir() -> PathBuf {
    let shared = std::env::var_os("EDDY_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let corpus = shared.join("corpus").join("kustomize");
    assert!(
        corpus.is_dir(),
        "kustomize corpus not found at {} (set EDDY_SHARED_DIR to the shared/ directory)",
        corpus.display()
    );
    corpus
}

/// Case folder names, sorted.
pub fn case_names(corpus: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus)
        .expect("corpus directory is readable")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("case.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
