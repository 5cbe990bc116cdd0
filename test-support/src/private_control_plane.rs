//! A control plane of one test's own, from the shared testenv's cached binaries, stopped and
//! removed when dropped: for tests that restart the API server, delete CRDs, or need a second
//! cluster (a remote cluster for `kubeConfig`), none of which may happen to the shared one.
#![allow(clippy::unwrap_used)] // test tooling: a failed start is a failed test

/// A running private control plane.
pub struct PrivateControlPlane {
    pub layout: eddy_testenv::Layout,
    pub kubeconfig: std::path::PathBuf,
    _root: tempfile::TempDir,
}

impl PrivateControlPlane {
    /// Starts one; blocking (call it through `spawn_blocking` from async tests). The shared
    /// environment must be up first, so its binaries exist.
    pub fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let shared = eddy_testenv::Layout::from_env().unwrap();
        let versions = eddy_testenv::versions::cache_key();
        std::os::unix::fs::symlink(shared.root().join(&versions), root.path().join(&versions))
            .unwrap();
        let layout = eddy_testenv::Layout::at(root.path());
        let kubeconfig = eddy_testenv::up_at(&layout).unwrap();
        Self {
            layout,
            kubeconfig,
            _root: root,
        }
    }
}

impl Drop for PrivateControlPlane {
    fn drop(&mut self) {
        if let Err(error) = eddy_testenv::down_at(&self.layout) {
            eprintln!("cannot stop the private control plane: {error}");
        }
    }
}
