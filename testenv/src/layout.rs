//! Where the testenv keeps its files.
//!
//! Everything lives under one root, `$EDDY_TESTENV_DIR` when set, else
//! `$XDG_CACHE_HOME/eddy/testenv`, else `~/.cache/eddy/testenv`:
//!
//! ```text
//! <root>/lock                      serialises `up`/`down` across processes
//! <root>/<versions>/bin/<binary>   built binaries, one directory per set of pins
//! <root>/state/                    the running environment (removed by `down`)
//!     state.json                   ports and pids
//!     pki/                         CA, serving and client certificates, service-account key
//!     kubeconfig                   admin kubeconfig (the path `up` prints)
//!     etcd-data/                   etcd's data directory
//!     logs/<component>.log         each process's stdout and stderr
//! ```
//!
//! The binaries are kept outside `target/` so `cargo clean` does not cost a 10-minute rebuild, and
//! the state sits under the same root so one `rm -rf` resets everything.

use std::path::{Path, PathBuf};

use crate::error::TestenvError;
use crate::versions;

/// Environment variable that moves the whole testenv root (binaries and state).
pub const ROOT_ENV: &str = "EDDY_TESTENV_DIR";

/// The directories and files of one testenv root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout rooted at an explicit directory (tests use a temporary one).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The layout the environment variables select (see the module docs).
    pub fn from_env() -> Result<Self, TestenvError> {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        if let Some(root) = var(ROOT_ENV) {
            return Ok(Self::at(root));
        }
        if let Some(cache) = var("XDG_CACHE_HOME") {
            return Ok(Self::at(PathBuf::from(cache).join("eddy/testenv")));
        }
        match var("HOME") {
            Some(home) => Ok(Self::at(PathBuf::from(home).join(".cache/eddy/testenv"))),
            None => Err(TestenvError::NoRootDir),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }

    pub fn bin_dir(&self) -> PathBuf {
        self.root.join(versions::cache_key()).join("bin")
    }

    pub fn binary(&self, name: &str) -> PathBuf {
        self.bin_dir().join(name)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }

    pub fn state_file(&self) -> PathBuf {
        self.state_dir().join("state.json")
    }

    pub fn pki_dir(&self) -> PathBuf {
        self.state_dir().join("pki")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.state_dir().join("kubeconfig")
    }

    pub fn etcd_data_dir(&self) -> PathBuf {
        self.state_dir().join("etcd-data")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.state_dir().join("logs")
    }

    pub fn log_file(&self, component: &str) -> PathBuf {
        self.logs_dir().join(format!("{component}.log"))
    }

    /// A private home for processes (kwok) that would otherwise read a user's own config.
    pub fn home_dir(&self, component: &str) -> PathBuf {
        self.state_dir().join("home").join(component)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_and_binaries_share_one_root() {
        let layout = Layout::at("/x");
        assert_eq!(layout.kubeconfig(), PathBuf::from("/x/state/kubeconfig"));
        assert_eq!(
            layout.log_file("etcd"),
            PathBuf::from("/x/state/logs/etcd.log")
        );
        assert!(layout.binary("etcd").starts_with("/x"));
        assert!(
            layout
                .bin_dir()
                .to_string_lossy()
                .contains(versions::KUBERNETES_VERSION)
        );
        assert!(!layout.bin_dir().starts_with(layout.state_dir()));
    }
}
