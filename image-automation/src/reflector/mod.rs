//! image-reflector-controller's logic: what an ImageRepository scan and an ImagePolicy decide,
//! kept free of API calls so it is tested without a cluster.

pub mod access;
pub mod connection;
pub mod credentials;
pub mod image;
pub mod imagepolicy;
pub mod imagerepository;
pub mod policy;
pub mod registry;
pub mod run;
pub mod storage;
