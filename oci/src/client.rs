//! Talking to one repository of a registry: resolve a [`RefSelector`] to a manifest digest
//! (a HEAD request, so an unchanged digest costs no download), read the manifest, and stream a
//! layer to a file with a size cap and the digest checked.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt as _;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::manifest::{
    IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use crate::credentials::Credentials;
use crate::error::OciError;
use crate::selector::{RefSelector, highest_semver_tag};
use crate::url::RepositoryUrl;

/// Tags asked for per page when listing (registries may return fewer).
const TAGS_PAGE_SIZE: usize = 1000;

/// How to reach the registry.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Plain HTTP instead of HTTPS (`spec.insecure`).
    pub insecure: bool,
    /// PEM certificates trusted in addition to the system roots (`ca.crt` of `certSecretRef`).
    pub ca_pem: Option<Vec<u8>>,
    /// Limit of each registry operation (`spec.timeout`).
    pub timeout: Duration,
}

/// A selector resolved against the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The tag pulled (`None` for a digest reference).
    pub tag: Option<String>,
    /// The manifest digest, `sha256:<hex>`.
    pub digest: String,
}

impl Resolved {
    /// Flux's revision: `<tag>@<digest>`, or the digest alone for digest references.
    pub fn revision(&self) -> String {
        match &self.tag {
            Some(tag) => format!("{tag}@{}", self.digest),
            None => self.digest.clone(),
        }
    }
}

/// One layer of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// An image manifest: its layers and annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub digest: String,
    pub layers: Vec<Layer>,
    pub annotations: BTreeMap<String, String>,
}

/// A client for one repository with one set of credentials.
pub struct RegistryClient {
    client: Client,
    auth: RegistryAuth,
    url: RepositoryUrl,
    timeout: Duration,
}

impl RegistryClient {
    /// A client for `url`. Needs a process-wide rustls crypto provider (Eddy installs ring at
    /// start-up).
    pub fn new(
        url: RepositoryUrl,
        credentials: Option<&Credentials>,
        options: ClientOptions,
    ) -> Result<RegistryClient, OciError> {
        let config = ClientConfig {
            protocol: if options.insecure {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            extra_root_certificates: options
                .ca_pem
                .map(|data| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data,
                })
                .into_iter()
                .collect(),
            read_timeout: Some(options.timeout),
            connect_timeout: Some(options.timeout),
            user_agent: "eddy-oci",
            ..ClientConfig::default()
        };
        let client = Client::try_from(config).map_err(|error| OciError::Tls(error.to_string()))?;
        let auth = match credentials {
            None => RegistryAuth::Anonymous,
            Some(Credentials::Basic { username, password }) => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
            Some(Credentials::Token(token)) => RegistryAuth::Bearer(token.clone()),
        };
        Ok(RegistryClient {
            client,
            auth,
            url,
            timeout: options.timeout,
        })
    }

    pub fn url(&self) -> &RepositoryUrl {
        &self.url
    }

    fn tagged(&self, tag: &str) -> Reference {
        Reference::with_tag(
            self.url.registry.clone(),
            self.url.repository.clone(),
            tag.to_owned(),
        )
    }

