//! What a GitRepository's spec asks for, turned into plain values: no API calls, no I/O.
//!
//! Kept apart from the reconciler so every rule here (defaults, unsupported fields, when a clone
//! may be skipped) is unit-tested directly.

use std::time::Duration;

use eddy_api::meta::Artifact;
use eddy_api::source::gitrepository::{GitProvider, GitRepositoryInclude};
use eddy_api::source::{GitRepositorySpec, GitRepositoryStatus};

use crate::git::{DEFAULT_TIMEOUT, GitReference, RefFields};

/// `spec.interval` as a duration.
pub fn interval(spec: &GitRepositorySpec) -> Duration {
    eddy_runtime::time::interval(&spec.interval)
}

/// `spec.timeout` as a duration (60s when unset or unparsable).
pub fn timeout(spec: &GitRepositorySpec) -> Duration {
    eddy_runtime::time::timeout(Some(&spec.timeout), DEFAULT_TIMEOUT)
}

/// The reference `spec.ref` selects, after Flux's precedence.
pub fn reference(spec: &GitRepositorySpec) -> GitReference {
    let fields = spec
        .r#ref
        .as_ref()
        .map(|r| RefFields {
            branch: r.branch.clone(),
            tag: r.tag.clone(),
            semver: r.semver.clone(),
            name: r.name.clone(),
            commit: r.commit.clone(),
        })
        .unwrap_or_default();
    GitReference::from_fields(&fields)
}

/// A spec field Eddy accepts but cannot act on yet: reported as `Stalled` rather than ignored,
/// because silently fetching without verification, a proxy or provider credentials would do
/// something other than what the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub reason: &'static str,
    pub message: String,
}

/// The first spec field that asks for something not implemented yet.
pub fn unsupported(spec: &GitRepositorySpec) -> Option<Unsupported> {
    match spec.provider {
        None | Some(GitProvider::Generic) => {}
        Some(provider) => {
            let name = match provider {
                GitProvider::Aws => "aws",
                GitProvider::Azure => "azure",
                GitProvider::Github => "github",
                GitProvider::Generic => "generic",
            };
            return Some(Unsupported {
                reason: "InvalidProviderConfiguration",
                message: format!(
                    "spec.provider '{name}' is not supported by Eddy yet; use 'generic' with a secretRef"
                ),
            });
        }
    }
    if spec.verify.is_some() {
        return Some(Unsupported {
            reason: "VerificationError",
            message: "spec.verify (commit/tag signature verification) is not supported by Eddy yet"
                .to_owned(),
        });
    }
    if spec.proxy_secret_ref.is_some() {
        return Some(Unsupported {
            reason: "UnsupportedConnectionType",
            message: "spec.proxySecretRef (Git over a proxy) is not supported by Eddy yet"
                .to_owned(),
        });
    }
    None
}

/// The settings besides the ref that shape an artifact, as recorded in the `observed*` status
/// fields. A change of any of them forces a rebuild even when the remote has not moved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContentConfig {
    pub ignore: Option<String>,
    pub recurse_submodules: bool,
    pub include: Vec<GitRepositoryInclude>,
    pub sparse_checkout: Vec<String>,
}

impl ContentConfig {
    pub fn of_spec(spec: &GitRepositorySpec) -> Self {
        ContentConfig {
            ignore: spec.ignore.clone(),
            recurse_submodules: spec.recurse_submodules.unwrap_or(false),
            include: spec.include.clone().unwrap_or_default(),
            sparse_checkout: spec.sparse_checkout.clone().unwrap_or_default(),
        }
    }

    pub fn observed(status: &GitRepositoryStatus) -> Self {
        ContentConfig {
            ignore: status.observed_ignore.clone(),
            recurse_submodules: status.observed_recurse_submodules.unwrap_or(false),
            include: status.observed_include.clone().unwrap_or_default(),
            sparse_checkout: status.observed_sparse_checkout.clone().unwrap_or_default(),
        }
    }

    /// Records this configuration in the `observed*` fields.
    pub fn record(&self, status: &mut GitRepositoryStatus) {
        status.observed_ignore = self.ignore.clone();
        status.observed_recurse_submodules = Some(self.recurse_submodules);
        status.observed_include = (!self.include.is_empty()).then(|| self.include.clone());
        status.observed_sparse_checkout =
            (!self.sparse_checkout.is_empty()).then(|| self.sparse_checkout.clone());
    }
}

