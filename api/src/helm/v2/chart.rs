//! Where a HelmRelease's chart comes from: a HelmChart the controller creates from a template
//! (`spec.chart`) or an existing source object (`spec.chartRef`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::LocalObjectReference;

/// Template of the HelmChart object the controller creates (named `<namespace>-<name>` in the
/// source's namespace) and keeps in sync.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct HelmChartTemplate {
    /// Labels and annotations put on the created HelmChart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMetadata>,

    /// Spec of the created HelmChart.
    pub spec: HelmChartTemplateSpec,
}

/// Labels and annotations to add to generated objects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ObjectMetadata {
    /// Annotations to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,

    /// Labels to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// The chart to fetch and how.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    /// Chart name in a HelmRepository, or path to the chart directory in a Git/Bucket source.
    #[schemars(length(min = 1, max = 2048))]
    pub chart: String,

    /// Semver range for charts from a HelmRepository (`*` = latest); ignored for Git/Bucket
    /// sources, whose chart version comes from Chart.yaml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "*"))]
    pub version: Option<String>,

    /// The source object providing the chart.
    pub source_ref: ChartSourceReference,

    /// How often the HelmChart checks its source; the HelmRelease interval when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub interval: Option<String>,

    /// What counts as a new chart: a new chart version, or any new source revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "ChartVersion"))]
    pub reconcile_strategy: Option<ReconcileStrategy>,

    /// Values files inside the chart (paths relative to the chart root or source root) merged
    /// in order over the chart's default values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_files: Option<Vec<String>>,

    /// Single alternative values file, from v2beta1/v2beta2 (replaced there by `valuesFiles`);
    /// kept so that objects written at those versions survive storage. Treated as if it were
    /// the first entry of `valuesFiles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,

    /// Skip `valuesFiles` entries that do not exist instead of failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_values_files: Option<bool>,

    /// Signature verification of OCI charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<ChartVerification>,
}

impl HelmChartTemplateSpec {
    /// The values files in effect: the legacy single `valuesFile` first, then `valuesFiles`.
    pub fn effective_values_files(&self) -> Vec<String> {
        self.values_file
            .iter()
            .chain(self.values_files.iter().flatten())
            .cloned()
            .collect()
    }
}

/// Source of a templated chart.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,

    /// Kind of the source.
    pub kind: ChartSourceKind,

    /// Name of the source.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,

    /// Namespace of the source; the HelmRelease's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Source kinds a templated chart can come from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ChartSourceKind {
    /// A Helm (HTTP or OCI) repository.
    HelmRepository,
    /// A Git repository containing the chart directory.
    GitRepository,
    /// An S3-compatible bucket containing the chart directory.
    Bucket,
}

/// When the HelmChart produces a new artifact.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ReconcileStrategy {
    /// Only when the chart's version changes.
    #[default]
    ChartVersion,
    /// Whenever the source revision changes (Git/Bucket sources).
    Revision,
}

/// Signature verification settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartVerification {
    /// Signing tool whose signatures are checked.
    #[schemars(extend("default" = "cosign"))]
    pub provider: VerificationProvider,

    /// Secret with the trusted public keys; keyless verification is used when unset (cosign).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// Signing tools.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerificationProvider {
    /// Sigstore cosign.
    #[default]
    Cosign,
    /// Notary Project notation.
    Notation,
}

/// An existing source object whose artifact is the chart.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChartReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,

    /// Kind of the source.
    pub kind: ChartReferenceKind,

    /// Name of the source.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,

    /// Namespace of the source; the HelmRelease's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Source kinds usable through `chartRef`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ChartReferenceKind {
    /// An OCI artifact holding a packaged chart.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// A HelmChart object managed separately.
    HelmChart,
    /// An ExternalArtifact holding a packaged chart.
    ExternalArtifact,
}
