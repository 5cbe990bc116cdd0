//! Reading the source object a consumer names, whatever its kind, and its `status.artifact`.

use eddy_api::{
    meta::Artifact,
    source::{ArtifactKind, artifact_kind},
};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind},
};

/// A consumer's reference to a source object.
#[derive(Debug, Clone, Copy)]
pub struct SourceRef<'a> {
    pub kind: &'a str,
    /// `group/version` as written in the reference; the kind's served version when absent.
    pub api_version: Option<&'a str>,
    pub name: &'a str,
    pub namespace: &'a str,
}

impl SourceRef<'_> {
    /// `Kind/namespace/name`, as Flux names sources in messages.
    pub fn display(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// What a consumer needs from its source object.
#[derive(Debug, Clone)]
pub struct ResolvedSource {
    pub artifact: Option<Artifact>,
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("Source '{0}' not found")]
    NotFound(String),
    #[error("source kind '{0}' cannot be referenced: it publishes no artifact")]
    UnsupportedKind(String),
    #[error("failed to get source '{reference}': {source}")]
    Api {
        reference: String,
        #[source]
        source: kube::Error,
    },
}

/// The API resource serving `kind`, at the version the reference names when it names one.
pub fn api_resource(kind: &ArtifactKind, api_version: Option<&str>) -> ApiResource {
    let version = api_version
        .and_then(|v| v.split_once('/'))
        .filter(|(group, _)| *group == kind.group)
        .map_or(kind.version, |(_, version)| version);
    let gvk = GroupVersionKind::gvk(kind.group, version, kind.kind);
    ApiResource::from_gvk_with_plural(&gvk, kind.plural)
}

/// Reads the source named by `reference` and its `status.artifact`.
pub async fn resolve(
    client: &Client,
    reference: SourceRef<'_>,
) -> Result<ResolvedSource, SourceError> {
    let kind = artifact_kind(reference.kind)
        .ok_or_else(|| SourceError::UnsupportedKind(reference.kind.to_owned()))?;
    let resource = api_resource(kind, reference.api_version);
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), reference.namespace, &resource);
    let object = api
        .get_opt(reference.name)
        .await
        .map_err(|source| SourceError::Api {
            reference: reference.display(),
            source,
        })?
        .ok_or_else(|| SourceError::NotFound(reference.display()))?;
    Ok(ResolvedSource {
        artifact: artifact_of(&object),
    })
}

/// The `status.artifact` of a source object, when it has a readable one.
pub fn artifact_of(object: &DynamicObject) -> Option<Artifact> {
    let value = object.data.pointer("/status/artifact")?.clone();
    serde_json::from_value(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_resource_uses_the_table_plural_and_the_referenced_version() {
        let oci = artifact_kind("OCIRepository").unwrap();
        let resource = api_resource(oci, None);
        assert_eq!(resource.plural, "ocirepositories");
        assert_eq!(resource.api_version, "source.toolkit.fluxcd.io/v1");
        let older = api_resource(oci, Some("source.toolkit.fluxcd.io/v1beta2"));
        assert_eq!(older.version, "v1beta2");
        // A reference naming another group does not redirect the lookup.
        let foreign = api_resource(oci, Some("example.com/v9"));
        assert_eq!(foreign.version, "v1");
    }

    #[test]
    fn artifact_is_read_from_status() {
        let object: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "OCIRepository",
            "metadata": {"name": "a"},
            "status": {"artifact": {
                "path": "p", "url": "http://x/p", "revision": "latest@sha256:ab",
                "digest": "sha256:ab", "lastUpdateTime": "2026-01-01T00:00:00Z"
            }}
        }))
        .unwrap();
        let artifact = artifact_of(&object).unwrap();
        assert_eq!(artifact.revision, "latest@sha256:ab");
    }
}
