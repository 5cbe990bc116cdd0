//! Observed state of a HelmRelease: counters, the release history as snapshots, and the
//! inventory of objects the release manages.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// A release inventory has exactly the Kustomization inventory format.
pub use crate::kustomize::kustomization::{ResourceInventory, ResourceRef};

/// Observed state of a HelmRelease.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// Generation of the spec last reconciled to completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Digest of `spec.postRenderers` at the last successful release; a change forces an
    /// upgrade even when chart and values are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_post_renderers_digest: Option<String>,

    /// Digest of `spec.commonMetadata` at the last successful release (same purpose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_common_metadata_digest: Option<String>,

    /// Generation of the spec last attempted (successfully or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_generation: Option<i64>,

    /// Ready, Reconciling, Stalled, Released, TestSuccess, Remediated and Drifted conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Option<Vec<Condition>>,

    /// `<namespace>/<name>` of the HelmChart created for `spec.chart`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_chart: Option<String>,

    /// Namespace where Helm stored the release last time; used to find it after
    /// `spec.storageNamespace` changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub storage_namespace: Option<String>,

    /// Releases, newest first, back to (and including) the last successful one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Snapshot>>,

    /// Objects of the current release (CRDs included, hooks excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,

    /// Action of the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_release_action: Option<ReleaseAction>,

    /// How long the last attempted action took (Go duration string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_release_action_duration: Option<String>,

    /// Failures since the last success (reset by a successful release or a reset request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<i64>,

    /// Failed installs since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_failures: Option<i64>,

    /// Failed upgrades since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_failures: Option<i64>,

    /// Chart version last attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,

    /// Digest of the OCI chart artifact last attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision_digest: Option<String>,

    /// Checksum of the values last attempted. Legacy; superseded by
    /// `lastAttemptedConfigDigest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_values_checksum: Option<String>,

    /// Helm revision of the last release. Legacy; superseded by `history`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::plain_integer")]
    pub last_release_revision: Option<i64>,

    /// Revision of the last successfully applied chart, as v2beta1/v2beta2 reported it; kept
    /// so that statuses written at those versions survive storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,

    /// Digest of the chart values last attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_config_digest: Option<String>,

    /// Last `reconcile.fluxcd.io/requestedAt` annotation value that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// Last `reconcile.fluxcd.io/forceAt` annotation value that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_force_at: Option<String>,

    /// Last `reconcile.fluxcd.io/resetAt` annotation value that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reset_at: Option<String>,
}

/// Helm actions recorded as the last attempt.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseAction {
    /// A fresh install.
    Install,
    /// An upgrade of an existing release.
    Upgrade,
}

/// One Helm release revision as seen by the controller.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// API version of the snapshot format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,

    /// Digest of the Helm release object.
    pub digest: String,

    /// Release name.
    pub name: String,

    /// Release namespace.
    pub namespace: String,

    /// Helm revision number.
    #[schemars(schema_with = "crate::schema::plain_integer")]
    pub version: i64,

    /// Helm release status (e.g. `deployed`, `failed`, `superseded`).
    pub status: String,

    /// Action that produced the revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,

    /// Chart name.
    pub chart_name: String,

    /// Chart version.
    pub chart_version: String,

    /// Application version declared by the chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,

    /// Digest of the values used.
    pub config_digest: String,

    /// When the first revision of the release was deployed.
    pub first_deployed: Time,

    /// When this revision was deployed.
    pub last_deployed: Time,

    /// When this revision was uninstalled, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Time>,

    /// Results of the Helm test hooks run for this revision, by hook name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_hooks: Option<BTreeMap<String, TestHookStatus>>,

    /// Digest of the OCI chart artifact, for charts from OCI sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci_digest: Option<String>,
}

/// Outcome of one Helm test hook.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestHookStatus {
    /// When the hook started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_started: Option<Time>,

    /// When the hook finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_completed: Option<Time>,

    /// Helm hook phase (e.g. `Succeeded`, `Failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}
