//! Arbitrary bytes as the kustomization of a confined build: it must return Ok or Err, never
//! panic, and never print a byte of the file that lies next to the build root.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

/// Text that exists only in the file outside the root.
const MARKER: &str = "host-secret-7f3a";

struct Sandbox {
    _temp: tempfile::TempDir,
    root: std::path::PathBuf,
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let temp = tempfile::tempdir().unwrap();
        let outside = temp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), format!("{MARKER}\n")).unwrap();
        std::fs::write(outside.join("secret.env"), format!("K={MARKER}\n")).unwrap();
        let root = temp.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("innocent-symlink"))
            .unwrap();
        Sandbox { _temp: temp, root }
    })
}

fn build(root: &Path, kustomization: &[u8]) -> Option<String> {
    std::fs::write(root.join("kustomization.yaml"), kustomization).ok()?;
    let mut options = eddy_kustomize::BuildOptions::new(root).ok()?;
    options.load_restrictions = eddy_kustomize::LoadRestrictions::None;
    eddy_kustomize::build(root, &options).ok()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let sandbox = sandbox();
    if let Some(output) = build(&sandbox.root, data) {
        // Secrets are base64-encoded: check both spellings (the first 15 bytes encode alone).
        let encoded = "aG9zdC1zZWNyZXQtN2Yz";
        assert!(
            !output.contains(MARKER) && !output.contains(encoded),
            "{output}"
        );
    }
});
