//! The consumer side of source artifacts, shared by every controller that builds from a source
//! (kustomize-controller today, helm-controller next):
//!
//! - [`source`]: resolve a `sourceRef` of any artifact kind through the API crate's kind table;
//! - [`download`]: a streamed download with retries, a size cap and the digest computed on the way;
//! - [`untar`]: the one safe unpacking policy (also used by source-controller's `include`);
//! - [`cache`]: one unpack per digest in a per-controller directory, cleaned at start-up;
//! - [`trigger`]: reconcile consumers when a source of any kind publishes a new revision;
//! - [`args`]: the flags that set the cache directory and the limits.

pub mod args;
pub mod cache;
pub mod download;
pub mod source;
pub mod trigger;
pub mod untar;

pub use args::ArtifactArgs;
pub use cache::{ArtifactCache, FetchError, Limits, Unpacked};
pub use download::{DownloadError, rewrite_url};
pub use source::{ResolvedSource, SourceError, SourceRef};
pub use untar::UnpackError;
