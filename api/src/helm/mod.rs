//! Kinds of the helm controller (group `helm.toolkit.fluxcd.io`): HelmRelease.
//!
//! The kind lives in the module of its current version; the re-exports below are what the rest
//! of Eddy should use.

pub mod v2;

pub use v2::{constants, helmrelease};

pub use helmrelease::{HelmRelease, HelmReleaseSpec, HelmReleaseStatus};
