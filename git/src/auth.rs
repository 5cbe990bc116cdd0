//! Credentials for a Git remote, built from the `data` of the Secret named by `spec.secretRef`.
//!
//! Keys follow Flux: HTTP(S) uses `username`+`password` or `bearerToken` (not both), `ca.crt`
//! (legacy `caFile`) and `tls.crt`/`tls.key` (mTLS); SSH uses `identity`, optional `password` and
//! `known_hosts`, which is mandatory because host keys are always verified.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::GitError;
use crate::host_key::HostKeyCheck;
use crate::url::Transport;

/// Credentials for HTTP and HTTPS remotes.
#[derive(Clone, Default)]
pub struct HttpAuth {
    /// `username` and `password` for basic authentication.
    pub basic: Option<(String, String)>,
    /// `bearerToken`, sent as `Authorization: Bearer …`.
    pub bearer_token: Option<String>,
    /// PEM certificates trusted in addition to the system roots (`ca.crt`).
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate and key for mTLS (`tls.crt` followed by `tls.key`, PEM).
    pub client_identity_pem: Option<Vec<u8>>,
}

/// Credentials for SSH remotes.
#[derive(Clone)]
pub struct SshAuth {
    /// The private key (`identity`), PEM or OpenSSH format.
    pub identity: String,
    /// The private key's passphrase (`password`).
    pub passphrase: Option<String>,
    /// The user to log in as when the URL names none (`git` when this is unset too).
    pub username: Option<String>,
    /// Which host keys are accepted: the Secret's `known_hosts` for every controller.
    pub host_keys: HostKeyCheck,
}

/// Credentials for one remote.
#[derive(Clone, Default)]
pub enum GitAuth {
    /// Anonymous access (HTTP(S) only: SSH always needs `known_hosts`).
    #[default]
    None,
    /// HTTP(S) credentials and trust settings.
    Http(HttpAuth),
    /// SSH key and known hosts.
    Ssh(SshAuth),
}

// Debug never prints secret material, so errors and logs that include an auth value stay clean.
impl fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitAuth::None => f.write_str("GitAuth::None"),
            GitAuth::Http(http) => f
                .debug_struct("GitAuth::Http")
                .field("basic", &http.basic.as_ref().map(|(user, _)| user))
                .field("bearer_token", &http.bearer_token.as_ref().map(|_| "***"))
                .field("ca_pem", &http.ca_pem.is_some())
                .field(
                    "client_identity",
                    &http.client_identity_pem.as_ref().map(|_| "***"),
                )
                .finish(),
            GitAuth::Ssh(ssh) => f
                .debug_struct("GitAuth::Ssh")
                .field("identity", &"***")
                .field("passphrase", &ssh.passphrase.as_ref().map(|_| "***"))
                .field("username", &ssh.username)
                .field("host_keys", &ssh.host_keys)
                .finish(),
        }
    }
}

impl GitAuth {
    /// Builds credentials for `transport` from a Secret's data (`None` when the object has no
    /// `secretRef`). Keys that belong to the other transport are ignored.
    pub fn from_secret_data(
        transport: Transport,
        data: Option<&BTreeMap<String, Vec<u8>>>,
    ) -> Result<Self, GitError> {
        let Some(data) = data else {
            return match transport {
                Transport::Http => Ok(GitAuth::None),
                Transport::Ssh => Err(GitError::InvalidAuth(
                    "SSH remotes need a secretRef with 'identity' and 'known_hosts'".to_string(),
                )),
            };
        };
        match transport {
            Transport::Http => http_from_secret(data).map(GitAuth::Http),
            Transport::Ssh => ssh_from_secret(data).map(GitAuth::Ssh),
        }
    }
}

fn text(data: &BTreeMap<String, Vec<u8>>, key: &str) -> Result<Option<String>, GitError> {
    match data.get(key) {
        None => Ok(None),
        Some(bytes) => String::from_utf8(bytes.clone())
            .map(|value| Some(value).filter(|value| !value.is_empty()))
            .map_err(|_| GitError::InvalidAuth(format!("key '{key}' is not valid UTF-8"))),
    }
}

