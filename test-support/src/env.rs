//! Connecting to the shared testenv.

use std::path::PathBuf;

use anyhow::Context;
use tokio::sync::OnceCell;

/// The kubeconfig of the environment, once this test process made sure it runs.
static KUBECONFIG: OnceCell<PathBuf> = OnceCell::const_new();

/// A client for the shared testenv, starting the environment when it is not running yet.
///
/// The first call in a test process runs `eddy_testenv::up` (idempotent, and serialised across
/// processes by a file lock, so parallel test binaries are safe); later calls only build a new
/// client. Each call returns a fresh client because a client is bound to the Tokio runtime it was
/// created on, and every `#[tokio::test]` has its own.
pub async fn client() -> anyhow::Result<kube::Client> {
    let kubeconfig = KUBECONFIG
        .get_or_try_init(|| async {
            tokio::task::spawn_blocking(eddy_testenv::up)
                .await
                .context("the testenv start-up thread panicked")?
                .context("cannot start the shared testenv")
        })
        .await?;
    Ok(eddy_testenv::client(kubeconfig).await?)
}

/// The kubeconfig path of the shared testenv, as [`client`] uses it.
pub(crate) fn kubeconfig_path() -> anyhow::Result<PathBuf> {
    match KUBECONFIG.get() {
        Some(path) => Ok(path.clone()),
        None => Ok(eddy_testenv::kubeconfig_path()?),
    }
}