    fn by_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(
            self.url.registry.clone(),
            self.url.repository.clone(),
            digest.to_owned(),
        )
    }

    /// Resolves the selector to a manifest digest without downloading the manifest.
    pub async fn resolve(&self, selector: &RefSelector) -> Result<Resolved, OciError> {
        match selector {
            RefSelector::Digest(digest) => {
                let found = self.head(&self.by_digest(digest)).await?;
                Ok(Resolved {
                    tag: None,
                    digest: found,
                })
            }
            RefSelector::Tag(tag) => Ok(Resolved {
                digest: self.head(&self.tagged(tag)).await?,
                tag: Some(tag.clone()),
            }),
            RefSelector::Semver { range, filter } => {
                let tags = self.list_tags().await?;
                let tag = highest_semver_tag(&tags, range, filter.as_ref()).ok_or_else(|| {
                    OciError::NoMatchingTag {
                        repository: self.url.to_string(),
                        range: range.original().to_owned(),
                        filter: filter
                            .as_ref()
                            .map(|f| format!(" with filter '{}'", f.as_str()))
                            .unwrap_or_default(),
                    }
                })?;
                Ok(Resolved {
                    digest: self.head(&self.tagged(tag)).await?,
                    tag: Some(tag.to_owned()),
                })
            }
        }
    }

    async fn head(&self, reference: &Reference) -> Result<String, OciError> {
        let name = reference.whole();
        self.limited(
            &name,
            self.client.fetch_manifest_digest(reference, &self.auth),
        )
        .await
    }

    /// Every tag of the repository, following the registry's pagination.
    pub async fn list_tags(&self) -> Result<Vec<String>, OciError> {
        let reference = self.tagged("latest");
        let name = self.url.to_string();
        let mut tags: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut last: Option<String> = None;
        loop {
            let page = self
                .limited(
                    &name,
                    self.client.list_tags(
                        &reference,
                        &self.auth,
                        Some(TAGS_PAGE_SIZE),
                        last.as_deref(),
                    ),
                )
                .await?;
            let received = page.tags.len();
            last = page.tags.last().cloned();
            let before = tags.len();
            // Some registries (distribution 2.8) ignore `n` and `last` and send every tag, in
            // no order, each time: only new tags count, and a page without any ends the walk.
            for tag in page.tags {
                if seen.insert(tag.clone()) {
                    tags.push(tag);
                }
            }
            if received < TAGS_PAGE_SIZE || tags.len() == before {
                return Ok(tags);
            }
        }
    }

    /// The image manifest with `digest`, checked against it.
    pub async fn manifest(&self, digest: &str) -> Result<Manifest, OciError> {
        let reference = self.by_digest(digest);
        let name = reference.whole();
        let (raw, received) = self
            .limited(
                &name,
                self.client.pull_manifest_raw(
                    &reference,
                    &self.auth,
                    &[OCI_IMAGE_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE],
                ),
            )
            .await?;
        let actual = format!("sha256:{}", hex::encode(Sha256::digest(&raw)));
        if digest.starts_with("sha256:") && actual != digest {
            return Err(OciError::DigestMismatch {
                reference: name,
                expected: digest.to_owned(),
                actual,
            });
        }
        let parsed: OciImageManifest =
            serde_json::from_slice(&raw).map_err(|error| OciError::InvalidManifest {
                reference: name.clone(),
                detail: error.to_string(),
            })?;
        Ok(Manifest {
            digest: received,
            layers: parsed.layers.iter().map(layer).collect(),
            annotations: parsed.annotations.unwrap_or_default(),
        })
    }

    /// Streams `layer` into `destination` (created or truncated), refusing more than `limit`
    /// bytes or more than the manifest declared, and checking the digest. Returns the size.
    pub async fn download_layer(
        &self,
        layer: &Layer,
        destination: &Path,
        limit: u64,
    ) -> Result<u64, OciError> {
        if layer.size > limit {
            return Err(OciError::TooLarge {
                digest: layer.digest.clone(),
                limit,
            });
        }
        let reference = self.by_digest(&layer.digest);
        let name = reference.whole();
        let descriptor = OciDescriptor {
            media_type: layer.media_type.clone(),
            digest: layer.digest.clone(),
            size: i64::try_from(layer.size).unwrap_or(i64::MAX),
            ..OciDescriptor::default()
        };
        let download = async {
            let mut stream = self
                .client
                .pull_blob_stream(&reference, &descriptor)
                .await?
                .stream;
            Ok::<_, oci_client::errors::OciDistributionError>(async move {
                let mut file = tokio::fs::File::create(destination).await?;
                let mut hasher = Sha256::new();
                let mut written: u64 = 0;
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    written += chunk.len() as u64;
                    if written > limit.min(layer.size) {
                        return Ok(Err(written));
                    }
                    hasher.update(&chunk);
                    file.write_all(&chunk).await?;
                }
                file.flush().await?;
                Ok::<_, std::io::Error>(Ok((written, hasher.finalize())))
            })
        };
        let body = self.limited(&name, download).await?;
        let finished = tokio::time::timeout(self.timeout, body)
            .await
            .map_err(|_| self.timed_out(&name))?;
        let write_error = |source| OciError::Write {
            path: destination.display().to_string(),
            source,
        };
        match finished.map_err(write_error)? {
            Err(_) if layer.size > limit => Err(OciError::TooLarge {
                digest: layer.digest.clone(),
                limit,
            }),
            Err(written) => Err(OciError::DigestMismatch {
                reference: name,
                expected: format!("{} bytes", layer.size),
                actual: format!("more than {} bytes", written.saturating_sub(1)),
            }),
            Ok((written, hash)) => {
                let actual = format!("sha256:{}", hex::encode(hash));
                if actual != layer.digest {
                    return Err(OciError::DigestMismatch {
                        reference: name,
                        expected: layer.digest.clone(),
                        actual,
                    });
                }
                Ok(written)
            }
        }
    }

    /// Runs a registry call under the timeout, sorting its error.
    async fn limited<T>(
        &self,
        reference: &str,
        call: impl Future<Output = Result<T, oci_client::errors::OciDistributionError>>,
    ) -> Result<T, OciError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(|error| OciError::from_client(reference, error)),
            Err(_) => Err(self.timed_out(reference)),
        }
    }

    fn timed_out(&self, reference: &str) -> OciError {
        OciError::Timeout {
            reference: reference.to_owned(),
            seconds: self.timeout.as_secs(),
        }
    }
}

fn layer(descriptor: &OciDescriptor) -> Layer {
    Layer {
        media_type: descriptor.media_type.clone(),
        digest: descriptor.digest.clone(),
        size: u64::try_from(descriptor.size).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_is_tag_at_digest_or_the_digest_alone() {
        let tagged = Resolved {
            tag: Some("v1.0.0".into()),
            digest: "sha256:ab".into(),
        };
        assert_eq!(tagged.revision(), "v1.0.0@sha256:ab");
        let pinned = Resolved {
            tag: None,
            digest: "sha256:ab".into(),
        };
        assert_eq!(pinned.revision(), "sha256:ab");
    }
}
