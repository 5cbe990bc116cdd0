//! One Git operation's connection settings: libgit2 callbacks for credentials, host and TLS
//! certificate checks, size and deadline enforcement, and translation of libgit2 errors.
//!
//! libgit2 reports a failure inside a callback only as "callback returned an error", so the
//! callbacks record *why* they failed in [`Session`] and [`Session::map_error`] turns that
//! record into the precise [`GitError`].

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use git2::{CertificateCheckStatus, Cred, CredentialType, RemoteCallbacks};

use crate::auth::{GitAuth, HttpAuth};
use crate::error::GitError;
use crate::host_key::HostKeyVerifier;
use crate::url::{RepoUrl, Transport};

/// How often one operation may ask for credentials before they count as rejected. libgit2 asks
/// again after a rejection, and answering with the same secret forever would loop. It also asks
/// once per request, and a missing repository makes it try the dumb HTTP protocol too, so a
/// few requests are allowed before concluding the server said no.
const MAX_CREDENTIAL_REQUESTS: u32 = 5;

/// When an operation must have finished, and the timeout it was derived from (for messages).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub at: Instant,
    pub timeout: Duration,
}

impl Deadline {
    /// A deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        Deadline {
            at: Instant::now() + timeout,
            timeout,
        }
    }
}

/// Why a callback aborted the operation.
#[derive(Debug, Clone)]
enum Abort {
    HostKey { host: String, detail: String },
    SizeLimit { received: u64 },
    Deadline,
    Credentials(String),
}

/// Shared state of the callbacks of one fetch (including its submodules).
pub(crate) struct Session {
    pub url: RepoUrl,
    /// What libgit2 connects to: the URL itself, or the local mTLS bridge standing in for it.
    transport_url: String,
    auth: GitAuth,
    host_keys: Option<HostKeyVerifier>,
    deadline: Deadline,
    pub max_size_bytes: Option<u64>,
    credential_attempts: Cell<u32>,
    abort: RefCell<Option<Abort>>,
}

impl Session {
    pub fn new(
        url: RepoUrl,
        auth: GitAuth,
        deadline: Deadline,
        max_size_bytes: Option<u64>,
        bridge_url: Option<String>,
    ) -> Result<Self, GitError> {
        let needs_bridge = matches!(
            &auth,
            GitAuth::Http(HttpAuth {
                client_identity_pem: Some(_),
                ..
            })
        ) && url.scheme() == "https";
        if needs_bridge && bridge_url.is_none() {
            return Err(GitError::InvalidAuth(
                "client certificates ('tls.crt'/'tls.key') need the async fetch (fetch_async)"
                    .to_string(),
            ));
        }
        let transport_url = bridge_url.unwrap_or_else(|| url.for_libgit2());
        let host_keys = match (&auth, url.transport()) {
            (GitAuth::Ssh(ssh), Transport::Ssh) => {
                Some(HostKeyVerifier::new(&ssh.host_keys).map_err(GitError::InvalidAuth)?)
            }
            (_, Transport::Ssh) => {
                return Err(GitError::InvalidAuth(
                    "SSH remotes need 'identity' and 'known_hosts' in the secret".to_string(),
                ));
            }
            (GitAuth::Ssh(_), Transport::Http) => {
                return Err(GitError::InvalidAuth(format!(
                    "the secret holds SSH credentials but '{url}' is an {} URL",
                    url.scheme()
                )));
            }
            _ => None,
        };
        Ok(Session {
            url,
            transport_url,
            auth,
            host_keys,
            deadline,
            max_size_bytes,
            credential_attempts: Cell::new(0),
            abort: RefCell::new(None),
        })
    }

    /// The URL handed to libgit2.
    pub fn transport_url(&self) -> &str {
        &self.transport_url
    }

    /// Extra HTTP headers libgit2 must send (the bearer token).
    pub fn http_headers(&self) -> Vec<String> {
        match &self.auth {
            GitAuth::Http(HttpAuth {
                bearer_token: Some(token),
                ..
            }) => vec![format!("Authorization: Bearer {token}")],
            _ => Vec::new(),
        }
    }

