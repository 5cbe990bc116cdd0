//! Well-known strings: finalizer, annotations, condition types and generic reasons.

/// Finalizer every reconciled Flux kind carries until its cleanup is done.
pub const FINALIZER: &str = "finalizers.fluxcd.io";
/// Changing this annotation's value asks for an immediate reconciliation.
pub const RECONCILE_REQUESTED_AT_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";
/// HelmRelease: one-off forced install/upgrade token (honoured when equal to requestedAt).
pub const FORCE_REQUESTED_AT_ANNOTATION: &str = "reconcile.fluxcd.io/forceAt";
/// HelmRelease: one-off failure-counter reset token (honoured when equal to requestedAt).
pub const RESET_REQUESTED_AT_ANNOTATION: &str = "reconcile.fluxcd.io/resetAt";
/// Label on ConfigMaps/Secrets whose changes should trigger their referrers.
pub const WATCH_LABEL: &str = "reconcile.fluxcd.io/watch";
/// Annotation (on CRDs and manifests) that turns off post-build variable substitution.
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Condition types.
pub mod condition_type {
    /// The object is fully reconciled (kstatus summary condition).
    pub const READY: &str = "Ready";
    /// A reconciliation is in progress (abnormal-true, removed when done).
    pub const RECONCILING: &str = "Reconciling";
    /// Reconciliation cannot make progress without a change to the object (abnormal-true).
    pub const STALLED: &str = "Stalled";
    /// Health checks of applied objects passed (Kustomization).
    pub const HEALTHY: &str = "Healthy";
    /// The artifact for the current revision is in storage (sources).
    pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
    /// The stored artifact is older than what upstream offers (sources).
    pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
    /// Fetching from upstream failed (sources).
    pub const FETCH_FAILED: &str = "FetchFailed";
    /// Building the artifact failed (sources).
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// Writing to or reading from storage failed (sources).
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
    /// The upstream content passed signature verification (sources).
    pub const SOURCE_VERIFIED: &str = "SourceVerified";
    /// An included source is not available (GitRepository).
    pub const INCLUDE_UNAVAILABLE: &str = "IncludeUnavailable";
    /// The Helm release was installed or upgraded (HelmRelease).
    pub const RELEASED: &str = "Released";
    /// Helm tests passed (HelmRelease).
    pub const TEST_SUCCESS: &str = "TestSuccess";
    /// A failed release was rolled back or uninstalled (HelmRelease).
    pub const REMEDIATED: &str = "Remediated";
    /// Cluster state drifted from the release manifest (HelmRelease).
    pub const DRIFTED: &str = "Drifted";
}

/// Condition reasons shared by all controllers.
pub mod reason {
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
    pub const PROGRESSING: &str = "Progressing";
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    pub const SUSPENDED: &str = "Suspended";
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    pub const BUILD_FAILED: &str = "BuildFailed";
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    pub const HEALTH_CHECK_CANCELED: &str = "HealthCheckCanceled";
    pub const PRUNE_FAILED: &str = "PruneFailed";
    pub const INVALID_PATH: &str = "InvalidPath";
    pub const INVALID_URL: &str = "InvalidURL";
    pub const INSECURE_CONNECTIONS_DISALLOWED: &str = "InsecureConnectionsDisallowed";
    pub const UNSUPPORTED_CONNECTION_TYPE: &str = "UnsupportedConnectionType";
    pub const INVALID_CEL_EXPRESSION: &str = "InvalidCELExpression";
    pub const FEATURE_GATE_DISABLED: &str = "FeatureGateDisabled";
    pub const ACCESS_DENIED: &str = "AccessDenied";
}
