//! The image controllers: image-reflector-controller (scans registries, evaluates policies) and
//! image-automation-controller (writes selected images back to Git). Flux ships them as two
//! Deployments, so this crate builds two binaries.
//!
//! image-automation-controller does not reconcile yet: it marks ImageUpdateAutomations
//! `NotSupported` (`eddy_runtime::unsupported`) so nobody mistakes silence for progress.

pub mod args;
pub mod reflector;

/// The condition message of every ImageUpdateAutomation.
pub const NOT_AUTOMATED: &str = "image-automation-controller does not update images in Git yet";
