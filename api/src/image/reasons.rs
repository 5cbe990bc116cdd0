//! Condition reasons specific to the image reflector and image automation controllers.
//! Generic ones (Ready, Progressing, DependencyNotReady, ...) are in [`crate::meta`].

/// ImageRepository: `spec.image` cannot be parsed as an image reference.
pub const IMAGE_URL_INVALID: &str = "ImageURLInvalid";
/// ImageRepository: the registry rejected the credentials.
pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
/// ImageRepository: listing tags failed.
pub const READ_OPERATION_FAILED: &str = "ReadOperationFailed";
/// ImagePolicy: digest reflection `Always` without an interval.
pub const INTERVAL_NOT_CONFIGURED: &str = "IntervalNotConfigured";
/// ImageUpdateAutomation: unknown update strategy.
pub const INVALID_UPDATE_STRATEGY: &str = "InvalidUpdateStrategy";
/// ImageUpdateAutomation: the GitRepository cannot be used (kind, missing, unusable auth).
pub const INVALID_SOURCE_CONFIGURATION: &str = "InvalidSourceConfiguration";
/// ImageUpdateAutomation: preparing the Git working copy failed.
pub const SOURCE_MANAGER_FAILED: &str = "SourceManagerFailed";
/// ImageUpdateAutomation: clone, commit or push failed.
pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
/// ImageUpdateAutomation: rewriting the files failed.
pub const UPDATE_FAILED: &str = "UpdateFailed";
/// ImageUpdateAutomation: `policySelector` is not a valid selector.
pub const INVALID_POLICY_SELECTOR: &str = "InvalidPolicySelector";
/// ImageUpdateAutomation: the message template uses the removed `.Updated` field.
pub const REMOVED_TEMPLATE_FIELD: &str = "RemovedTemplateField";
