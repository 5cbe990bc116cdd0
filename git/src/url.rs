//! Validation of repository URLs and removal of credentials before URLs appear in messages.

use crate::error::GitError;

/// The transport a repository URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `http://` or `https://` (smart HTTP).
    Http,
    /// `ssh://`.
    Ssh,
}

/// A repository URL that passed validation.
#[derive(Debug, Clone)]
pub struct RepoUrl {
    parsed: url::Url,
    redacted: String,
}

impl RepoUrl {
    /// Validates `raw`: only `http`, `https` and `ssh` URLs with a host are accepted. scp-like
    /// addresses (`git@host:path`) are rejected because Flux rejects them too, so a manifest
    /// that works here works there.
    pub fn parse(raw: &str) -> Result<Self, GitError> {
        let raw = raw.trim();
        let invalid = |detail: &str| GitError::InvalidUrl {
            url: redact(raw),
            detail: detail.to_string(),
        };
        if raw.is_empty() {
            return Err(invalid("the URL is empty"));
        }
        if !raw.contains("://") {
            return Err(invalid(
                "scp-like or scheme-less addresses are not supported; use ssh://, http:// or https://",
            ));
        }
        let parsed = url::Url::parse(raw).map_err(|err| invalid(&err.to_string()))?;
        match parsed.scheme() {
            "http" | "https" | "ssh" => {}
            other => {
                return Err(invalid(&format!(
                    "unsupported scheme '{other}'; only http, https and ssh are allowed"
                )));
            }
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the URL has no host"));
        }
        let redacted = redact(raw);
        Ok(RepoUrl { parsed, redacted })
    }

    /// Which transport the scheme selects.
    pub fn transport(&self) -> Transport {
        if self.parsed.scheme() == "ssh" {
            Transport::Ssh
        } else {
            Transport::Http
        }
    }

    /// The scheme (`http`, `https` or `ssh`).
    pub fn scheme(&self) -> &str {
        self.parsed.scheme()
    }

    /// The host name or address, without brackets for IPv6.
    pub fn host(&self) -> String {
        match self.parsed.host() {
            Some(url::Host::Ipv6(addr)) => addr.to_string(),
            Some(host) => host.to_string(),
            None => String::new(),
        }
    }

    /// The port, falling back to the scheme's default.
    pub fn port(&self) -> u16 {
        self.parsed
            .port_or_known_default()
            .unwrap_or(if self.transport() == Transport::Ssh {
                22
            } else {
                80
            })
    }

    /// The user name in the URL (`ssh://git@host/…` → `git`), if any.
    pub fn username(&self) -> Option<&str> {
        Some(self.parsed.username()).filter(|user| !user.is_empty())
    }

    /// The URL handed to libgit2. User info is dropped for HTTP so that credentials only ever
    /// come from the Secret; for SSH the user name is kept because it selects the account.
    pub fn for_libgit2(&self) -> String {
        let mut url = self.parsed.clone();
        // Setting these cannot fail for URLs with a host, which parse() guarantees.
        let _ = url.set_password(None);
        if self.transport() == Transport::Http {
            let _ = url.set_username("");
        }
        url.to_string()
    }

    /// The name `known_hosts` lists an SSH host under (`host`, or `[host]:port` off port 22);
    /// `None` for HTTP(S).
    pub fn ssh_host_entry(&self) -> Option<String> {
        (self.transport() == Transport::Ssh)
            .then(|| crate::known_hosts::host_entry(&self.host(), self.port()))
    }

    /// The path part (`/org/repo.git`).
    pub fn path(&self) -> &str {
        self.parsed.path()
    }

    /// The query string, if any.
    pub fn query(&self) -> Option<&str> {
        self.parsed.query()
    }

    /// The URL with any password or token removed, safe for messages and logs.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }
}

impl std::fmt::Display for RepoUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// Removes the user info from anything that looks like `scheme://user:secret@host/…`.
///
/// Works on strings that are not valid URLs too (they end up in error messages as well).
pub fn redact(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_string();
    };
    let authority_start = scheme_end + 3;
    let rest = &raw[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    match authority.rfind('@') {
        Some(at) => {
            let user_info = &authority[..at];
            // Keep a bare user name (ssh://git@…): it is not secret and helps diagnose.
            let shown_user = if user_info.contains(':') {
                format!("{}:***", user_info.split(':').next().unwrap_or_default())
            } else {
                user_info.to_string()
            };
            format!(
                "{}{}@{}",
                &raw[..authority_start],
                shown_user,
                &rest[at + 1..]
            )
        }
        None => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_schemes() {
        for url in [
            "http://example.com/repo.git",
            "https://example.com/repo.git",
            "ssh://git@example.com:2222/org/repo.git",
        ] {
            assert!(RepoUrl::parse(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn rejects_scp_like_and_other_schemes() {
        for url in [
            "git@github.com:org/repo.git",
            "git://example.com/repo.git",
            "file:///tmp/repo",
            "ftp://example.com/repo",
            "",
        ] {
            let err = RepoUrl::parse(url).expect_err(url);
            assert_eq!(err.reason(), "URLInvalid", "{url}");
        }
    }

    #[test]
    fn redacts_passwords_but_keeps_user_names() {
        assert_eq!(
            redact("https://bob:hunter2@example.com/x.git"),
            "https://bob:***@example.com/x.git"
        );
        assert_eq!(redact("ssh://git@host/x"), "ssh://git@host/x");
        assert_eq!(redact("https://host/a@b"), "https://host/a@b");
        let url = RepoUrl::parse("https://bob:hunter2@example.com/x.git").unwrap();
        assert!(!url.to_string().contains("hunter2"));
        assert!(!url.for_libgit2().contains("hunter2"));
        assert!(!url.for_libgit2().contains("bob"));
    }

    #[test]
    fn host_entries_follow_ssh_naming() {
        let entry = |url: &str| RepoUrl::parse(url).unwrap().ssh_host_entry();
        assert_eq!(
            entry("ssh://git@example.com/org/repo.git").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            entry("ssh://me@127.0.0.1:2222/srv/repo.git").as_deref(),
            Some("[127.0.0.1]:2222")
        );
        assert_eq!(
            entry("ssh://git@example.com:22/repo").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            entry("ssh://git@[::1]:2222/repo").as_deref(),
            Some("[::1]:2222")
        );
        assert_eq!(entry("https://example.com/repo"), None);
    }

    #[test]
    fn ssh_port_and_user() {
        let url = RepoUrl::parse("ssh://git@127.0.0.1:2222/repo.git").unwrap();
        assert_eq!(url.transport(), Transport::Ssh);
        assert_eq!(url.port(), 2222);
        assert_eq!(url.host(), "127.0.0.1");
        assert_eq!(url.username(), Some("git"));
        let default_port = RepoUrl::parse("ssh://host/repo.git").unwrap();
        assert_eq!(default_port.port(), 22);
    }
}
