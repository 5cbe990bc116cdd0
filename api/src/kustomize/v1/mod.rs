//! `kustomize.toolkit.fluxcd.io/v1`, the version Eddy stores Kustomizations at.

pub mod kustomization;
mod legacy;

pub use legacy::{JSON6902Op, JSON6902Operation, JSON6902Patch, ValidationMode};
