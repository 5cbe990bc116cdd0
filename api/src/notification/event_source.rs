//! Object references shared by Alert (v1beta3) and Receiver (v1): both point at Flux objects by
//! kind, name (or `*`) and optional labels.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Flux kinds an Alert can listen to and a Receiver can trigger.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum FluxObjectKind {
    /// source.toolkit.fluxcd.io Bucket.
    Bucket,
    /// source.toolkit.fluxcd.io GitRepository.
    GitRepository,
    /// kustomize.toolkit.fluxcd.io Kustomization.
    Kustomization,
    /// helm.toolkit.fluxcd.io HelmRelease.
    HelmRelease,
    /// source.toolkit.fluxcd.io HelmChart.
    HelmChart,
    /// source.toolkit.fluxcd.io HelmRepository.
    HelmRepository,
    /// image.toolkit.fluxcd.io ImageRepository.
    ImageRepository,
    /// image.toolkit.fluxcd.io ImagePolicy.
    ImagePolicy,
    /// image.toolkit.fluxcd.io ImageUpdateAutomation.
    ImageUpdateAutomation,
    /// source.toolkit.fluxcd.io OCIRepository.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// source.extensions.fluxcd.io ArtifactGenerator.
    ArtifactGenerator,
    /// source.toolkit.fluxcd.io ExternalArtifact.
    ExternalArtifact,
}

impl FluxObjectKind {
    /// The kind exactly as written in manifests and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bucket => "Bucket",
            Self::GitRepository => "GitRepository",
            Self::Kustomization => "Kustomization",
            Self::HelmRelease => "HelmRelease",
            Self::HelmChart => "HelmChart",
            Self::HelmRepository => "HelmRepository",
            Self::ImageRepository => "ImageRepository",
            Self::ImagePolicy => "ImagePolicy",
            Self::ImageUpdateAutomation => "ImageUpdateAutomation",
            Self::OciRepository => "OCIRepository",
            Self::ArtifactGenerator => "ArtifactGenerator",
            Self::ExternalArtifact => "ExternalArtifact",
        }
    }
}

impl std::fmt::Display for FluxObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Alert's event source: which objects' events it forwards.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSourceReference {
    /// API version of the objects; any version of the kind matches when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,

    /// Kind of the objects.
    pub kind: FluxObjectKind,

    /// Object name, or `*` for every object of the kind (narrowed by `matchLabels`).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,

    /// Namespace of the objects; the Alert's own namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub namespace: Option<String>,

    /// Labels the objects must carry; meant for use with `name: '*'`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<std::collections::BTreeMap<String, String>>,
}

/// A Receiver's target: which objects a verified webhook call asks to reconcile.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverResourceReference {
    /// API version of the objects; any version of the kind matches when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,

    /// Kind of the objects.
    pub kind: FluxObjectKind,

    /// Object name, or `*` for every object of the kind (then `matchLabels` is required).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,

    /// Namespace of the objects; the Receiver's own namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub namespace: Option<String>,

    /// Labels the objects must carry when `name` is `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<std::collections::BTreeMap<String, String>>,

    /// CEL expression over the matched object (`res`) and the request (`req`) deciding whether
    /// this particular object is reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_repository_kind_keeps_its_capitalisation() {
        let kind: FluxObjectKind = serde_json::from_str("\"OCIRepository\"").unwrap();
        assert_eq!(kind, FluxObjectKind::OciRepository);
        assert_eq!(kind.to_string(), "OCIRepository");
        assert_eq!(serde_json::to_string(&kind).unwrap(), "\"OCIRepository\"");
    }
}