    /// Fetch options carrying fresh callbacks and the auth headers.
    pub fn fetch_options(&self) -> git2::FetchOptions<'_> {
        let mut options = git2::FetchOptions::new();
        options.remote_callbacks(self.callbacks());
        options.download_tags(git2::AutotagOption::None);
        let headers = self.http_headers();
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        options.custom_headers(&header_refs);
        options
    }

    /// Push options carrying fresh callbacks, the auth headers and the server push options
    /// (`git push -o`).
    pub fn push_options<'a>(
        &'a self,
        callbacks: RemoteCallbacks<'a>,
        server_options: &[&str],
    ) -> git2::PushOptions<'a> {
        let mut options = git2::PushOptions::new();
        options.remote_callbacks(callbacks);
        let headers = self.http_headers();
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        options.custom_headers(&header_refs);
        options.remote_push_options(server_options);
        options
    }

    fn past_deadline(&self) -> bool {
        Instant::now() > self.deadline.at
    }

    /// Fails early when the deadline has passed between libgit2 calls.
    pub fn check_deadline(&self) -> Result<(), GitError> {
        if self.past_deadline() {
            return Err(self.timeout_error());
        }
        Ok(())
    }

    pub fn timeout_error(&self) -> GitError {
        GitError::Timeout {
            url: self.url.redacted().to_string(),
            timeout_secs: self.deadline.timeout.as_secs(),
        }
    }

    fn set_abort(&self, abort: Abort) {
        self.abort.borrow_mut().get_or_insert(abort);
    }

    pub fn callbacks(&self) -> RemoteCallbacks<'_> {
        self.credential_attempts.set(0);
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(|_url, username_from_url, allowed| {
            self.credentials(username_from_url, allowed)
        });
        callbacks.certificate_check(|cert, host| self.check_certificate(cert, host));
        callbacks.transfer_progress(|progress| {
            if self.past_deadline() {
                self.set_abort(Abort::Deadline);
                return false;
            }
            let received = progress.received_bytes() as u64;
            if self.max_size_bytes.is_some_and(|limit| received > limit) {
                self.set_abort(Abort::SizeLimit { received });
                return false;
            }
            true
        });
        callbacks.sideband_progress(|_| {
            if self.past_deadline() {
                self.set_abort(Abort::Deadline);
                return false;
            }
            true
        });
        callbacks
    }

    fn credentials(
        &self,
        username_from_url: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        let attempt = self.credential_attempts.get() + 1;
        self.credential_attempts.set(attempt);
        if attempt > MAX_CREDENTIAL_REQUESTS {
            let reason = "the remote rejected the credentials".to_string();
            self.set_abort(Abort::Credentials(reason.clone()));
            return Err(git2::Error::from_str(&reason));
        }
        match &self.auth {
            GitAuth::Ssh(ssh) => {
                let user = username_from_url
                    .or(self.url.username())
                    .or(ssh.username.as_deref())
                    .unwrap_or("git")
                    .to_string();
                if allowed.contains(CredentialType::USERNAME) {
                    return Cred::username(&user);
                }
                let public_key = crate::ssh_key::openssh_public_key(&ssh.identity);
                Cred::ssh_key_from_memory(
                    &user,
                    public_key.as_deref(),
                    &ssh.identity,
                    ssh.passphrase.as_deref(),
                )
                .inspect_err(|err| {
                    self.set_abort(Abort::Credentials(format!(
                        "the SSH identity could not be used: {}",
                        err.message()
                    )));
                })
            }
            GitAuth::Http(HttpAuth {
                basic: Some((user, password)),
                ..
            }) if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) => {
                Cred::userpass_plaintext(user, password)
            }
            GitAuth::Http(HttpAuth {
                bearer_token: Some(_),
                ..
            }) => {
                let reason = "the remote rejected the bearer token".to_string();
                self.set_abort(Abort::Credentials(reason.clone()));
                Err(git2::Error::from_str(&reason))
            }
            _ => {
                let reason = "the remote requires credentials but no secretRef provides them";
                self.set_abort(Abort::Credentials(reason.to_string()));
                Err(git2::Error::from_str(reason))
            }
        }
    }

    fn check_certificate(
        &self,
        cert: &git2::cert::Cert<'_>,
        host: &str,
    ) -> Result<CertificateCheckStatus, git2::Error> {
        if let Some(hostkey) = cert.as_hostkey() {
            let Some(key) = hostkey.hostkey() else {
                let detail = "the server's raw host key is unavailable".to_string();
                self.set_abort(Abort::HostKey {
                    host: host.to_string(),
                    detail: detail.clone(),
                });
                return Err(git2::Error::from_str(&detail));
            };
            // libgit2 passes the host without its port; submodules on other hosts use 22.
            let port = if host == self.url.host() {
                self.url.port()
            } else {
                22
            };
            let verdict = match &self.host_keys {
                Some(verifier) => verifier.verify(host, port, key),
                None => Err("the secret holds no SSH host keys to check against".to_string()),
            };
            return match verdict {
                Ok(()) => Ok(CertificateCheckStatus::CertificateOk),
                Err(detail) => {
                    self.set_abort(Abort::HostKey {
                        host: host.to_string(),
                        detail: detail.clone(),
                    });
                    Err(git2::Error::from_str(&detail))
                }
            };
        }
        if let (
            Some(x509),
            GitAuth::Http(HttpAuth {
                ca_pem: Some(ca_pem),
                ..
            }),
        ) = (cert.as_x509(), &self.auth)
            && crate::tls::leaf_trusted_by(x509.data(), ca_pem.as_slice(), host)
        {
            return Ok(CertificateCheckStatus::CertificateOk);
        }
        // Everything else gets libgit2's own verification against the system roots.
        Ok(CertificateCheckStatus::CertificatePassthrough)
    }

    /// Translates a libgit2 error, preferring the reason a callback recorded.
    pub fn map_error(&self, context: &str, err: &git2::Error) -> GitError {
        let url = self.url.redacted().to_string();
        match self.abort.borrow().clone() {
            Some(Abort::HostKey { host, detail }) => {
                return GitError::HostKeyVerification { host, detail };
            }
            Some(Abort::SizeLimit { received }) => {
                return GitError::SizeLimitExceeded {
                    url,
                    limit_bytes: self.max_size_bytes.unwrap_or_default(),
                    what: format!("download reached {received} bytes"),
                };
            }
            Some(Abort::Deadline) => return self.timeout_error(),
            Some(Abort::Credentials(detail)) => {
                return GitError::AuthenticationFailed { url, detail };
            }
            None => {}
        }
        let message = crate::url::redact(err.message());
        let auth_like = err.code() == git2::ErrorCode::Auth
            || (err.class() == git2::ErrorClass::Ssh
                && message.to_ascii_lowercase().contains("authenticat"))
            || message.contains("status code: 401")
            || message.contains("status code: 403");
        if auth_like {
            return GitError::AuthenticationFailed {
                url,
                detail: message,
            };
        }
        if err.code() == git2::ErrorCode::Certificate {
            return GitError::CertificateUntrusted {
                context: format!("{context} '{url}'"),
                detail: message,
            };
        }
        if message.contains("status code: 404") {
            return GitError::RepositoryNotFound {
                url,
                detail: message,
            };
        }
        if self.past_deadline() {
            return self.timeout_error();
        }
        GitError::operation(format!("{context} '{url}'"), message)
    }
}
