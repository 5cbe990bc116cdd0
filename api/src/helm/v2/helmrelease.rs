//! `HelmRelease` (helm.toolkit.fluxcd.io/v2): a Helm release the helm controller installs,
//! upgrades, tests, remediates and uninstalls so that it matches a chart and a set of values.
//!
//! The spec is split over sibling modules: [`super::chart`] (chart source),
//! [`super::actions`] (per-action settings), [`super::post_render`] (post-renderers and drift
//! detection), [`super::values`] (values references) and [`super::status`].
//!
//! Fields that only exist in the older v2beta1/v2beta2 versions are carried here too (marked in
//! their docs), because objects written at an old version are stored at v2 and the API server
//! would otherwise prune them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::actions::*;
pub use super::chart::*;
pub use super::post_render::*;
pub use super::status::*;
pub use super::values::*;
use crate::meta::{CustomHealthCheck, DependencyReference, KubeConfigReference};

/// Helm action timeout used when neither the action nor `spec.timeout` sets one.
pub const DEFAULT_TIMEOUT: &str = "5m";
/// Release revisions kept in Helm storage when `maxHistory` is unset.
pub const DEFAULT_MAX_HISTORY: i64 = 5;
/// Longest release name Helm accepts.
pub const MAX_RELEASE_NAME_LENGTH: usize = 53;

/// Desired state of a Helm release.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "helm.toolkit.fluxcd.io",
    version = "v2",
    kind = "HelmRelease",
    namespaced,
    status = "HelmReleaseStatus",
    derive = "PartialEq",
    shortname = "hr",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Status", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].message"}"#,
    doc = "A Helm release kept in sync with a chart and values."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "either chart or chartRef must be set",
    "rule": "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))"
}]))]
pub struct HelmReleaseSpec {
    /// Chart to fetch through a HelmChart the controller manages. Exactly one of `chart` and
    /// `chartRef` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<HelmChartTemplate>,

    /// Existing source object (OCIRepository, HelmChart or ExternalArtifact) providing the
    /// chart. Exactly one of `chart` and `chartRef` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_ref: Option<ChartReference>,

    /// How often the release is checked and corrected.
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub interval: String,

    /// Kubeconfig for installing into a remote cluster instead of this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,

    /// When true, the release is neither upgraded nor remediated until resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// Helm release name; `[<targetNamespace>-]<name>` when unset (hashed down to 53
    /// characters). Changing it reinstalls the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 53))]
    pub release_name: Option<String>,

    /// Namespace the chart is installed into; the HelmRelease's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,

    /// Namespace of Helm's release storage Secrets; the HelmRelease's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub storage_namespace: Option<String>,

    /// HelmReleases that must be ready first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<DependencyReference>>,

    /// Default time limit of each Helm action (5m when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub timeout: Option<String>,

    /// Release revisions kept in Helm storage (5 when unset, 0 = unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::plain_integer")]
    pub max_history: Option<i64>,

    /// Service account impersonated for all Helm actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub service_account_name: Option<String>,

    /// Reuse one Kubernetes client across the steps of a reconciliation (true when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_client: Option<bool>,

    /// Comparison of the cluster's objects with the release's manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detection: Option<DriftDetection>,

    /// Install settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<Install>,

    /// Upgrade settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade>,

    /// Helm test settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Test>,

    /// Rollback settings, used when an upgrade is remediated by rolling back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,

    /// Uninstall settings, used on deletion and uninstall remediation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<Uninstall>,

    /// Values read from ConfigMaps/Secrets, merged in order below the inline `values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_from: Option<Vec<ValuesReference>>,

    /// Inline Helm values; override `valuesFrom` (except entries with a `targetPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub values: Option<serde_json::Value>,

    /// Labels and annotations added to every object of the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<ObjectMetadata>,

    /// Transformations applied to the rendered manifests, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_renderers: Option<Vec<PostRenderer>>,

    /// Whether hook manifests go through the post-renderers too, and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_render_strategy: Option<PostRenderStrategy>,

    /// How readiness of the release's objects is awaited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_strategy: Option<WaitStrategy>,

    /// CEL health checks for custom resource kinds, used while waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_exprs: Option<Vec<CustomHealthCheck>>,
}

/// Whether hooks are post-rendered.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PostRenderStrategy {
    /// Post-render the main manifests only.
    Nohooks,
    /// Post-render hooks and manifests together as one stream.
    #[default]
    Combined,
    /// Post-render hooks and manifests as separate streams.
    Separate,
}

/// How the controller waits for readiness.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct WaitStrategy {
    /// The waiting implementation.
    pub name: WaitStrategyName,
}

/// Waiting implementations.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WaitStrategyName {
    /// Poll kstatus-style readiness of every object.
    #[default]
    Poller,
    /// Helm's own readiness checks.
    Legacy,
}

impl HelmReleaseSpec {
    /// The time limit for an action whose own `timeout` is `action_timeout`.
    pub fn timeout_for<'a>(&'a self, action_timeout: Option<&'a str>) -> &'a str {
        action_timeout
            .or(self.timeout.as_deref())
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// Release revisions to keep (0 = unlimited).
    pub fn max_history(&self) -> i64 {
        self.max_history.unwrap_or(DEFAULT_MAX_HISTORY)
    }
}

impl HelmRelease {
    /// Namespace the chart is installed into: `spec.targetNamespace`, else the object's own.
    pub fn target_namespace(&self) -> Option<&str> {
        self.spec
            .target_namespace
            .as_deref()
            .or(self.metadata.namespace.as_deref())
    }

    /// Namespace of Helm's release storage: `spec.storageNamespace`, else the object's own.
    pub fn storage_namespace(&self) -> Option<&str> {
        self.spec
            .storage_namespace
            .as_deref()
            .or(self.metadata.namespace.as_deref())
    }

    /// Namespace and name of the HelmChart generated for `spec.chart`: it lives next to its
    /// source and is named `<release namespace>-<release name>`. `None` for `chartRef`
    /// releases or objects without namespace/name.
    pub fn generated_helm_chart(&self) -> Option<(String, String)> {
        let chart = self.spec.chart.as_ref()?;
        let namespace = self.metadata.namespace.as_deref()?;
        let name = self.metadata.name.as_deref()?;
        let chart_namespace = chart
            .spec
            .source_ref
            .namespace
            .as_deref()
            .unwrap_or(namespace);
        Some((chart_namespace.to_owned(), format!("{namespace}-{name}")))
    }
}

/// The CustomResourceDefinition Eddy installs for HelmRelease at its current version.
pub fn crd() -> CustomResourceDefinition {
    let options = crate::schema::FinalizeOptions {
        status_default: true,
        ..Default::default()
    };
    crate::schema::finalize(<HelmRelease as kube::CustomResourceExt>::crd(), options)
}
