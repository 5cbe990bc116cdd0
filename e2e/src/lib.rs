//! Harness for Eddy's end-to-end tests: controllers run in-process against the shared testenv,
//! artifacts are served by a small HTTP server the test controls.

pub mod artifacts;
pub mod kustomize;
