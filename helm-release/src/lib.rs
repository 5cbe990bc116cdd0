//! Helm's release records (`release.v1`) and Helm's Secret storage, written so that the real
//! `helm` CLI reads what Eddy writes and Eddy reads what `helm` writes.
//!
//! - [`Release`] and friends: the JSON schema of Helm's `pkg/release/v1`, unknown keys kept.
//! - [`encode`]/[`decode`]: `data.release` (base64 of gzip of Go-encoded JSON).
//! - [`SecretStorage`]: Helm's Secret driver (`sh.helm.release.v1.<name>.v<N>`, its labels,
//!   history, the deployed revision, `--history-max` pruning).
//! - [`ChartSnapshot::from_chart`], [`release_manifest`], [`Hook::from_rendered`]: a record's
//!   parts from what `eddy_helm` loaded and rendered.
//! - [`digest`]: the digest Flux's helm-controller records in `status.history`.

mod chart;
mod codec;
mod digest;
mod error;
mod release;
mod rendered;
mod serde_util;
mod storage;
mod time;

pub use chart::{ChartSnapshot, Dependency, File, Lock, Maintainer, Metadata};
pub use codec::{MAX_DECODED_BYTES, decode, encode, to_go_json};
pub use digest::{digest, digest_with_oci};
pub use error::StorageError;
pub use release::{Hook, HookExecution, Info, Release, Status};
pub use rendered::release_manifest;
pub use storage::{
    MAX_SECRET_DATA_BYTES, OWNER, SECRET_TYPE, SYSTEM_LABELS, SecretStorage, Write, check_name,
    from_secret, prune_choice, secret_labels, secret_name, to_secret,
};
pub use time::Time;
