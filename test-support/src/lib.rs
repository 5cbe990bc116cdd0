//! Helpers for Eddy's integration tests.
//!
//! Every integration test talks to the one shared testenv (a real kube-apiserver started by
//! `eddy-testenv`, see `testenv/README.md`) and works in a namespace of its own:
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! let client = eddy_test_support::client().await?;
//! let namespace = eddy_test_support::TestNamespace::new(&client, "source").await?;
//! // ... create objects in namespace.name() ...
//! namespace.cleanup().await?;
//! # Ok(())
//! # }
//! ```
//!
//! The first test on a machine builds the control-plane binaries (about ten minutes); later runs
//! start the environment in seconds or reuse the running one. These helpers call the
//! `eddy-testenv` library directly: shelling out to `cargo xtask` from a test would deadlock on
//! the build-directory lock `cargo test` holds.

pub mod artifact_server;
mod crds;
mod env;
pub mod git_server;
pub mod helm;
mod namespace;
pub mod not_supported;
mod private_cluster;
pub mod registry;
mod wait;

pub use crds::install_crds;
pub use env::client;
pub use namespace::{KEEP_NAMESPACES_ENV, TestNamespace};
pub use private_cluster::PrivateCluster;
pub use wait::{DEFAULT_TIMEOUT, wait_for};
