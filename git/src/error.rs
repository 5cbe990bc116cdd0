//! Errors of Git operations, each mapped to the Flux condition reason it surfaces as.
//!
//! Messages name the cause (the missing ref, the host whose key did not match, the limit that was
//! exceeded) but never carry credentials: URLs are always redacted before they are formatted.

/// The reason string Flux puts on the `FetchFailed` condition for an error.
pub mod reason {
    /// The credentials were rejected or the Secret could not be turned into credentials.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// Anything else that went wrong while talking to the remote or checking out.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// The URL is malformed or uses a scheme other than http, https or ssh.
    pub const URL_INVALID: &str = "URLInvalid";
}

/// A failed Git operation.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The URL cannot be used (malformed, scp-like, or an unsupported scheme).
    #[error("invalid URL '{url}': {detail}")]
    InvalidUrl { url: String, detail: String },

    /// The Secret data does not hold the keys the URL's transport needs.
    #[error("invalid auth secret: {0}")]
    InvalidAuth(String),

    /// The remote rejected the credentials (or asked for credentials that were not given).
    #[error("authentication failed for '{url}': {detail}")]
    AuthenticationFailed { url: String, detail: String },

    /// The SSH host key is not listed in `known_hosts`, or a different key is listed.
    #[error("host key verification failed for '{host}': {detail}")]
    HostKeyVerification { host: String, detail: String },

    /// The HTTPS server's certificate is trusted neither by the system nor by `ca.crt`.
    #[error("{context}: TLS certificate verification failed: {detail}")]
    CertificateUntrusted { context: String, detail: String },

    /// The server has no repository at the URL (HTTP 404).
    #[error("repository '{url}' not found: {detail}")]
    RepositoryNotFound { url: String, detail: String },

    /// The requested branch, tag or ref does not exist on the remote.
    #[error("{reference} not found in '{url}'")]
    RefNotFound { reference: String, url: String },

    /// The semver constraint could not be parsed.
    #[error("invalid semver constraint '{constraint}': {detail}")]
    InvalidSemver { constraint: String, detail: String },

    /// No remote tag satisfies the semver constraint.
    #[error(
        "no tag in '{url}' matches semver constraint '{constraint}' ({tags_seen} tags checked)"
    )]
    NoMatchingTag {
        constraint: String,
        url: String,
        tags_seen: usize,
    },

    /// The commit named by `ref.commit` is not reachable (from the branch, when one is given).
    #[error("commit '{commit}' not found in '{url}'{scope}")]
    CommitNotFound {
        commit: String,
        url: String,
        scope: String,
    },

    /// A `sparseCheckout` entry is invalid or names a directory the commit does not have.
    #[error("invalid sparse checkout path '{path}': {detail}")]
    InvalidSparseCheckout { path: String, detail: String },

    /// The download or the checked-out tree is larger than the configured limit.
    #[error("repository '{url}' exceeds the size limit of {limit_bytes} bytes ({what})")]
    SizeLimitExceeded {
        url: String,
        limit_bytes: u64,
        what: String,
    },

    /// The operation did not finish before its deadline.
    #[error("git operation on '{url}' timed out after {timeout_secs}s")]
    Timeout { url: String, timeout_secs: u64 },

    /// The remote branch moved on since the clone: the push would have dropped its commits.
    /// Clone again, re-apply the change and push again.
    #[error("push to '{reference}' of '{url}' was rejected: non-fast-forward ({detail})")]
    NonFastForward {
        reference: String,
        url: String,
        detail: String,
    },

    /// The remote refused the push for another reason (a protected branch, a hook, …).
    #[error("push to '{reference}' of '{url}' was rejected: {reason}")]
    PushRejected {
        reference: String,
        url: String,
        reason: String,
    },

    /// Commits cannot be signed with this kind of key yet; retrying will not help.
    #[error("signing commits with {kind} keys is not supported yet")]
    SigningNotSupported { kind: &'static str },

    /// The signing key could not be read or used.
    #[error("cannot sign the commit: {0}")]
    Signing(String),

    /// Any other failure of libgit2 or of the local file system.
    #[error("{context}: {detail}")]
    Operation { context: String, detail: String },
}

impl GitError {
    /// The Flux reason this error is reported with (see [`reason`]).
    pub fn reason(&self) -> &'static str {
        match self {
            GitError::InvalidUrl { .. } => reason::URL_INVALID,
            GitError::InvalidAuth(_) | GitError::AuthenticationFailed { .. } => {
                reason::AUTHENTICATION_FAILED
            }
            _ => reason::GIT_OPERATION_FAILED,
        }
    }

    /// Whether retrying the same request cannot succeed until the object or Secret changes
    /// (Flux marks such failures `Stalled`).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            GitError::InvalidUrl { .. }
                | GitError::SigningNotSupported { .. }
                | GitError::Signing(_)
                | GitError::InvalidSemver { .. }
        )
    }

    pub(crate) fn operation(context: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        GitError::Operation {
            context: context.into(),
            detail: detail.to_string(),
        }
    }
}
