//! Per-action settings of a HelmRelease: install, upgrade, test, rollback and uninstall, plus
//! the retry/remediation policies for failed installs and upgrades.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a failed install or upgrade is retried.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionStrategy {
    /// Remediate (roll back / uninstall) per the remediation settings, or simply retry.
    pub name: ActionStrategyName,

    /// Wait between retries; only meaningful for `RetryOnFailure` (5m in the controller when
    /// unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub retry_interval: Option<String>,
}

/// Retry strategies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ActionStrategyName {
    /// Apply the remediation settings after a failure.
    #[default]
    RemediateOnFailure,
    /// Retry the same action after `retryInterval`, without remediation.
    RetryOnFailure,
}

/// How CRDs shipped in the chart's `crds/` directory are handled.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum CrdPolicy {
    /// Leave them alone.
    Skip,
    /// Create missing ones, never update existing ones.
    Create,
    /// Create missing ones and replace existing ones.
    CreateReplace,
}

/// Install settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Install {
    /// Time limit for the install, including hooks and waiting; `spec.timeout` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub timeout: Option<String>,

    /// What to do after a failed install.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [{
        "message": ".retryInterval cannot be set when .name is 'RemediateOnFailure'",
        "rule": "!has(self.retryInterval) || self.name != 'RemediateOnFailure'"
    }]))]
    pub strategy: Option<ActionStrategy>,

    /// Remediation of failed installs (used with `RemediateOnFailure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<InstallRemediation>,

    /// Do not take over existing cluster objects that are not yet part of the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_take_ownership: Option<bool>,

    /// Do not wait for resources to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,

    /// Do not wait for Jobs to complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,

    /// Do not run the chart's hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,

    /// Do not validate rendered manifests against the cluster's OpenAPI schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "disableOpenAPIValidation")]
    pub disable_openapi_validation: Option<bool>,

    /// Do not validate values against the chart's `values.schema.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,

    /// Reuse the name of a deleted release that is still in history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<bool>,

    /// Do not install the chart's CRDs. Deprecated: use `crds: Skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "skipCRDs")]
    pub skip_crds: Option<bool>,

    /// CRD handling on install (`Create` in the controller when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crds: Option<CrdPolicy>,

    /// Create the target namespace if it does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_namespace: Option<bool>,

    /// Apply with server-side apply (the controller's default) instead of client-side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<bool>,
}

/// Remediation of failed installs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallRemediation {
    /// Attempts after the first failure (0 = none, negative = unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::plain_integer")]
    pub retries: Option<i64>,

    /// Treat failed Helm tests as success for remediation purposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_test_failures: Option<bool>,

    /// Also remediate (uninstall) after the last allowed attempt fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,
}

/// Upgrade settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upgrade {
    /// Time limit for the upgrade; `spec.timeout` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub timeout: Option<String>,

    /// What to do after a failed upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [{
        "message": ".retryInterval can only be set when .name is 'RetryOnFailure'",
        "rule": "!has(self.retryInterval) || self.name == 'RetryOnFailure'"
    }]))]
    pub strategy: Option<ActionStrategy>,

    /// Remediation of failed upgrades (used with `RemediateOnFailure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<UpgradeRemediation>,

    /// Do not take over existing cluster objects that are not yet part of the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_take_ownership: Option<bool>,

    /// Do not wait for resources to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,

    /// Do not wait for Jobs to complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,

    /// Do not run the chart's hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,

    /// Do not validate rendered manifests against the cluster's OpenAPI schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "disableOpenAPIValidation")]
    pub disable_openapi_validation: Option<bool>,

    /// Do not validate values against the chart's `values.schema.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,

    /// Replace objects that cannot be patched (delete and recreate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,

    /// Reuse the values of the previous release instead of recomputing them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_values: Option<bool>,

    /// Delete objects created by a failed upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,

    /// CRD handling on upgrade (`Skip` in the controller when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crds: Option<CrdPolicy>,

    /// Apply method for the upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<ServerSideApplyMode>,

    /// What happens when the chart's name changes: reinstall (default) or upgrade in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_name_change_strategy: Option<ChartNameChangeStrategy>,
}

/// Remediation of failed upgrades.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeRemediation {
    /// Attempts after the first failure (0 = none, negative = unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::plain_integer")]
    pub retries: Option<i64>,

    /// Treat failed Helm tests as success for remediation purposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_test_failures: Option<bool>,

    /// Also remediate after the last allowed attempt fails (defaults to true when retries > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate_last_failure: Option<bool>,

    /// How to remediate: roll back to the previous release (default) or uninstall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<RemediationStrategy>,
}

/// Ways to remediate a failed upgrade.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RemediationStrategy {
    /// Roll back to the last successful release.
    #[default]
    Rollback,
    /// Uninstall the release.
    Uninstall,
}

/// Apply method for upgrades and rollbacks.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServerSideApplyMode {
    /// Always use server-side apply.
    Enabled,
    /// Always use client-side (three-way merge) apply.
    Disabled,
    /// Use whatever the release being replaced was applied with.
    #[default]
    Auto,
}

/// Reaction to a changed chart name.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ChartNameChangeStrategy {
    /// Upgrade the existing release with the new chart.
    InPlaceUpdate,
    /// Uninstall the release and install it again.
    #[default]
    Reinstall,
}

/// Helm test settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Test {
    /// Run the chart's tests after each install and upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,

    /// Time limit per test; `spec.timeout` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub timeout: Option<String>,

    /// Report failed tests but do not treat the release as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_failures: Option<bool>,

    /// Tests to run or skip, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<TestFilter>>,
}

/// Selects Helm tests by name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct TestFilter {
    /// Test (hook) name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,

    /// Skip this test instead of selecting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
}

/// Rollback settings (used by upgrade remediation).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    /// Time limit for the rollback; `spec.timeout` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub timeout: Option<String>,

    /// Do not wait for resources to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,

    /// Do not wait for Jobs to complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait_for_jobs: Option<bool>,

    /// Do not run the chart's hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,

    /// Restart pods of the rolled-back workloads. Deprecated and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recreate: Option<bool>,

    /// Replace objects that cannot be patched (delete and recreate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,

    /// Delete objects created during a failed rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<bool>,

    /// Apply method for the rollback (`auto` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_apply: Option<ServerSideApplyMode>,
}

/// Uninstall settings (used on deletion and by uninstall remediation).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Uninstall {
    /// Time limit for the uninstall; `spec.timeout` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub timeout: Option<String>,

    /// Do not run the chart's hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_hooks: Option<bool>,

    /// Keep the release history (marked uninstalled) in Helm storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_history: Option<bool>,

    /// Do not wait for the deleted resources to disappear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wait: Option<bool>,

    /// Propagation policy of the delete requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "background"))]
    pub deletion_propagation: Option<DeletionPropagation>,
}

/// Kubernetes deletion propagation policies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeletionPropagation {
    /// Delete the owner now, dependents in the background.
    #[default]
    Background,
    /// Delete dependents first.
    Foreground,
    /// Leave dependents behind.
    Orphan,
}
