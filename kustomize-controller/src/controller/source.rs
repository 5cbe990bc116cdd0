//! Reading a Kustomization's source object (any source kind) and the inputs its build needs from
//! the API: postBuild variables.

use eddy_api::kustomize::kustomization::{CrossNamespaceSourceReference, SourceKind};
use kube::Client;

pub use eddy_artifact::{ResolvedSource, SourceError};

/// The kind's name as the API serves it.
pub fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::GitRepository => "GitRepository",
        SourceKind::OCIRepository => "OCIRepository",
        SourceKind::Bucket => "Bucket",
        SourceKind::ExternalArtifact => "ExternalArtifact",
    }
}

/// Reads the source named by `reference` in `namespace` and its `status.artifact`.
pub async fn resolve(
    client: &Client,
    reference: &CrossNamespaceSourceReference,
    namespace: &str,
) -> Result<ResolvedSource, SourceError> {
    eddy_artifact::source::resolve(
        client,
        eddy_artifact::SourceRef {
            kind: kind_name(reference.kind),
            api_version: reference.api_version.as_deref(),
            name: &reference.name,
            namespace,
        },
    )
    .await
}

pub use eddy_kustomization::variables::post_build_variables;
