//! `source.toolkit.fluxcd.io/v1`, the version Eddy stores source objects at.

pub mod bucket;
pub mod common;
pub mod externalartifact;
pub mod gitrepository;
pub mod helmchart;
pub mod helmrepository;
pub mod ocirepository;
