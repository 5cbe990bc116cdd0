//! How the bootstrap talks to the Git server: libgit2 callbacks for credentials, the SSH host
//! key (recorded for the `known_hosts` the controllers will verify against) and HTTPS
//! certificates signed by a CA the user named with `--ca-file`.
//!
//! libgit2 only says "callback returned an error" when a callback gives up, so the callbacks
//! remember *why* in [`Transport`] and [`Transport::explain`] turns that into the message.

use std::{
    cell::{Cell, RefCell},
    net::IpAddr,
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use git2::{CertificateCheckStatus, Cred, CredentialType, RemoteCallbacks, cert::Cert};
use sha2::Digest as _;

/// How often one operation may ask for credentials before they count as rejected.
const MAX_CREDENTIAL_REQUESTS: u32 = 5;

/// What proves who we are to the Git server.
#[derive(Clone)]
pub enum Credentials {
    /// HTTP(S) basic authentication (a token usually goes in the password).
    Basic { username: String, password: String },
    /// An SSH private key (OpenSSH or PEM text) and its passphrase, if any.
    SshKey {
        username: String,
        private_key: String,
        passphrase: Option<String>,
    },
}

/// The SSH host key the server presented, as a `known_hosts` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostKey {
    pub known_hosts_line: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it, for the user to compare.
    pub fingerprint: String,
}

/// Shared state of the callbacks of one bootstrap (connect, fetch and push).
pub struct Transport {
    credentials: Credentials,
    ca_pem: Option<Vec<u8>>,
    /// `host` or `[host]:port`, the name the host key is recorded under.
    ssh_host_entry: Option<String>,
    host_key: RefCell<Option<HostKey>>,
    /// Ask the person at the terminal before trusting a host key (not with `--silent`).
    confirm_host_key: bool,
    credential_attempts: Cell<u32>,
    failure: RefCell<Option<String>>,
}

impl Transport {
    pub fn new(
        credentials: Credentials,
        ca_pem: Option<Vec<u8>>,
        url: &str,
        confirm_host_key: bool,
    ) -> Self {
        Self {
            credentials,
            ca_pem,
            ssh_host_entry: ssh_host_entry(url),
            host_key: RefCell::new(None),
            confirm_host_key,
            credential_attempts: Cell::new(0),
            failure: RefCell::new(None),
        }
    }

    /// The host key seen on the last SSH connection.
    pub fn host_key(&self) -> Option<HostKey> {
        self.host_key.borrow().clone()
    }

    /// Fresh callbacks for one network operation.
    pub fn callbacks(&self) -> RemoteCallbacks<'_> {
        self.credential_attempts.set(0);
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(|_url, username_from_url, allowed| {
            self.credentials(username_from_url, allowed)
        });
        callbacks.certificate_check(|cert, host| self.check_certificate(cert, host));
        callbacks
    }

    /// A libgit2 error, with what a callback recorded about it when there is something.
    pub fn explain(&self, error: &git2::Error) -> String {
        if let Some(failure) = self.failure.borrow_mut().take() {
            return failure;
        }
        let message = error.message().trim_end_matches('.');
        match error.code() {
            git2::ErrorCode::Auth => format!("{} ({message})", self.rejection()),
            git2::ErrorCode::Certificate => format!(
                "the Git server's certificate is not trusted ({message}); pass the CA with --ca-file"
            ),
            _ if message.contains("404") => {
                format!("there is no repository at this URL ({message}); check --url")
            }
            _ if message.contains("401") || message.contains("authentication") => {
                format!("{} ({message})", self.rejection())
            }
            _ => message.to_string(),
        }
    }

    /// What to check when the server turned the credentials down.
    fn rejection(&self) -> String {
        match &self.credentials {
            Credentials::Basic { .. } => {
                "the Git server rejected the credentials; check --username and --password".into()
            }
            Credentials::SshKey { .. } => "the Git server rejected the credentials: it does not \
                 accept the key from --private-key-file, or --password is not the key's passphrase"
                .into(),
        }
    }

    fn fail(&self, why: String) -> git2::Error {
        let error = git2::Error::from_str(&why);
        self.failure.borrow_mut().get_or_insert(why);
        error
    }

    fn credentials(
        &self,
        username_from_url: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        let attempt = self.credential_attempts.get() + 1;
        self.credential_attempts.set(attempt);
        // libgit2 asks again after a rejection, and answering with the same secret forever
        // would loop. It also asks once per request, and a missing repository makes it try
        // the dumb HTTP protocol too, so a couple of requests are allowed before concluding
        // the server said no.
        if attempt > MAX_CREDENTIAL_REQUESTS {
            return Err(self.fail(self.rejection()));
        }
        match &self.credentials {
            Credentials::Basic { username, password } => {
                if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                    return Err(self.fail(
                        "the Git server asks for a login other than username and password".into(),
                    ));
                }
                Cred::userpass_plaintext(username, password)
            }
            Credentials::SshKey {
                username,
                private_key,
                passphrase,
            } => {
                let user = username_from_url.unwrap_or(username);
                if allowed.contains(CredentialType::USERNAME) {
                    return Cred::username(user);
                }
                // libssh2 cannot take the public half out of an encrypted OpenSSH key itself,
                // so it gets it handed over.
                let public_key = super::secret::openssh_public_key(private_key);
                Cred::ssh_key_from_memory(
                    user,
                    public_key.as_deref(),
                    private_key,
                    passphrase.as_deref(),
                )
                .map_err(|error| {
                    self.fail(format!(
                        "the private key cannot be used ({}); is --password its passphrase?",
                        error.message()
                    ))
                })
            }
        }
    }

    fn check_certificate(
        &self,
        cert: &Cert<'_>,
        host: &str,
    ) -> Result<CertificateCheckStatus, git2::Error> {
        if let Some(host_key) = cert.as_hostkey() {
            return self.record_host_key(host_key);
        }
        // libgit2 already accepted certificates the system trusts; what it hands over here
        // is only worth a second look when the user gave a CA of their own.
        match (cert.as_x509(), &self.ca_pem) {
            (Some(x509), Some(ca_pem)) if leaf_trusted_by(x509.data(), ca_pem, host) => {
                Ok(CertificateCheckStatus::CertificateOk)
            }
            _ => Ok(CertificateCheckStatus::CertificatePassthrough),
        }
    }

    /// Trust on first use, as `flux bootstrap git` does with its host key scan: the key is
    /// accepted and recorded, and the controllers later accept only this key.
    fn record_host_key(
        &self,
        host_key: &git2::cert::CertHostkey<'_>,
    ) -> Result<CertificateCheckStatus, git2::Error> {
        let Some(entry) = &self.ssh_host_entry else {
            return Err(self.fail("cannot tell the SSH host from the URL".into()));
        };
        let (Some(raw), Some(key_type)) = (host_key.hostkey(), host_key.hostkey_type()) else {
            return Err(self.fail(
                "the SSH library did not hand over the server's host key, so it cannot be recorded"
                    .into(),
            ));
        };
        let key_type = key_type_of(raw).unwrap_or(key_type.name());
        let line = format!("{entry} {key_type} {}", STANDARD.encode(raw));
        let digest = sha2::Sha256::digest(raw);
        let fingerprint = format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
        );
        let mut recorded = self.host_key.borrow_mut();
        // Every connection of one bootstrap must meet the same server.
        if let Some(previous) = recorded.as_ref()
            && previous.known_hosts_line != line
        {
            return Err(self.fail(format!(
                "the SSH host key of {entry} changed during the bootstrap (now {fingerprint})"
            )));
        }
        if recorded.is_none() && self.confirm_host_key && !confirmed(entry, key_type, &fingerprint)
        {
            return Err(self.fail(format!(
                "the {key_type} host key {fingerprint} of {entry} was not trusted"
            )));
        }
        *recorded = Some(HostKey {
            known_hosts_line: line,
            fingerprint,
        });
        Ok(CertificateCheckStatus::CertificateOk)
    }
}

