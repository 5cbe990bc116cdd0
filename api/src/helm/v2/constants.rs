//! HelmRelease-specific condition reasons, labels and annotations. Generic ones (Ready,
//! Progressing, DependencyNotReady, ...) are in [`crate::meta`].

/// Condition reasons set by the helm controller.
pub mod reason {
    /// Released=True after a successful install.
    pub const INSTALL_SUCCEEDED: &str = "InstallSucceeded";
    /// Released=False after a failed install.
    pub const INSTALL_FAILED: &str = "InstallFailed";
    /// Released=True after a successful upgrade.
    pub const UPGRADE_SUCCEEDED: &str = "UpgradeSucceeded";
    /// Released=False after a failed upgrade.
    pub const UPGRADE_FAILED: &str = "UpgradeFailed";
    /// TestSuccess=True.
    pub const TEST_SUCCEEDED: &str = "TestSucceeded";
    /// TestSuccess=False.
    pub const TEST_FAILED: &str = "TestFailed";
    /// Remediated=True after a rollback.
    pub const ROLLBACK_SUCCEEDED: &str = "RollbackSucceeded";
    /// Remediated=False after a failed rollback.
    pub const ROLLBACK_FAILED: &str = "RollbackFailed";
    /// Remediated=True after an uninstall.
    pub const UNINSTALL_SUCCEEDED: &str = "UninstallSucceeded";
    /// Remediated=False after a failed uninstall.
    pub const UNINSTALL_FAILED: &str = "UninstallFailed";
    /// Drifted=True.
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// Drifted=False.
    pub const NO_DRIFT_DETECTED: &str = "NoDriftDetected";
    /// Stalled: the allowed install/upgrade attempts are used up.
    pub const RETRIES_EXCEEDED: &str = "RetriesExceeded";
    /// Stalled: a rollback was wanted but there is no earlier successful release.
    pub const MISSING_ROLLBACK_TARGET: &str = "MissingRollbackTarget";
    /// Ready=False: the chart source has no usable artifact yet.
    pub const SOURCE_NOT_READY: &str = "SourceNotReady";
    /// Ready=False: values could not be composed (missing ConfigMap/Secret, bad YAML, ...).
    pub const VALUES_ERROR: &str = "ValuesError";
    /// Ready=False: the chart could not be adjusted (e.g. version suffix) after loading.
    pub const CHART_MUTATE_ERROR: &str = "ChartMutateError";
    /// Ready=False: no Kubernetes client could be built (e.g. bad kubeconfig).
    pub const REST_CLIENT_ERROR: &str = "RESTClientError";
    /// Ready=False: the resource manager failed (drift detection, inventory).
    pub const RESOURCE_MANAGER_ERROR: &str = "ResourceManagerError";
    /// Ready=False: the Helm action configuration could not be built.
    pub const FACTORY_ERROR: &str = "FactoryError";
    /// Ready=False: the inventory could not be computed from the release manifest.
    pub const INVENTORY_BUILD_FAILED: &str = "InventoryBuildFailed";
    /// The target namespace check was skipped (e.g. missing permissions).
    pub const NAMESPACE_CHECK_SKIPPED: &str = "NamespaceCheckSkipped";
}

/// Label on every rendered object: name of the owning HelmRelease.
pub const NAME_LABEL: &str = "helm.toolkit.fluxcd.io/name";
/// Label on every rendered object: namespace of the owning HelmRelease.
pub const NAMESPACE_LABEL: &str = "helm.toolkit.fluxcd.io/namespace";
/// Label or annotation on a rendered object; value `disabled` excludes it from drift detection.
pub const DRIFT_DETECTION_KEY: &str = "helm.toolkit.fluxcd.io/driftDetection";
/// Event metadata key: chart version of the release.
pub const REVISION_EVENT_KEY: &str = "helm.toolkit.fluxcd.io/revision";
/// Event metadata key: digest of the release configuration.
pub const TOKEN_EVENT_KEY: &str = "helm.toolkit.fluxcd.io/token";
/// Event metadata key: application version of the chart.
pub const APP_VERSION_EVENT_KEY: &str = "helm.toolkit.fluxcd.io/app-version";
/// Event metadata key: digest of the OCI chart artifact.
pub const OCI_DIGEST_EVENT_KEY: &str = "helm.toolkit.fluxcd.io/oci-digest";
