//! Eddy's source-controller building blocks that work without the Kubernetes API: fetching Git
//! repositories, storing artifacts, ignore rules and the artifact file server.

pub mod git;
pub mod ignore;
pub mod server;
pub mod storage;
