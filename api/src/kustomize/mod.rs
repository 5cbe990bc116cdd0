//! `kustomize.toolkit.fluxcd.io`: Kustomization, which builds and applies a source's manifests.

pub mod v1;

pub use v1::kustomization::{self, Kustomization, KustomizationSpec, KustomizationStatus};

/// API group of Kustomization.
pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";
/// Version Eddy stores Kustomizations at.
pub const VERSION: &str = "v1";