/// The revision the remote may be compared against to skip the clone (Flux's optimised clone):
/// only when an artifact is in storage, nothing but the remote could change it (same content
/// configuration, same included artifacts).
pub fn skip_clone_revision(
    status: &GitRepositoryStatus,
    spec_config: &ContentConfig,
    included: &[Artifact],
    artifact_in_storage: bool,
) -> Option<String> {
    let artifact = status.artifact.as_ref()?;
    if !artifact_in_storage || ContentConfig::observed(status) != *spec_config {
        return None;
    }
    let previous = status.included_artifacts.as_deref().unwrap_or_default();
    let same_includes = previous.len() == included.len()
        && previous
            .iter()
            .zip(included)
            .all(|(a, b)| a.revision == b.revision && a.digest == b.digest);
    same_includes.then(|| artifact.revision.clone())
}

#[cfg(test)]
mod tests {
    use eddy_api::meta::LocalObjectReference;
    use eddy_api::source::gitrepository::{GitRepositoryRef, GitRepositoryVerification};

    use super::*;

    fn spec() -> GitRepositorySpec {
        serde_json::from_value(serde_json::json!({
            "url": "https://example.com/repo", "interval": "5m"
        }))
        .unwrap()
    }

    fn artifact(revision: &str, digest: &str) -> Artifact {
        Artifact {
            path: "p".into(),
            url: "u".into(),
            revision: revision.into(),
            digest: digest.into(),
            last_update_time: eddy_runtime::time::now(),
            size: None,
            metadata: None,
        }
    }

    #[test]
    fn durations_and_defaults() {
        let mut spec = spec();
        assert_eq!(interval(&spec), Duration::from_secs(300));
        assert_eq!(timeout(&spec), Duration::from_secs(60), "CRD default");
        spec.timeout = "15s".into();
        assert_eq!(timeout(&spec), Duration::from_secs(15));
        spec.interval = "bogus".into();
        assert_eq!(interval(&spec), eddy_runtime::time::FALLBACK_INTERVAL);
    }

    #[test]
    fn reference_defaults_to_master_and_honours_precedence() {
        let mut spec = spec();
        assert_eq!(reference(&spec), GitReference::Branch("master".into()));
        spec.r#ref = Some(GitRepositoryRef {
            branch: Some("main".into()),
            tag: Some("v1".into()),
            ..Default::default()
        });
        assert_eq!(reference(&spec), GitReference::Tag("v1".into()));
    }

    #[test]
    fn deferred_features_are_reported_not_ignored() {
        let mut spec = spec();
        assert_eq!(unsupported(&spec), None);
        spec.provider = Some(GitProvider::Generic);
        assert_eq!(unsupported(&spec), None);
        spec.provider = Some(GitProvider::Github);
        let report = unsupported(&spec).unwrap();
        assert_eq!(report.reason, "InvalidProviderConfiguration");
        assert!(report.message.contains("github"));
        spec.provider = None;
        spec.verify = Some(GitRepositoryVerification {
            mode: Default::default(),
            secret_ref: LocalObjectReference {
                name: "keys".into(),
            },
        });
        assert!(unsupported(&spec).unwrap().message.contains("spec.verify"));
        spec.verify = None;
        spec.proxy_secret_ref = Some(LocalObjectReference { name: "p".into() });
        assert!(
            unsupported(&spec)
                .unwrap()
                .message
                .contains("proxySecretRef")
        );
    }

    #[test]
    fn clone_is_skipped_only_when_nothing_but_the_remote_could_change_the_artifact() {
        let spec = spec();
        let config = ContentConfig::of_spec(&spec);
        let mut status = GitRepositoryStatus::default();
        assert_eq!(
            skip_clone_revision(&status, &config, &[], true),
            None,
            "no artifact"
        );
        status.artifact = Some(artifact("main@sha1:abc", "sha256:1"));
        config.record(&mut status);
        assert_eq!(
            skip_clone_revision(&status, &config, &[], true).as_deref(),
            Some("main@sha1:abc")
        );
        assert_eq!(
            skip_clone_revision(&status, &config, &[], false),
            None,
            "file vanished"
        );

        let mut changed = config.clone();
        changed.ignore = Some("*.md".into());
        assert_eq!(skip_clone_revision(&status, &changed, &[], true), None);

        let included = [artifact("dep@sha1:1", "sha256:2")];
        assert_eq!(skip_clone_revision(&status, &config, &included, true), None);
        status.included_artifacts = Some(included.to_vec());
        assert!(skip_clone_revision(&status, &config, &included, true).is_some());
        let moved = [artifact("dep@sha1:2", "sha256:3")];
        assert_eq!(skip_clone_revision(&status, &config, &moved, true), None);
    }
}
