//! The image controllers: image-reflector-controller (scans registries, evaluates policies) and
//! image-automation-controller (writes selected images back to Git). Flux ships them as two
//! Deployments, so this crate builds two binaries.
//!
//! Neither reconciles yet: each marks the objects of its kinds `NotSupported`
//! (`eddy_runtime::unsupported`) so nobody mistakes silence for progress.

pub mod args;

/// The condition message of every ImageRepository and ImagePolicy.
pub const NOT_REFLECTED: &str =
    "image-reflector-controller does not scan image repositories or evaluate image policies yet";
/// The condition message of every ImageUpdateAutomation.
pub const NOT_AUTOMATED: &str = "image-automation-controller does not update images in Git yet";
