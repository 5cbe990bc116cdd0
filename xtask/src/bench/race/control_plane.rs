//! Where the race runs: by default a control plane of its own (the testenv's binaries, a fresh
//! etcd), so kube-apiserver's request counter sees the two fleets and the bench and nobody else;
//! or the shared testenv, where other engineers' tests are counted too.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// A control plane the race uses; a private one is stopped and removed when dropped.
pub struct ControlPlane {
    kubeconfig: PathBuf,
    private: Option<(eddy_testenv::Layout, tempfile::TempDir)>,
}

impl ControlPlane {
    /// The shared testenv (started when it is not running).
    pub fn shared() -> anyhow::Result<Self> {
        let kubeconfig = eddy_testenv::up().context("cannot start the shared testenv")?;
        Ok(Self {
            kubeconfig,
            private: None,
        })
    }

    /// A private control plane from the shared testenv's cached binaries (built first when the
    /// cache has none).
    pub fn private() -> anyhow::Result<Self> {
        let binaries = eddy_testenv::build_binaries()?;
        let versions = eddy_testenv::versions::cache_key();
        let root = tempfile::Builder::new().prefix("eddy-race-").tempdir()?;
        let shared_versions = binaries
            .parent()
            .context("the testenv's binary directory has no parent")?;
        std::os::unix::fs::symlink(shared_versions, root.path().join(&versions))
            .context("cannot link the testenv's binaries into the private control plane")?;
        let layout = eddy_testenv::Layout::at(root.path());
        let kubeconfig =
            eddy_testenv::up_at(&layout).context("cannot start a private control plane")?;
        Ok(Self {
            kubeconfig,
            private: Some((layout, root)),
        })
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn describe(&self) -> &'static str {
        if self.private.is_some() {
            "private"
        } else {
            "shared testenv"
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if let Some((layout, _root)) = &self.private
            && let Err(error) = eddy_testenv::down_at(layout)
        {
            eprintln!("cannot stop the race's private control plane: {error}");
        }
    }
}
