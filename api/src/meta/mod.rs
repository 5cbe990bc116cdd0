//! API types shared by several Flux kinds (Flux's `meta`, `acl` and `kustomize` API packages).
//!
//! Field names and JSON shapes follow Flux exactly so objects written for Flux deserialize here
//! unchanged; the Rust names are the ones other Eddy crates import.

mod acl;
mod artifact;
mod condition;
mod constants;
mod history;
mod kustomize;
mod reference;

pub use acl::{AccessFrom, NamespaceSelector};
pub use artifact::Artifact;
pub use condition::{Condition, conditions_schema};
pub use constants::*;
pub use history::{History, Snapshot};
pub use kustomize::{CustomHealthCheck, Image, Patch, Selector};
pub use reference::{
    DependencyReference, KubeConfigReference, LocalObjectReference, NamespacedObjectKindReference,
    NamespacedObjectReference, SecretKeyReference,
};
