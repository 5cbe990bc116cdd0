//! Eddy's source-controller: fetching Git repositories, storing artifacts, ignore rules, the
//! artifact file server, and the reconcilers that tie them to the Kubernetes API.

pub mod args;
pub mod controller;
pub mod ignore;
pub mod server;
pub mod storage;

/// Git fetching lives in the shared `eddy-git` crate (bootstrap and image automation use it too).
pub use eddy_git as git;

pub use controller::{Error, run, run_with_client};