fn http_from_secret(data: &BTreeMap<String, Vec<u8>>) -> Result<HttpAuth, GitError> {
    let username = text(data, "username")?;
    let password = text(data, "password")?;
    let bearer_token = text(data, "bearerToken")?;
    let basic = match (username, password) {
        (Some(user), Some(pass)) => Some((user, pass)),
        // A user name alone is valid basic auth (some servers take a token as the user name).
        (Some(user), None) => Some((user, String::new())),
        (None, Some(_)) => {
            return Err(GitError::InvalidAuth(
                "key 'password' is set but 'username' is missing".to_string(),
            ));
        }
        (None, None) => None,
    };
    if basic.is_some() && bearer_token.is_some() {
        return Err(GitError::InvalidAuth(
            "basic auth ('username'/'password') and 'bearerToken' cannot be used together"
                .to_string(),
        ));
    }
    let client_identity_pem = match (data.get("tls.crt"), data.get("tls.key")) {
        (Some(cert), Some(key)) if !cert.is_empty() && !key.is_empty() => {
            let mut pem = cert.clone();
            pem.push(b'\n');
            pem.extend_from_slice(key);
            Some(pem)
        }
        (None, None) => None,
        _ => {
            return Err(GitError::InvalidAuth(
                "mTLS needs both 'tls.crt' and 'tls.key'".to_string(),
            ));
        }
    };
    let ca_pem = data
        .get("ca.crt")
        .or_else(|| data.get("caFile"))
        .filter(|pem| !pem.is_empty())
        .cloned();
    Ok(HttpAuth {
        basic,
        bearer_token,
        ca_pem,
        client_identity_pem,
    })
}

fn ssh_from_secret(data: &BTreeMap<String, Vec<u8>>) -> Result<SshAuth, GitError> {
    let identity = text(data, "identity")?.ok_or_else(|| {
        GitError::InvalidAuth("SSH auth needs the key 'identity' (a private key)".to_string())
    })?;
    let known_hosts = text(data, "known_hosts")?.ok_or_else(|| {
        GitError::InvalidAuth(
            "SSH auth needs the key 'known_hosts'; host keys are always verified".to_string(),
        )
    })?;
    Ok(SshAuth {
        identity,
        passphrase: text(data, "password")?,
        username: None,
        host_keys: HostKeyCheck::KnownHosts(known_hosts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn http_basic_and_ca() {
        let data = secret(&[("username", "u"), ("password", "p"), ("ca.crt", "PEM")]);
        let GitAuth::Http(http) = GitAuth::from_secret_data(Transport::Http, Some(&data)).unwrap()
        else {
            panic!("expected http auth");
        };
        assert_eq!(http.basic, Some(("u".into(), "p".into())));
        assert_eq!(http.ca_pem.as_deref(), Some(b"PEM".as_slice()));
    }

    #[test]
    fn basic_and_bearer_conflict() {
        let data = secret(&[("username", "u"), ("password", "p"), ("bearerToken", "t")]);
        let err = GitAuth::from_secret_data(Transport::Http, Some(&data)).unwrap_err();
        assert_eq!(err.reason(), "AuthenticationFailed");
        assert!(err.to_string().contains("bearerToken"));
    }

    #[test]
    fn password_without_username_is_rejected() {
        let data = secret(&[("password", "p")]);
        let err = GitAuth::from_secret_data(Transport::Http, Some(&data)).unwrap_err();
        assert!(err.to_string().contains("'username' is missing"), "{err}");
    }

    #[test]
    fn ssh_needs_identity_and_known_hosts() {
        let missing_identity = secret(&[("known_hosts", "h ssh-ed25519 AAAA")]);
        let err = GitAuth::from_secret_data(Transport::Ssh, Some(&missing_identity)).unwrap_err();
        assert!(err.to_string().contains("'identity'"), "{err}");
        let missing_hosts = secret(&[("identity", "KEY")]);
        let err = GitAuth::from_secret_data(Transport::Ssh, Some(&missing_hosts)).unwrap_err();
        assert!(err.to_string().contains("'known_hosts'"), "{err}");
        let err = GitAuth::from_secret_data(Transport::Ssh, None).unwrap_err();
        assert_eq!(err.reason(), "AuthenticationFailed");
    }

    #[test]
    fn client_certificate_needs_both_halves() {
        let data = secret(&[("tls.crt", "C"), ("tls.key", "K")]);
        let GitAuth::Http(http) = GitAuth::from_secret_data(Transport::Http, Some(&data)).unwrap()
        else {
            panic!("expected http auth");
        };
        assert_eq!(
            http.client_identity_pem.as_deref(),
            Some(b"C\nK".as_slice())
        );
        let half = secret(&[("tls.crt", "C")]);
        let err = GitAuth::from_secret_data(Transport::Http, Some(&half)).unwrap_err();
        assert!(err.to_string().contains("'tls.key'"), "{err}");
    }

    #[test]
    fn debug_hides_secrets() {
        let data = secret(&[("username", "u"), ("password", "hunter2")]);
        let auth = GitAuth::from_secret_data(Transport::Http, Some(&data)).unwrap();
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
