//! A second control plane of a test's own, for what must not touch the shared one (restarting
//! an API server, uninstalling CRDs) or must be a different cluster (a Kustomization's
//! `kubeConfig`). Built from
//! the shared testenv's cached binaries; stopped, and its state removed, when dropped.

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use kube::config::Kubeconfig;

/// A running private control plane.
pub struct PrivateCluster {
    layout: eddy_testenv::Layout,
    kubeconfig: PathBuf,
    _root: tempfile::TempDir,
}

impl PrivateCluster {
    /// Starts one (blocking: run it on a blocking thread). The shared testenv must have been
    /// brought up first, so that its binaries exist.
    pub fn start() -> anyhow::Result<Self> {
        let root = tempfile::tempdir()?;
        let shared = eddy_testenv::Layout::from_env()?;
        let versions = eddy_testenv::versions::cache_key();
        std::os::unix::fs::symlink(shared.root().join(&versions), root.path().join(&versions))?;
        let layout = eddy_testenv::Layout::at(root.path());
        let kubeconfig = eddy_testenv::up_at(&layout)?;
        Ok(Self {
            layout,
            kubeconfig,
            _root: root,
        })
    }

    /// Where its state lives (to stop and start its API server in a test).
    pub fn layout(&self) -> &eddy_testenv::Layout {
        &self.layout
    }

    /// Its admin kubeconfig file (credentials referenced by path).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// An admin client.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        Ok(eddy_testenv::client(&self.kubeconfig).await?)
    }

    /// Its admin kubeconfig with every file embedded, as it would be stored in a Secret for a
    /// controller that cannot read this machine's files.
    pub fn embedded_kubeconfig(&self) -> anyhow::Result<String> {
        let mut config = Kubeconfig::read_from(&self.kubeconfig)?;
        let embed = |path: &mut Option<String>| -> anyhow::Result<Option<String>> {
            match path.take() {
                Some(file) => {
                    let bytes = std::fs::read(&file).with_context(|| format!("reading {file}"))?;
                    Ok(Some(
                        base64::engine::general_purpose::STANDARD.encode(bytes),
                    ))
                }
                None => Ok(None),
            }
        };
        for cluster in config
            .clusters
            .iter_mut()
            .filter_map(|c| c.cluster.as_mut())
        {
            if let Some(data) = embed(&mut cluster.certificate_authority)? {
                cluster.certificate_authority_data = Some(data);
            }
        }
        for user in config
            .auth_infos
            .iter_mut()
            .filter_map(|u| u.auth_info.as_mut())
        {
            if let Some(data) = embed(&mut user.client_certificate)? {
                user.client_certificate_data = Some(data);
            }
            if let Some(data) = embed(&mut user.client_key)? {
                user.client_key_data = Some(data.into());
            }
        }
        Ok(serde_yaml_ng::to_string(&config)?)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if let Err(error) = eddy_testenv::down_at(&self.layout) {
            eprintln!("cannot stop the private control plane: {error}");
        }
    }
}
