//! Embeds the Kustomize sources under `config/` (controllers, RBAC, CRDs) into the binary, so
//! `eddy install` renders exactly what the repository holds, with the same native engine.
//!
//! The sources, not a rendered copy, are embedded: nothing generated can go stale, and the
//! rendering is the one `kubectl kustomize config/default` is tested against.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let config = manifest_dir.join("../config");
    println!("cargo::rerun-if-changed={}", config.display());
    let mut files = Vec::new();
    collect_yaml(&config, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for file in &files {
        let relative = file
            .strip_prefix(&config)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        let absolute = fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        table.push_str(&format!(
            "    ({relative:?}, include_str!({:?})),\n",
            absolute.to_string_lossy()
        ));
    }
    table.push(']');
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("config_files.rs");
    if let Err(error) = fs::write(&out, table) {
        println!("cargo::error=cannot write {}: {error}", out.display());
    }
}

/// Every `*.yaml` file below `dir`, recursively. A missing directory embeds nothing, and
/// `eddy install` then says so at run time.
fn collect_yaml(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "yaml") {
            files.push(path);
        }
    }
}
