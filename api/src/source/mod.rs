//! `source.toolkit.fluxcd.io`: where artifacts come from (Git, OCI, Helm, buckets).

pub mod artifact_kinds;
pub mod v1;

pub use artifact_kinds::{ARTIFACT_KINDS, ArtifactKind, artifact_kind};

pub use v1::bucket::{self, Bucket, BucketSpec, BucketStatus};
pub use v1::externalartifact::{
    self, ExternalArtifact, ExternalArtifactSpec, ExternalArtifactStatus,
};
pub use v1::gitrepository::{self, GitRepository, GitRepositorySpec, GitRepositoryStatus};
pub use v1::helmchart::{self, HelmChart, HelmChartSpec, HelmChartStatus};
pub use v1::helmrepository::{self, HelmRepository, HelmRepositorySpec, HelmRepositoryStatus};
pub use v1::ocirepository::{self, OCIRepository, OCIRepositorySpec, OCIRepositoryStatus};

/// API group of the source kinds.
pub const GROUP: &str = "source.toolkit.fluxcd.io";
/// Version Eddy stores source objects at.
pub const VERSION: &str = "v1";
