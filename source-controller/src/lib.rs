//! Eddy's source-controller: fetching Git repositories, storing artifacts, ignore rules, the
//! artifact file server, and the reconcilers that tie them to the Kubernetes API.

pub mod args;
pub mod controller;
pub mod git;
pub mod ignore;
pub mod server;
pub mod storage;

pub use controller::{Error, run, run_with_client};
