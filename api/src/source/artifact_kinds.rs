//! Which API resource serves each kind that publishes an artifact consumers download.
//!
//! Consumers (kustomize-controller, helm-controller) read a `sourceRef` by kind. Looking the kind
//! up here, instead of deriving a plural from its name, is what makes `OCIRepository`
//! (`ocirepositories`) and every later kind resolvable.

/// An artifact-producing kind as the API serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactKind {
    pub kind: &'static str,
    pub group: &'static str,
    /// The version consumers read at (the storage version).
    pub version: &'static str,
    pub plural: &'static str,
}

impl ArtifactKind {
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }
}

/// Every kind a `sourceRef` or `chartRef` may name.
pub const ARTIFACT_KINDS: &[ArtifactKind] = &[
    ArtifactKind {
        kind: "GitRepository",
        group: super::GROUP,
        version: super::VERSION,
        plural: "gitrepositories",
    },
    ArtifactKind {
        kind: "OCIRepository",
        group: super::GROUP,
        version: super::VERSION,
        plural: "ocirepositories",
    },
    ArtifactKind {
        kind: "Bucket",
        group: super::GROUP,
        version: super::VERSION,
        plural: "buckets",
    },
    ArtifactKind {
        kind: "HelmChart",
        group: super::GROUP,
        version: super::VERSION,
        plural: "helmcharts",
    },
    ArtifactKind {
        kind: "ExternalArtifact",
        group: super::GROUP,
        version: super::VERSION,
        plural: "externalartifacts",
    },
];

/// The artifact kind named `kind`, if consumers may reference it.
pub fn artifact_kind(kind: &str) -> Option<&'static ArtifactKind> {
    ARTIFACT_KINDS.iter().find(|k| k.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    #[test]
    fn plurals_match_the_generated_crds() {
        use crate::source::{Bucket, ExternalArtifact, GitRepository, HelmChart, OCIRepository};
        let served = [
            (ExternalArtifact::kind(&()), ExternalArtifact::plural(&())),
            (GitRepository::kind(&()), GitRepository::plural(&())),
            (OCIRepository::kind(&()), OCIRepository::plural(&())),
            (Bucket::kind(&()), Bucket::plural(&())),
            (HelmChart::kind(&()), HelmChart::plural(&())),
        ];
        for (kind, plural) in served {
            let entry = artifact_kind(&kind).unwrap();
            assert_eq!(entry.plural, plural, "{kind}");
            assert_eq!(entry.api_version(), "source.toolkit.fluxcd.io/v1");
        }
    }

    #[test]
    fn unknown_kinds_are_not_guessed() {
        assert!(artifact_kind("HelmRepository").is_none());
        assert!(artifact_kind("gitrepository").is_none());
    }
}