/// Asks on the terminal whether to trust a host key seen for the first time.
fn confirmed(entry: &str, key_type: &str, fingerprint: &str) -> bool {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "{entry} offers the {key_type} host key {fingerprint}.\n\
         The controllers will accept only this key. Trust it? [y/N] "
    );
    let _ = stderr.flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
}

/// The name `ssh` records a host under: `host`, or `[host]:port` off the default port.
fn ssh_host_entry(url: &str) -> Option<String> {
    let rest = url.strip_prefix("ssh://")?;
    let authority = rest.split('/').next()?;
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        // An IPv6 address: `[::1]` or `[::1]:2222`.
        let (host, after) = bracketed.split_once(']')?;
        (
            host,
            after.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()),
        )
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().ok()),
            None => (host_port, None),
        }
    };
    Some(match port {
        Some(port) if port != 22 => format!("[{host}]:{port}"),
        _ => host.to_string(),
    })
}

/// The algorithm name an SSH public key blob starts with (`ssh-ed25519`, `ecdsa-sha2-nistp256`).
fn key_type_of(blob: &[u8]) -> Option<&str> {
    let prefix: [u8; 4] = blob.get(..4)?.try_into().ok()?;
    let length = u32::from_be_bytes(prefix) as usize;
    std::str::from_utf8(blob.get(4..4usize.checked_add(length)?)?).ok()
}

/// Whether the DER certificate `leaf_der` chains to a certificate in `ca_pem` and names `host`.
fn leaf_trusted_by(leaf_der: &[u8], ca_pem: &[u8], host: &str) -> bool {
    use openssl::{
        stack::Stack,
        x509::{X509, X509StoreContext, store::X509StoreBuilder, verify::X509VerifyParam},
    };
    let verify = || -> Result<bool, openssl::error::ErrorStack> {
        let leaf = X509::from_der(leaf_der)?;
        let mut store = X509StoreBuilder::new()?;
        for ca in X509::stack_from_pem(ca_pem)? {
            store.add_cert(ca)?;
        }
        let mut param = X509VerifyParam::new()?;
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        match bare_host.parse::<IpAddr>() {
            Ok(ip) => param.set_ip(ip)?,
            Err(_) => param.set_host(bare_host)?,
        }
        store.set_param(&param)?;
        let store = store.build();
        let chain = Stack::new()?;
        let mut context = X509StoreContext::new()?;
        context.init(&store, &leaf, &chain, |ctx| ctx.verify_cert())
    };
    verify().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_entries_follow_ssh_naming() {
        assert_eq!(
            ssh_host_entry("ssh://git@example.com/org/repo.git").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            ssh_host_entry("ssh://me@127.0.0.1:2222/srv/repo.git").as_deref(),
            Some("[127.0.0.1]:2222")
        );
        assert_eq!(
            ssh_host_entry("ssh://git@example.com:22/repo").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            ssh_host_entry("ssh://git@[::1]:2222/repo").as_deref(),
            Some("[::1]:2222")
        );
        assert_eq!(ssh_host_entry("https://example.com/repo"), None);
    }

    #[test]
    fn reads_the_algorithm_from_a_key_blob() {
        let mut blob = vec![0, 0, 0, 11];
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 32]);
        assert_eq!(key_type_of(&blob), Some("ssh-ed25519"));
        assert_eq!(key_type_of(&[0, 0, 0, 99, b'x']), None);
    }
}
