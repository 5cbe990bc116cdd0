//! image.toolkit.fluxcd.io/v1: the current (storage) version of the image automation kinds.

pub mod imagepolicy;
pub mod imagerepository;
pub mod imageupdateautomation;
