//! `spec.postRenderers`: kustomize-style transformations applied to the rendered chart before
//! it is installed, and the drift detection settings that compare the result with the cluster.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{Image, Patch, Selector};

/// One post-renderer; they run in list order.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PostRenderer {
    /// Kustomize transformations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizePostRenderer>,
}

/// Kustomize transformations for rendered manifests.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizePostRenderer {
    /// Strategic-merge or JSON6902 patches, each applied to the objects its target selects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<Patch>>,

    /// Image name/tag/digest overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Image>>,

    /// Structured JSON6902 patches from v2beta1/v2beta2 (dropped in v2 in favour of `patches`);
    /// kept so that objects written at those versions survive storage and still apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "patchesJson6902")]
    pub patches_json6902: Option<Vec<LegacyJson6902Patch>>,

    /// Strategic-merge patches as inline objects, from v2beta1/v2beta2 (dropped in v2 in
    /// favour of `patches`); kept for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::list_of_preserved_objects")]
    pub patches_strategic_merge: Option<Vec<serde_json::Value>>,
}

/// A JSON6902 patch with its target, as v2beta1/v2beta2 expressed it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct LegacyJson6902Patch {
    /// Objects the operations apply to.
    pub target: Selector,

    /// Operations, applied in order.
    pub patch: Vec<JsonPatchOperation>,
}

/// One RFC 6902 operation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct JsonPatchOperation {
    /// Operation name.
    pub op: JsonPatchOp,

    /// JSON pointer the operation acts on.
    pub path: String,

    /// Source pointer for `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,

    /// Value for `add`, `replace` and `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub value: Option<serde_json::Value>,
}

/// RFC 6902 operation names.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonPatchOp {
    /// Assert a value.
    Test,
    /// Remove a value.
    Remove,
    /// Add a value.
    Add,
    /// Replace a value.
    Replace,
    /// Move a value.
    Move,
    /// Copy a value.
    Copy,
}

/// Drift detection: comparing the release's objects in the cluster with the desired ones.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct DriftDetection {
    /// Whether drift is corrected, only reported, or not looked for (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DriftDetectionMode>,

    /// Fields excluded from the comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<IgnoreRule>>,
}

/// Drift detection modes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DriftDetectionMode {
    /// Detect drift and correct it with an upgrade.
    Enabled,
    /// Detect drift and only report it.
    Warn,
    /// Do not detect drift.
    #[default]
    Disabled,
}

/// JSON pointers to ignore, optionally only on some objects.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct IgnoreRule {
    /// JSON pointers (RFC 6901) of the ignored fields.
    pub paths: Vec<String>,

    /// Objects the rule applies to (all of the release's objects when unset); group, version,
    /// kind, name and namespace are regular expressions here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}
