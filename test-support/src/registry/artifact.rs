//! OCI artifacts (not container images) for source-controller's OCIRepository tests: an OCI
//! image manifest with any layers and annotations, as `flux push artifact` and others write
//! them, plus the deletions a test uses to prove nothing was downloaded.

use std::collections::BTreeMap;

use super::{Registry, expect_success, sha256_digest};

/// `application/vnd.oci.image.manifest.v1+json`.
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The config and layer media types `flux push artifact` writes.
pub const FLUX_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.flux.config.v1+json";
pub const FLUX_CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";

/// One layer of an artifact.
pub struct ArtifactLayer {
    pub media_type: String,
    pub content: Vec<u8>,
}

impl ArtifactLayer {
    pub fn new(media_type: &str, content: Vec<u8>) -> Self {
        ArtifactLayer {
            media_type: media_type.to_owned(),
            content,
        }
    }
}

impl Registry {
    /// Pushes an OCI artifact under `tag`: an empty Flux config, `layers` in order, and
    /// `annotations` on the manifest. Returns the manifest digest.
    pub async fn push_artifact(
        &self,
        repository: &str,
        tag: &str,
        layers: &[ArtifactLayer],
        annotations: &BTreeMap<String, String>,
    ) -> anyhow::Result<String> {
        let config = b"{}".to_vec();
        let config_digest = self.upload_blob(repository, config.clone()).await?;
        let mut descriptors = Vec::new();
        for layer in layers {
            let digest = self.upload_blob(repository, layer.content.clone()).await?;
            descriptors.push(serde_json::json!({
                "mediaType": layer.media_type,
                "digest": digest,
                "size": layer.content.len(),
            }));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": FLUX_CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config.len()},
            "layers": descriptors,
            "annotations": annotations,
        })
        .to_string();
        let response = self
            .request(
                reqwest::Method::PUT,
                &format!("/v2/{repository}/manifests/{tag}"),
            )
            .header(reqwest::header::CONTENT_TYPE, OCI_MANIFEST_MEDIA_TYPE)
            .body(manifest.clone())
            .send()
            .await;
        expect_success(response, &format!("artifact manifest for tag {tag}")).await?;
        Ok(sha256_digest(manifest.as_bytes()))
    }

    /// Deletes a blob, so that any later download of it fails.
    pub async fn delete_blob(&self, repository: &str, digest: &str) -> anyhow::Result<()> {
        let response = self
            .request(
                reqwest::Method::DELETE,
                &format!("/v2/{repository}/blobs/{digest}"),
            )
            .send()
            .await;
        expect_success(response, "deleting a blob").await
    }

    /// The layer digests of the manifest `reference` (tag or digest) points at.
    pub async fn layer_digests(
        &self,
        repository: &str,
        reference: &str,
    ) -> anyhow::Result<Vec<String>> {
        let response = self
            .request(
                reqwest::Method::GET,
                &format!("/v2/{repository}/manifests/{reference}"),
            )
            .header(
                reqwest::header::ACCEPT,
                format!("{OCI_MANIFEST_MEDIA_TYPE}, application/vnd.docker.distribution.manifest.v2+json"),
            )
            .send()
            .await?
            .error_for_status()?;
        let manifest: serde_json::Value = response.json().await?;
        Ok(manifest["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|layer| layer["digest"].as_str().map(str::to_owned))
            .collect())
    }
}
