//! Condition reasons specific to the notification controller. Generic ones are in
//! [`crate::meta`].

/// Receiver: the token Secret or its `token` key is missing.
pub const TOKEN_NOT_FOUND: &str = "TokenNotFound";
/// Receiver: the spec failed validation (e.g. an invalid CEL expression).
pub const VALIDATION_FAILED: &str = "ValidationFailed";
