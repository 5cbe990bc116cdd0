//! `oci://<host>[:port]/<repository>` addresses, as OCIRepository's `spec.url` holds them.

use std::fmt;

use crate::error::UrlError;

const SCHEME: &str = "oci://";

/// A repository in a registry, parsed from an `oci://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryUrl {
    /// `host[:port]`, lowercase.
    pub registry: String,
    /// The repository path inside the registry, e.g. `team/manifests`.
    pub repository: String,
}

impl RepositoryUrl {
    /// Parses `oci://host[:port]/path`. A tag or digest in the URL is refused: Flux takes those
    /// from `spec.ref`, so one in the URL would silently be something else than what is pulled.
    pub fn parse(url: &str) -> Result<RepositoryUrl, UrlError> {
        let invalid = |detail: &str| UrlError {
            url: url.to_owned(),
            detail: detail.to_owned(),
        };
        let rest = url
            .strip_prefix(SCHEME)
            .ok_or_else(|| invalid("the URL must start with 'oci://'"))?;
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid("the URL names no repository after the host"))?;
        if host.is_empty() || host.contains('@') {
            return Err(invalid("the host is empty or carries credentials"));
        }
        let path = path.trim_end_matches('/');
        if path.is_empty() {
            return Err(invalid("the URL names no repository after the host"));
        }
        if path.contains('@')
            || path
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':'))
        {
            return Err(invalid(
                "the URL must not carry a tag or digest; set spec.ref instead",
            ));
        }
        let valid_component = |part: &str| {
            !part.is_empty()
                && part.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
        };
        if !path.split('/').all(valid_component) {
            return Err(invalid(
                "repository path components must be lowercase letters, digits, '.', '_' or '-'",
            ));
        }
        Ok(RepositoryUrl {
            registry: host.to_ascii_lowercase(),
            repository: path.to_owned(),
        })
    }

    /// Whether the registry is on a loopback address (for messages about plain HTTP).
    pub fn is_loopback(&self) -> bool {
        let host = self
            .registry
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(self.registry.as_str(), |(host, _)| host);
        matches!(host, "localhost" | "127.0.0.1" | "[::1]")
    }
}

impl fmt::Display for RepositoryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_nested_repositories() {
        let url = RepositoryUrl::parse("oci://127.0.0.1:5000/team/app-manifests").unwrap();
        assert_eq!(url.registry, "127.0.0.1:5000");
        assert_eq!(url.repository, "team/app-manifests");
        assert!(url.is_loopback());
        assert_eq!(url.to_string(), "oci://127.0.0.1:5000/team/app-manifests");
        let url = RepositoryUrl::parse("oci://GHCR.io/stefanprodan/manifests/podinfo/").unwrap();
        assert_eq!(url.registry, "ghcr.io");
        assert_eq!(url.repository, "stefanprodan/manifests/podinfo");
        assert!(!url.is_loopback());
    }

    #[test]
    fn refuses_other_schemes_missing_paths_tags_and_digests() {
        for bad in [
            "https://ghcr.io/app",
            "oci://ghcr.io",
            "oci://ghcr.io/",
            "oci:///app",
            "oci://ghcr.io/app:1.0.0",
            "oci://ghcr.io/app@sha256:00",
            "oci://user:pw@ghcr.io/app",
            "oci://ghcr.io/App",
            "oci://ghcr.io//app",
        ] {
            let error = RepositoryUrl::parse(bad).unwrap_err();
            assert_eq!(error.url, bad);
        }
    }
}
