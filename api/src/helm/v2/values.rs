//! `spec.valuesFrom`: Helm values read from ConfigMaps and Secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Key read when `valuesKey` is not set.
pub const DEFAULT_VALUES_KEY: &str = "values.yaml";

/// A ConfigMap or Secret (in the HelmRelease's namespace) supplying values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    /// Whether the values come from a Secret or a ConfigMap.
    pub kind: ValuesSourceKind,

    /// Name of the ConfigMap or Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,

    /// Data key holding the values (`values.yaml` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253), regex(pattern = r"^[\-._a-zA-Z0-9]+$"))]
    pub values_key: Option<String>,

    /// When set, the key's content is a single value placed at this dotted path (like
    /// `helm --set path=value`) instead of a YAML document merged at the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 250),
        regex(pattern = r"^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$")
    )]
    pub target_path: Option<String>,

    /// Do not fail when the object or key is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,

    /// With `targetPath`, keep the value as a string verbatim (like `helm --set-literal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<bool>,
}

impl ValuesReference {
    /// The data key to read.
    pub fn key(&self) -> &str {
        self.values_key.as_deref().unwrap_or(DEFAULT_VALUES_KEY)
    }
}

/// Object kinds that can hold values.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ValuesSourceKind {
    /// A core/v1 Secret.
    Secret,
    /// A core/v1 ConfigMap.
    ConfigMap,
}
