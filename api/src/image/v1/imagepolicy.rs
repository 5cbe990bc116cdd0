//! `ImagePolicy` (image.toolkit.fluxcd.io/v1): picks the "latest" tag among those an
//! ImageRepository scanned, by semver range, alphabetical or numerical order, after optional
//! regex filtering.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::NamespacedObjectReference;

/// Desired state of an image policy.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImagePolicy",
    namespaced,
    status = "ImagePolicyStatus",
    derive = "PartialEq",
    plural = "imagepolicies",
    shortname = "imgpol",
    shortname = "imagepol",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    printcolumn = r#"{"name": "Image", "type": "string", "jsonPath": ".status.latestRef.name"}"#,
    printcolumn = r#"{"name": "Tag", "type": "string", "jsonPath": ".status.latestRef.tag"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Status", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
    doc = "Selects the latest image tag from an ImageRepository's scan."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "message": "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'",
        "rule": "!has(self.interval) || (has(self.digestReflectionPolicy) && self.digestReflectionPolicy == 'Always')"
    },
    {
        "message": "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
        "rule": "has(self.interval) || !has(self.digestReflectionPolicy) || self.digestReflectionPolicy != 'Always'"
    }
]))]
pub struct ImagePolicySpec {
    /// The ImageRepository whose tags are considered; another namespace needs that
    /// repository's `accessFrom` to allow it.
    pub image_repository_ref: NamespacedObjectReference,

    /// How tags are ordered to find the latest.
    pub policy: ImagePolicyChoice,

    /// Regex filter (and optional rewrite) applied to tags before the policy orders them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,

    /// Whether `status.latestRef.digest` is filled in: never, once per new tag, or re-checked
    /// every `interval` (to follow tags that are moved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Never"))]
    pub digest_reflection_policy: Option<DigestReflectionPolicy>,

    /// How often the digest is re-read; only allowed, and then required, with `Always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub interval: Option<String>,

    /// When true, the latest tag is no longer re-evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Ordering used to choose a tag; exactly one member is expected to be set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ImagePolicyChoice {
    /// Highest tag that parses as semver and satisfies the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<SemVerPolicy>,

    /// Last tag in lexical order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alphabetical: Option<AlphabeticalPolicy>,

    /// Last tag in numeric order (tags that are not numbers are ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical: Option<NumericalPolicy>,
}

/// The policy an [`ImagePolicyChoice`] selects, resolved to one variant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SelectedPolicy<'a> {
    /// Semver range.
    SemVer(&'a SemVerPolicy),
    /// Lexical ordering.
    Alphabetical(SortOrder),
    /// Numeric ordering.
    Numerical(SortOrder),
}

impl ImagePolicyChoice {
    /// The configured policy, or `None` if no member is set. When several are set (which Flux
    /// does not reject in the schema) semver wins, then alphabetical, then numerical.
    pub fn selected(&self) -> Option<SelectedPolicy<'_>> {
        if let Some(semver) = &self.semver {
            return Some(SelectedPolicy::SemVer(semver));
        }
        if let Some(alphabetical) = &self.alphabetical {
            return Some(SelectedPolicy::Alphabetical(
                alphabetical.order.unwrap_or_default(),
            ));
        }
        self.numerical
            .as_ref()
            .map(|numerical| SelectedPolicy::Numerical(numerical.order.unwrap_or_default()))
    }
}

/// Semver selection.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct SemVerPolicy {
    /// Constraint such as `>=1.0.0 <2.0.0` or `^1.2`.
    pub range: String,
}

/// Lexical selection.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct AlphabeticalPolicy {
    /// `asc` picks the last tag in ascending order (e.g. `z`), `desc` the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "asc"))]
    pub order: Option<SortOrder>,
}

/// Numeric selection.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct NumericalPolicy {
    /// `asc` picks the largest number, `desc` the smallest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "asc"))]
    pub order: Option<SortOrder>,
}

/// Sort direction of alphabetical and numerical policies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// The greatest value is the latest.
    #[default]
    Asc,
    /// The smallest value is the latest.
    Desc,
}

/// Tag pre-filter.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct TagFilter {
    /// Regular expression (named groups allowed) a tag must match to be considered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,

    /// Replacement template (e.g. `$ts`) turning a matching tag into the value the policy
    /// orders; the original tag is still what gets reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
}

/// When the digest of the chosen tag is looked up.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum DigestReflectionPolicy {
    /// Re-read the digest every `interval`.
    Always,
    /// Read it once for each newly chosen tag.
    IfNotPresent,
    /// Never read it.
    #[default]
    Never,
}

/// A chosen image: name, tag and optionally the digest the tag pointed at.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ImageRef {
    /// Image name without tag.
    pub name: String,
    /// The tag.
    pub tag: String,
    /// Manifest digest (`sha256:…`), when digest reflection is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl std::fmt::Display for ImageRef {
    /// `name:tag`, followed by `@digest` when the digest is known.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)?;
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Observed state of an ImagePolicy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicyStatus {
    /// The image currently selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_ref: Option<ImageRef>,

    /// The image selected before the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_previous_ref: Option<ImageRef>,

    /// Selected image as one `name:tag` string, as v1beta1/v1beta2 reported it; kept for
    /// compatibility with statuses written at those versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_image: Option<String>,

    /// Previously selected image as one string, as v1beta2 reported it; kept for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_previous_image: Option<String>,

    /// Generation of the spec the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready / Reconciling / Stalled conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Option<Vec<Condition>>,

    /// Last `reconcile.fluxcd.io/requestedAt` annotation value that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The CustomResourceDefinition Eddy installs for ImagePolicy at its current version.
pub fn crd() -> CustomResourceDefinition {
    let options = crate::schema::FinalizeOptions {
        status_default: true,
        substitute_annotation: false,
    };
    crate::schema::finalize(<ImagePolicy as kube::CustomResourceExt>::crd(), options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerical_policy_defaults_to_ascending() {
        let policy: ImagePolicy = serde_yaml_ng::from_str(
            r#"
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: app}
spec:
  imageRepositoryRef: {name: app, namespace: images}
  filterTags:
    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)'
    extract: '$ts'
  policy:
    numerical: {}
"#,
        )
        .unwrap();
        assert_eq!(
            policy.spec.policy.selected(),
            Some(SelectedPolicy::Numerical(SortOrder::Asc))
        );
        assert_eq!(
            policy.spec.image_repository_ref.namespace.as_deref(),
            Some("images")
        );
        assert_eq!(
            policy.spec.filter_tags.unwrap().extract.as_deref(),
            Some("$ts")
        );
    }

    #[test]
    fn image_ref_display_includes_digest_when_known() {
        let mut image = ImageRef {
            name: "ghcr.io/org/app".into(),
            tag: "1.2.3".into(),
            digest: None,
        };
        assert_eq!(image.to_string(), "ghcr.io/org/app:1.2.3");
        image.digest = Some("sha256:abc".into());
        assert_eq!(image.to_string(), "ghcr.io/org/app:1.2.3@sha256:abc");
    }

    #[test]
    fn crd_plural_and_interval_rules() {
        let crd = serde_json::to_value(crd()).unwrap();
        assert_eq!(
            crd["metadata"]["name"],
            "imagepolicies.image.toolkit.fluxcd.io"
        );
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(
            spec["x-kubernetes-validations"].as_array().unwrap().len(),
            2
        );
        assert_eq!(
            spec["properties"]["digestReflectionPolicy"]["default"],
            "Never"
        );
        assert_eq!(
            spec["properties"]["policy"]["properties"]["alphabetical"]["properties"]["order"]["default"],
            "asc"
        );
    }
}
