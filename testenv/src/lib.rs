//! A real Kubernetes control plane on loopback, for integration tests and the demo.
//!
//! [`up`] builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok from the
//! pinned Go module in `testenv/tools` (once; the binaries are cached, see [`Layout`]), starts
//! them as detached processes bound to 127.0.0.1, registers one kwok-simulated Node (so pods get
//! scheduled and become Running/Ready without a kubelet or containers) and returns the path of an
//! admin kubeconfig. A running environment is reused, a broken one is cleaned up and restarted.
//! [`down`] stops the processes and deletes the environment's data.
//!
//! Both are blocking and serialised by a file lock, so parallel test binaries can all call
//! [`up`]; async callers should run them on a blocking thread (`tokio::task::spawn_blocking`).
//! Progress goes to stderr, prefixed `testenv:`.

/// Prints one progress line on stderr (stdout is reserved for the kubeconfig path).
macro_rules! progress {
    ($($arg:tt)*) => {
        eprintln!("testenv: {}", format_args!($($arg)*))
    };
}

mod api;
mod components;
mod error;
mod kubeconfig;
mod layout;
mod lifecycle;
mod pki;
mod process;
mod restart;
mod state;
mod toolchain;
pub mod versions;

use std::path::PathBuf;

pub use error::TestenvError;
pub use layout::{Layout, ROOT_ENV};
pub use lifecycle::{API_PORT_ENV, Status};
pub use restart::{start_apiserver_at, stop_apiserver_at};

/// Starts the environment (or reuses the running one) and returns its admin kubeconfig's path.
///
/// The first call on a machine builds the binaries, which takes about ten minutes.
pub fn up() -> Result<PathBuf, TestenvError> {
    up_at(&Layout::from_env()?)
}

/// [`up`] with an explicit root directory instead of the one the environment selects.
pub fn up_at(layout: &Layout) -> Result<PathBuf, TestenvError> {
    install_crypto_provider();
    lifecycle::up(layout)
}

/// Stops the environment and removes its state (certificates, etcd data, logs). The built
/// binaries stay cached. Returns whether there was anything to remove.
pub fn down() -> Result<bool, TestenvError> {
    lifecycle::down(&Layout::from_env()?)
}

/// [`down`] with an explicit root directory.
pub fn down_at(layout: &Layout) -> Result<bool, TestenvError> {
    lifecycle::down(layout)
}

/// Whether the environment runs and answers.
pub fn status() -> Result<Status, TestenvError> {
    install_crypto_provider();
    lifecycle::status(&Layout::from_env()?)
}

/// Where [`up`] writes the kubeconfig (whether or not the environment runs).
pub fn kubeconfig_path() -> Result<PathBuf, TestenvError> {
    Ok(Layout::from_env()?.kubeconfig())
}

/// A kube client authenticated as the admin of the environment whose kubeconfig is at `path`
/// (connect and read timeouts set, so a wedged API server errors instead of hanging).
pub async fn client(kubeconfig: &std::path::Path) -> Result<kube::Client, TestenvError> {
    install_crypto_provider();
    api::client(kubeconfig).await
}

/// Only builds (or verifies) the cached binaries, without starting anything.
pub fn build_binaries() -> Result<PathBuf, TestenvError> {
    let layout = Layout::from_env()?;
    toolchain::ensure_binaries(&layout)?;
    Ok(layout.bin_dir())
}

/// kube's TLS stack needs a process-wide rustls provider; the workspace uses ring. Installing
/// fails harmlessly when the host program already installed one.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
