//! Kustomization fields from v1beta2 that v1 dropped, kept so old objects survive storage at v1.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::Selector;
use crate::schema::preserve_unknown_fields;

/// From v1beta2, kept for compatibility: a JSON 6902 patch with structured operations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JSON6902Patch {
    /// Operations, applied in order.
    pub patch: Vec<JSON6902Operation>,
    /// The objects patched.
    pub target: Selector,
}

/// One JSON 6902 operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JSON6902Operation {
    /// Operation name.
    pub op: JSON6902Op,
    /// JSON pointer the operation acts on.
    pub path: String,
    /// Source pointer for `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Value for `add`, `replace` and `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_unknown_fields")]
    pub value: Option<serde_json::Value>,
}

/// JSON 6902 operation names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JSON6902Op {
    Test,
    Remove,
    Add,
    Replace,
    Move,
    Copy,
}

/// From v1beta2, kept for compatibility: dry-run validation mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValidationMode {
    /// No validation.
    None,
    /// Client-side validation.
    Client,
    /// Server-side validation.
    Server,
}
