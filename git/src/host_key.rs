//! How an SSH server's host key is judged: against a `known_hosts` list (every controller, always),
//! or — for `eddy bootstrap` alone — trusted on first use and recorded, so that the controllers
//! can be given a `known_hosts` that lists exactly the key the bootstrap met.
//!
//! Both modes end in [`KnownHosts::verify`]: trust on first use only decides what the list holds
//! before the first check.

use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::known_hosts::{KnownHosts, fingerprint, host_entry, key_type};

/// Which host keys an SSH connection accepts.
#[derive(Clone)]
pub enum HostKeyCheck {
    /// Only keys listed in this `known_hosts` text (the Secret's `known_hosts`).
    KnownHosts(String),
    /// Trust on first use, for `eddy bootstrap` only: it has no `known_hosts` yet and writes one
    /// for the controllers from what it records here. Nothing else may use this mode.
    TrustOnFirstUseForBootstrap(BootstrapHostKeyTrust),
}

impl fmt::Debug for HostKeyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostKeyCheck::KnownHosts(text) => {
                write!(f, "KnownHosts({} lines)", text.lines().count())
            }
            HostKeyCheck::TrustOnFirstUseForBootstrap(_) => {
                f.write_str("TrustOnFirstUseForBootstrap")
            }
        }
    }
}

/// A host key as the bootstrap recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedHostKey {
    /// `host key-type base64` (or `[host]:port …` off port 22), a line of `known_hosts`.
    pub known_hosts_line: String,
    /// The algorithm, e.g. `ssh-ed25519`.
    pub key_type: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

/// Asked once, before a host key seen for the first time is trusted; `false` refuses it.
pub type ConfirmHostKey = dyn Fn(&RecordedHostKey) -> bool + Send + Sync;

/// The state of the bootstrap's trust on first use, shared by all its connections (clone and
/// push), so every one of them must meet the key the first one recorded.
#[derive(Clone, Default)]
pub struct BootstrapHostKeyTrust {
    confirm: Option<Arc<ConfirmHostKey>>,
    recorded: Arc<Mutex<Option<RecordedHostKey>>>,
}

impl BootstrapHostKeyTrust {
    /// Trusts the first key without asking.
    pub fn unattended() -> Self {
        Self::default()
    }

    /// Asks `confirm` before trusting the first key.
    pub fn asking(confirm: impl Fn(&RecordedHostKey) -> bool + Send + Sync + 'static) -> Self {
        Self {
            confirm: Some(Arc::new(confirm)),
            recorded: Arc::default(),
        }
    }

    /// The key met on the first connection, once there was one.
    pub fn recorded(&self) -> Option<RecordedHostKey> {
        self.recorded.lock().ok()?.clone()
    }

    fn verify(&self, host: &str, port: u16, offered_key: &[u8]) -> Result<(), String> {
        let entry = host_entry(host, port);
        let mut recorded = self
            .recorded
            .lock()
            .map_err(|_| "the recorded host key is unavailable".to_string())?;
        if let Some(first) = recorded.as_ref() {
            return KnownHosts::parse(&first.known_hosts_line)
                .verify(host, port, offered_key)
                .map_err(|detail| {
                    format!("the host key of {entry} changed during the bootstrap: {detail}")
                });
        }
        let key_type = key_type(offered_key)
            .ok_or_else(|| format!("{entry} offered a host key of an unreadable type"))?
            .to_string();
        let offered = RecordedHostKey {
            known_hosts_line: format!("{entry} {key_type} {}", STANDARD.encode(offered_key)),
            fingerprint: fingerprint(offered_key),
            key_type,
        };
        if let Some(confirm) = &self.confirm
            && !confirm(&offered)
        {
            return Err(format!(
                "the {} host key {} of {entry} was not trusted",
                offered.key_type, offered.fingerprint
            ));
        }
        *recorded = Some(offered);
        Ok(())
    }
}

/// The check one connection performs, built from a [`HostKeyCheck`].
#[derive(Clone)]
pub(crate) enum HostKeyVerifier {
    Listed(KnownHosts),
    FirstUse(BootstrapHostKeyTrust),
}

impl HostKeyVerifier {
    /// Fails when a `known_hosts` text holds no usable line: nothing could ever match.
    pub fn new(check: &HostKeyCheck) -> Result<Self, String> {
        match check {
            HostKeyCheck::KnownHosts(text) => {
                let parsed = KnownHosts::parse(text);
                if parsed.is_empty() {
                    return Err("'known_hosts' holds no usable host key line".to_string());
                }
                Ok(HostKeyVerifier::Listed(parsed))
            }
            HostKeyCheck::TrustOnFirstUseForBootstrap(trust) => {
                Ok(HostKeyVerifier::FirstUse(trust.clone()))
            }
        }
    }

    /// Checks the key a server presented for `host`:`port`; the error names host and key.
    pub fn verify(&self, host: &str, port: u16, offered_key: &[u8]) -> Result<(), String> {
        match self {
            HostKeyVerifier::Listed(known) => known.verify(host, port, offered_key),
            HostKeyVerifier::FirstUse(trust) => trust.verify(host, port, offered_key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::known_hosts::tests::blob;

    #[test]
    fn first_use_records_the_key_and_holds_later_connections_to_it() {
        let trust = BootstrapHostKeyTrust::unattended();
        let verifier = HostKeyVerifier::FirstUse(trust.clone());
        let key = blob("ssh-ed25519", b"first");
        verifier.verify("127.0.0.1", 2222, &key).unwrap();
        let recorded = trust.recorded().unwrap();
        assert_eq!(
            recorded.known_hosts_line,
            format!("[127.0.0.1]:2222 ssh-ed25519 {}", STANDARD.encode(&key))
        );
        assert_eq!(recorded.fingerprint, fingerprint(&key));
        // The same key again is fine; another one is refused, naming the change.
        verifier.verify("127.0.0.1", 2222, &key).unwrap();
        let err = verifier
            .verify("127.0.0.1", 2222, &blob("ssh-ed25519", b"second"))
            .unwrap_err();
        assert!(err.contains("changed during the bootstrap"), "{err}");
    }

    #[test]
    fn a_refused_confirmation_records_nothing() {
        let trust = BootstrapHostKeyTrust::asking(|offered| {
            assert_eq!(offered.key_type, "ssh-rsa");
            false
        });
        let err = HostKeyVerifier::FirstUse(trust.clone())
            .verify("git.example.com", 22, &blob("ssh-rsa", b"k"))
            .unwrap_err();
        assert!(err.contains("was not trusted"), "{err}");
        assert!(err.contains("git.example.com"), "{err}");
        assert!(trust.recorded().is_none());
    }

    #[test]
    fn an_empty_known_hosts_is_refused_up_front() {
        let err = HostKeyVerifier::new(&HostKeyCheck::KnownHosts("# nothing\n".into()))
            .err()
            .unwrap();
        assert!(err.contains("known_hosts"), "{err}");
    }
}
