//! The image controllers: image-reflector-controller (scans registries, evaluates policies) and
//! image-automation-controller (writes selected images back to Git). Flux ships them as two
//! Deployments, so this crate builds two binaries.

pub mod args;
pub mod automation;
pub mod reflector;
