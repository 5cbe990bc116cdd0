//! Errors of the testenv. Every message says what went wrong and what to do about it.

use std::path::PathBuf;
use std::time::Duration;

/// Why the testenv could not be built, started, reached or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TestenvError {
    #[error(
        "cannot choose the testenv directory: neither EDDY_TESTENV_DIR, XDG_CACHE_HOME nor HOME is set"
    )]
    NoRootDir,

    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "`go` was not found on PATH; the testenv builds etcd, Kubernetes and kwok from source: \
         install Go >= {}.{} and run again",
        minimum.0, minimum.1
    )]
    GoMissing { minimum: (u32, u32) },

    #[error(
        "`go version` reports {found}, but the testenv needs Go >= {}.{}: install a newer Go \
         (or set GOTOOLCHAIN=go{}.{}.0 to let Go fetch one) and run again",
        minimum.0, minimum.1, minimum.0, minimum.1
    )]
    GoTooOld { found: String, minimum: (u32, u32) },

    #[error(
        "building {binary} failed (full output in {}); last lines:\n{tail}",
        log.display()
    )]
    GoBuildFailed {
        binary: &'static str,
        log: PathBuf,
        tail: String,
    },

    #[error(
        "{binary} was built but does not run (`{binary} --version` failed: {reason}); delete {} \
         and run again to rebuild it",
        path.display()
    )]
    BrokenBinary {
        binary: &'static str,
        path: PathBuf,
        reason: String,
    },

    #[error(
        "port {port} on 127.0.0.1 (wanted for {purpose}) is already in use by another program: \
         stop that program, or {hint}"
    )]
    PortInUse {
        port: u16,
        purpose: &'static str,
        hint: &'static str,
    },

    #[error(
        "{component} exited during start-up ({status}); see {}; last lines:\n{tail}",
        log.display()
    )]
    ProcessExited {
        component: &'static str,
        status: String,
        log: PathBuf,
        tail: String,
    },

    #[error(
        "timed out after {}s waiting for {what}; see the logs in {}, then run \
         `cargo xtask testenv down` and `cargo xtask testenv up` again",
        after.as_secs(), logs.display()
    )]
    Timeout {
        what: String,
        after: Duration,
        logs: PathBuf,
    },

    #[error("cannot create the testenv certificates: {0}")]
    Certificate(#[from] rcgen::Error),

    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },

    #[error("cannot {action} through the testenv API server: {source}")]
    Kube {
        action: &'static str,
        #[source]
        source: Box<kube::Error>,
    },

    #[error("{name} is set to an unusable value: {reason}")]
    BadSetting { name: &'static str, reason: String },

    #[error("cannot restart the API server: {reason}")]
    Restart { reason: String },

    #[error("cannot load the testenv kubeconfig {}: {reason}", path.display())]
    Kubeconfig { path: PathBuf, reason: String },

    #[error(
        "cannot stop {component} (pid {pid}): {reason}; kill it by hand and run `cargo xtask testenv down` again"
    )]
    Unkillable {
        component: String,
        pid: u32,
        reason: String,
    },
}

impl TestenvError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn kube(action: &'static str, source: kube::Error) -> Self {
        Self::Kube {
            action,
            source: Box::new(source),
        }
    }
}

/// The last `lines` lines of a log file, for error messages (empty when it cannot be read).
pub(crate) fn log_tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
