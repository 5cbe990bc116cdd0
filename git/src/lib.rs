//! Eddy's Git client on libgit2 (`git2`), shared by source-controller (fetch), the image
//! automation (clone, commit, push) and `eddy bootstrap` (all three).
//!
//! One code path serves them all for credentials (basic, bearer, SSH keys), trust (`ca.crt`,
//! client certificates, SSH host keys checked against `known_hosts`), deadlines and the
//! translation of libgit2's errors (the `session` module). The one exception, trusting an SSH
//! host key on first use, exists for the bootstrap alone and is named so:
//! [`HostKeyCheck::TrustOnFirstUseForBootstrap`].
//!
//! Everything here blocks: libgit2 does its own network I/O. Async callers use [`fetch_async`],
//! which runs [`fetch`] on tokio's blocking pool under the request's timeout, or wrap the sync
//! functions in `tokio::task::spawn_blocking` themselves.
//!
//! The inputs are plain values, not Kubernetes objects: the URL, a [`GitReference`] built from
//! `spec.ref` with [`GitReference::from_fields`], a [`GitAuth`] built from the Secret's `data`
//! with [`GitAuth::from_secret_data`], and [`FetchOptions`].

mod auth;
mod commit;
mod error;
mod fetch;
mod host_key;
mod known_hosts;
mod mtls_bridge;
mod push;
mod reference;
mod session;
mod signing;
mod ssh_key;
mod tls;
mod url;
mod work_tree;

use std::path::PathBuf;
use std::time::Duration;

pub use auth::{GitAuth, HttpAuth, SshAuth};
pub use commit::{Author, CommitRequest};
pub use error::{GitError, reason};
pub use host_key::{BootstrapHostKeyTrust, ConfirmHostKey, HostKeyCheck, RecordedHostKey};
pub use known_hosts::KnownHosts;
pub use push::{PushRequest, PushTarget};
pub use reference::{DEFAULT_BRANCH, GitReference, RefFields, commit_of_revision, format_revision};
pub use signing::SigningKey;
pub use ssh_key::openssh_public_key;
pub use url::{RepoUrl, Transport, redact as redact_url};
pub use work_tree::{CloneRequest, WorkTree};

use session::Deadline;

/// The default for `spec.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How a fetch is performed, beyond which ref it targets.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// `spec.recurseSubmodules`: check out submodules (recursively) with the same credentials.
    pub recurse_submodules: bool,
    /// `spec.sparseCheckout`: only these directories are checked out; each must exist.
    pub sparse_checkout: Vec<String>,
    /// Upper bound for both the download and the checked-out files, in bytes.
    pub max_size_bytes: Option<u64>,
    /// `spec.timeout`: deadline for the whole operation.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            recurse_submodules: false,
            sparse_checkout: Vec::new(),
            max_size_bytes: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Everything one fetch needs.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// Repository URL (`http`, `https` or `ssh` scheme).
    pub url: String,
    pub reference: GitReference,
    pub auth: GitAuth,
    pub options: FetchOptions,
    /// The revision of the artifact already in storage. When the remote still points at it the
    /// fetch returns [`FetchOutcome::Unchanged`] without cloning. Pass `None` to force a clone
    /// (no artifact, or `observed*` settings changed).
    pub last_revision: Option<String>,
    /// An empty (or missing) directory the working tree is checked out into.
    pub destination: PathBuf,
}

/// The commit a fetch checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedCommit {
    /// The artifact revision, e.g. `main@sha1:<hash>` or `sha1:<hash>`.
    pub revision: String,
    /// The full commit hash.
    pub commit: String,
    /// The first line of the commit message.
    pub subject: String,
    /// The whole commit message.
    pub message: String,
}

impl FetchedCommit {
    /// The `NewArtifact` event message: "stored artifact for commit '<subject>'", the subject
    /// cut to 50 characters (and marked with `...`) when longer.
    pub fn new_artifact_message(&self) -> String {
        let mut subject: String = self.subject.chars().take(50).collect();
        if self.subject.chars().count() > 50 {
            subject.push_str("...");
        }
        format!("stored artifact for commit '{subject}'")
    }
}

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The remote still points at `last_revision`; nothing was cloned.
    Unchanged { revision: String },
    /// A commit was checked out into the destination.
    Fetched(FetchedCommit),
}

