//! What a Kustomization does to its inputs, without the controller around it: the build pipeline
//! (the wrapper kustomization carrying the spec's overlays, the Kustomize engine confined to the
//! artifact, SOPS decryption while files are read, postBuild substitution, origin annotations,
//! `commonMetadata` and owner labels), the server-side apply policy and staging, the
//! inventory, and kstatus health of live objects (`health`, which helm-controller's release
//! wait uses too).
//!
//! kustomize-controller runs it on unpacked artifacts; `eddy build` and `eddy diff` run it on a
//! local directory ([`local_build`]). Keeping it here is what lets the CLI build exactly as the
//! controller does without linking a controller crate.

pub mod apply;
pub mod build;
pub mod health;
pub mod inventory;
pub mod local_build;
pub mod origin;
pub mod sops;
pub mod substitute;
pub mod variables;
