//! Kinds of the image reflector and image automation controllers (group
//! `image.toolkit.fluxcd.io`): ImageRepository scans tags, ImagePolicy picks the latest one,
//! ImageUpdateAutomation writes the choice back to Git.
//!
//! Each kind lives in the module of its current version; the re-exports below are what the rest
//! of Eddy should use.

pub mod reasons;
pub mod schema;
#[cfg(test)]
mod seed_example_tests;
pub mod v1;

pub use v1::{imagepolicy, imagerepository, imageupdateautomation};

pub use imagepolicy::{ImagePolicy, ImagePolicySpec, ImagePolicyStatus, ImageRef};
pub use imagerepository::{ImageRepository, ImageRepositorySpec, ImageRepositoryStatus};
pub use imageupdateautomation::{
    ImageUpdateAutomation, ImageUpdateAutomationSpec, ImageUpdateAutomationStatus,
};
