//! Real Git servers for tests: `git http-backend` over HTTP(S) and OpenSSH's `sshd`, on
//! loopback, plus helpers that build repositories with the `git` CLI.
//!
//! Each server stops when its guard is dropped. Repositories live in a [`RepoRoot`] (a temp dir
//! served by every server started on it).

mod http;
mod repos;
mod ssh;

pub use http::{ClientIdentity, GitHttpServer, HttpServerOptions};
pub use repos::{RepoRoot, TestRepo, git};
pub use ssh::SshServer;
