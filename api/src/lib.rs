//! Rust types for every Flux-compatible custom resource Eddy serves, and the generator of their
//! CustomResourceDefinitions.
//!
//! Kinds live in one module per API group (`source`, `kustomize`, `helm`, `notification`,
//! `image`); types several groups share are in [`meta`]. Each kind module has a `crd()` that
//! returns the current version's CRD; [`crds::all`] adds the older, deprecated versions and
//! renders the files under `config/crd/bases`.

pub mod crds;
pub mod helm;
pub mod image;
pub mod kustomize;
pub mod meta;
pub mod notification;
pub mod schema;
pub mod source;