/// A ref advertised by a remote, annotated tags peeled to the commit they point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// Full ref name, e.g. `refs/heads/main` or `refs/tags/v1.0.0`.
    pub name: String,
    /// Commit hash (hex).
    pub commit: String,
}

/// Fetches and checks out `request.reference` into `request.destination`. Blocking.
///
/// Remotes that need a client certificate (`tls.crt`/`tls.key`) are refused here: they need the
/// loopback bridge that [`fetch_async`] runs.
pub fn fetch(request: &FetchRequest) -> Result<FetchOutcome, GitError> {
    fetch::run(request, None, Deadline::after(request.options.timeout))
}

/// Lists the refs a remote advertises (`git ls-remote`). Blocking.
pub fn ls_remote(url: &str, auth: &GitAuth, timeout: Duration) -> Result<Vec<RemoteRef>, GitError> {
    fetch::list_refs(url, auth, timeout)
}

/// Runs [`fetch`] on the blocking pool and gives up when `options.timeout` has passed since
/// the call, so a silent server is reported on time. libgit2 cannot be interrupted from outside
/// (and has no read timeout by default), so a fetch stuck reading from such a server keeps its
/// blocking thread until the server closes the connection; the caller gets its error on time
/// regardless.
///
/// For HTTPS remotes with a client certificate it also runs the mTLS bridge (see the module
/// `mtls_bridge`) for the duration of the fetch.
pub async fn fetch_async(request: FetchRequest) -> Result<FetchOutcome, GitError> {
    let deadline = Deadline::after(request.options.timeout);
    let timed_out = GitError::Timeout {
        url: redact_url(&request.url),
        timeout_secs: deadline.timeout.as_secs(),
    };
    // The deadline covers the bridge's start too; dropping the bridge when it passes also
    // closes the connection a stuck libgit2 thread is waiting on.
    match tokio::time::timeout_at(deadline.at.into(), fetch_with_bridge(request, deadline)).await {
        Ok(result) => result,
        Err(_) => Err(timed_out),
    }
}

async fn fetch_with_bridge(
    request: FetchRequest,
    deadline: Deadline,
) -> Result<FetchOutcome, GitError> {
    let url = redact_url(&request.url);
    let bridge = match &request.auth {
        GitAuth::Http(HttpAuth {
            client_identity_pem: Some(identity),
            ca_pem,
            ..
        }) => {
            let remote = RepoUrl::parse(&request.url)?;
            if remote.scheme() == "https" {
                Some(mtls_bridge::start(&remote, identity, ca_pem.as_deref()).await?)
            } else {
                None
            }
        }
        _ => None,
    };
    let bridge_url = bridge.as_ref().map(|bridge| bridge.url.clone());
    let result =
        match tokio::task::spawn_blocking(move || fetch::run(&request, bridge_url, deadline)).await
        {
            Ok(result) => result,
            Err(join_error) => Err(GitError::Operation {
                context: format!("fetching '{url}'"),
                detail: format!("the fetch task failed: {join_error}"),
            }),
        };
    match (result, bridge) {
        (Err(GitError::Operation { context, detail }), Some(bridge)) => Err(GitError::Operation {
            context,
            detail: bridge.last_error().unwrap_or(detail),
        }),
        (result, _) => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_message_truncates_long_subjects() {
        let mut commit = FetchedCommit {
            revision: String::new(),
            commit: String::new(),
            subject: "short subject".into(),
            message: String::new(),
        };
        assert_eq!(
            commit.new_artifact_message(),
            "stored artifact for commit 'short subject'"
        );
        commit.subject = "x".repeat(60);
        let message = commit.new_artifact_message();
        assert!(message.ends_with("...'"), "{message}");
        assert_eq!(message.len(), "stored artifact for commit '...'".len() + 50);
    }
}
