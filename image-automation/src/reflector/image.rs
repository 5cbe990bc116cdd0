//! ImageRepository's pure parts: the canonical image name Flux writes, whether a registry is
//! spoken to over plain HTTP, the exclusion list, and the summary of a scan.

use std::net::IpAddr;

use regex::Regex;
use sha2::{Digest, Sha256};

/// Docker Hub's registry as Flux names it in `canonicalImageName`.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's API actually answers.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// Flux's default `exclusionList`: cosign signature tags.
pub const DEFAULT_EXCLUSION: &str = r"^.*\.sig$";
/// How many of the newest tags `lastScanResult.latestTags` shows.
pub const LATEST_TAGS_SAMPLE: usize = 10;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImageNameError {
    #[error("image name '{0}' is empty")]
    Empty(String),
    #[error("image name '{0}' must not contain a tag or digest")]
    HasTagOrDigest(String),
    #[error(
        "image name '{name}' is invalid: repository path component '{component}' must be lowercase letters, digits and separators"
    )]
    InvalidComponent { name: String, component: String },
}

/// A parsed `spec.image`: the registry host (with port) and the repository path in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    pub registry: String,
    pub repository: String,
}

impl ImageName {
    /// Parses `spec.image` the way Docker names resolve: a first component with a `.`, a `:` or
    /// equal to `localhost` is a registry, otherwise the image is on Docker Hub, where single
    /// names live under `library/`.
    pub fn parse(image: &str) -> Result<ImageName, ImageNameError> {
        let trimmed = image.trim();
        if trimmed.is_empty() {
            return Err(ImageNameError::Empty(image.to_owned()));
        }
        let (registry, path) = match trimmed.split_once('/') {
            Some((first, rest)) if is_registry_host(first) => (normalise_hub(first), rest),
            _ => (DOCKER_HUB.to_owned(), trimmed),
        };
        if path.contains('@') || path.contains(':') {
            return Err(ImageNameError::HasTagOrDigest(image.to_owned()));
        }
        for component in path.split('/') {
            if !is_valid_component(component) {
                return Err(ImageNameError::InvalidComponent {
                    name: image.to_owned(),
                    component: component.to_owned(),
                });
            }
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        Ok(ImageName {
            registry,
            repository,
        })
    }

    /// `status.canonicalImageName`, e.g. `docker.io/library/alpine`.
    pub fn canonical(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The host the distribution API is reached at.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// Plain HTTP without `insecure`, as Flux's registry library allows it: `localhost`, a
    /// loopback or RFC 1918 address, or a `.local` name.
    pub fn is_private_registry(&self) -> bool {
        let host = host_without_port(&self.registry);
        if host == "localhost" || host.ends_with(".local") {
            return true;
        }
        match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(IpAddr::V4(address)) => address.is_loopback() || address.is_private(),
            Ok(IpAddr::V6(address)) => address.is_loopback(),
            Err(_) => false,
        }
    }
}

fn is_registry_host(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

fn normalise_hub(host: &str) -> String {
    match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
        other => other.to_owned(),
    }
}

fn host_without_port(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.split(':').next().unwrap_or(registry)
}

/// A repository path component: lowercase alphanumerics joined by `.`, `_`, `__` or `-`s.
fn is_valid_component(component: &str) -> bool {
    let starts_and_ends_alnum = component
        .chars()
        .next()
        .zip(component.chars().last())
        .is_some_and(|(first, last)| is_lower_alnum(first) && is_lower_alnum(last));
    starts_and_ends_alnum
        && component
            .chars()
            .all(|c| is_lower_alnum(c) || matches!(c, '.' | '_' | '-'))
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid exclusionList pattern '{pattern}': {reason}")]
pub struct ExclusionError {
    pub pattern: String,
    pub reason: String,
}

/// The effective exclusion list: the spec's, or Flux's default when the field is absent.
pub fn effective_exclusions(spec: Option<&[String]>) -> Vec<String> {
    spec.map(<[String]>::to_vec)
        .unwrap_or_else(|| vec![DEFAULT_EXCLUSION.to_owned()])
}

pub fn compile_exclusions(patterns: &[String]) -> Result<Vec<Regex>, ExclusionError> {
    patterns
        .iter()
        .map(|pattern| {
            Regex::new(pattern).map_err(|error| ExclusionError {
                pattern: pattern.clone(),
                reason: error.to_string(),
            })
        })
        .collect()
}

/// Drops every tag an exclusion pattern matches.
pub fn exclude_tags(tags: Vec<String>, exclusions: &[Regex]) -> Vec<String> {
    tags.into_iter()
        .filter(|tag| !exclusions.iter().any(|pattern| pattern.is_match(tag)))
        .collect()
}

/// What `lastScanResult` reports about a set of tags, apart from the scan time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSummary {
    /// A stable hash of the tag set: the same tags in any order give the same revision.
    pub revision: String,
    pub tag_count: usize,
    /// The last tags in descending lexical order, a sample for people reading the status.
    pub latest_tags: Vec<String>,
}

pub fn summarise(tags: &[String]) -> ScanSummary {
    let mut sorted: Vec<&str> = tags.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hasher = Sha256::new();
    for tag in &sorted {
        hasher.update(tag.as_bytes());
        hasher.update(b"\n");
    }
    let latest_tags = sorted
        .iter()
        .rev()
        .take(LATEST_TAGS_SAMPLE)
        .map(|tag| (*tag).to_owned())
        .collect();
    ScanSummary {
        revision: hex::encode(hasher.finalize()),
        tag_count: sorted.len(),
        latest_tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(image: &str) -> String {
        ImageName::parse(image).unwrap().canonical()
    }

    #[test]
    fn canonical_names_as_flux_writes_them() {
        assert_eq!(canonical("alpine"), "docker.io/library/alpine");
        assert_eq!(
            canonical("stefanprodan/podinfo"),
            "docker.io/stefanprodan/podinfo"
        );
        assert_eq!(
            canonical("index.docker.io/library/nginx"),
            "docker.io/library/nginx"
        );
        assert_eq!(
            canonical("ghcr.io/stefanprodan/podinfo"),
            "ghcr.io/stefanprodan/podinfo"
        );
        assert_eq!(canonical("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(canonical("127.0.0.1:5000/a/b"), "127.0.0.1:5000/a/b");
    }

    #[test]
    fn unparseable_names_are_rejected_with_the_cause() {
        assert!(matches!(
            ImageName::parse(""),
            Err(ImageNameError::Empty(_))
        ));
        assert!(matches!(
            ImageName::parse("ghcr.io/org/app:1.0"),
            Err(ImageNameError::HasTagOrDigest(_))
        ));
        assert!(matches!(
            ImageName::parse("ghcr.io/Org/app"),
            Err(ImageNameError::InvalidComponent { component, .. }) if component == "Org"
        ));
    }

    #[test]
    fn private_registries_are_plain_http() {
        let private = |image: &str| ImageName::parse(image).unwrap().is_private_registry();
        assert!(private("localhost:5000/app"));
        assert!(private("127.0.0.1:5000/app"));
        assert!(private("10.1.2.3/app"));
        assert!(private("192.168.0.10:443/app"));
        assert!(private("registry.local/app"));
        assert!(!private("ghcr.io/app"));
        assert!(!private("8.8.8.8/app"));
        assert_eq!(
            ImageName::parse("alpine").unwrap().api_host(),
            DOCKER_HUB_API
        );
    }

    #[test]
    fn default_exclusion_drops_signature_tags() {
        let patterns = compile_exclusions(&effective_exclusions(None)).unwrap();
        let kept = exclude_tags(vec!["1.0".into(), "sha256-abc.sig".into()], &patterns);
        assert_eq!(kept, vec!["1.0".to_owned()]);
        assert!(effective_exclusions(Some(&[])).is_empty());
        assert!(compile_exclusions(&["(".to_owned()]).is_err());
    }

    #[test]
    fn revision_is_independent_of_order_and_changes_with_the_set() {
        let a = summarise(&["1".into(), "2".into()]);
        let b = summarise(&["2".into(), "1".into()]);
        let c = summarise(&["1".into(), "3".into()]);
        assert_eq!(a.revision, b.revision);
        assert_ne!(a.revision, c.revision);
        assert_eq!(a.tag_count, 2);
        assert_eq!(a.latest_tags, vec!["2".to_owned(), "1".to_owned()]);
    }
}
