//! What the HelmRepository and HelmChart reconcilers share to reach a chart repository: the
//! credentials of a HelmRepository's Secrets, an HTTP client with its TLS settings, and a
//! streamed download with a size cap and the SHA-256 computed on the way.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use eddy_api::source::HelmRepositorySpec;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use sha2::{Digest, Sha256};

/// Flux's reason when a Secret cannot be read or lacks fields.
pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";

/// Basic auth and TLS material of a HelmRepository.
#[derive(Debug, Clone, Default)]
pub struct RepositoryCredentials {
    pub basic: Option<(String, String)>,
    pub ca_pem: Option<Vec<u8>>,
    /// `tls.crt` followed by `tls.key`.
    pub identity_pem: Option<Vec<u8>>,
    /// `spec.passCredentials`: basic auth also goes to chart hosts other than the index host.
    pub pass_credentials: bool,
}

/// Why credentials could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("failed to get secret '{namespace}/{name}': {source}")]
    Get {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("invalid '{name}' secret data: required fields 'username' and 'password'")]
    MissingBasicAuth { name: String },
    #[error("invalid '{name}' secret data: 'tls.crt' and 'tls.key' must be set together")]
    HalfIdentity { name: String },
}

/// Reads `secretRef` and `certSecretRef` (uncached, so a fixed Secret counts at once).
pub async fn credentials(
    client: &kube::Client,
    namespace: &str,
    spec: &HelmRepositorySpec,
) -> Result<RepositoryCredentials, CredentialsError> {
    let mut credentials = RepositoryCredentials {
        pass_credentials: spec.pass_credentials == Some(true),
        ..Default::default()
    };
    if let Some(reference) = &spec.secret_ref {
        let data = secret_data(client, namespace, &reference.name).await?;
        match (data.get("username"), data.get("password")) {
            (Some(user), Some(password)) => {
                credentials.basic = Some((
                    String::from_utf8_lossy(user).into_owned(),
                    String::from_utf8_lossy(password).into_owned(),
                ))
            }
            _ => {
                return Err(CredentialsError::MissingBasicAuth {
                    name: reference.name.clone(),
                });
            }
        }
    }
    if let Some(reference) = &spec.cert_secret_ref {
        let data = secret_data(client, namespace, &reference.name).await?;
        credentials.ca_pem = data.get("ca.crt").cloned();
        credentials.identity_pem = match (data.get("tls.crt"), data.get("tls.key")) {
            (Some(cert), Some(key)) => Some([cert.as_slice(), b"\n", key.as_slice()].concat()),
            (None, None) => None,
            _ => {
                return Err(CredentialsError::HalfIdentity {
                    name: reference.name.clone(),
                });
            }
        };
    }
    Ok(credentials)
}

async fn secret_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<BTreeMap<String, Vec<u8>>, CredentialsError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = secrets
        .get(name)
        .await
        .map_err(|source| CredentialsError::Get {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source,
        })?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, value.0))
        .collect())
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("invalid TLS settings: {0}")]
    Tls(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("GET {url}: {detail}")]
    Transport { url: String, detail: String },
    #[error("GET {url}: {status}")]
    Status { url: String, status: String },
    #[error("GET {url}: the response is larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("cannot write the download: {0}")]
    Write(#[source] std::io::Error),
}

/// The client for one repository: its CA, client certificate and `timeout`.
pub fn http_client(
    credentials: &RepositoryCredentials,
    timeout: Duration,
) -> Result<reqwest::Client, DownloadError> {
    let mut builder = reqwest::Client::builder().timeout(timeout);
    if let Some(ca) = &credentials.ca_pem {
        for certificate in reqwest::Certificate::from_pem_bundle(ca)
            .map_err(|error| DownloadError::Tls(format!("ca.crt: {error}")))?
        {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if let Some(identity) = &credentials.identity_pem {
        let identity = reqwest::Identity::from_pem(identity)
            .map_err(|error| DownloadError::Tls(format!("tls.crt/tls.key: {error}")))?;
        builder = builder.identity(identity);
    }
    builder
        .build()
        .map_err(|error| DownloadError::Client(error.to_string()))
}

/// What a download wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
}

/// GETs `url` into `sink`, stopping past `limit` bytes.
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    basic: Option<&(String, String)>,
    limit: u64,
    sink: &mut impl Write,
) -> Result<Downloaded, DownloadError> {
    let transport = |error: reqwest::Error| DownloadError::Transport {
        url: url.to_owned(),
        detail: error.without_url().to_string(),
    };
    let mut request = client.get(url);
    if let Some((user, password)) = basic {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(DownloadError::Status {
            url: url.to_owned(),
            status: status.to_string(),
        });
    }
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(transport)?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(DownloadError::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        hasher.update(&chunk);
        sink.write_all(&chunk).map_err(DownloadError::Write)?;
    }
    sink.flush().map_err(DownloadError::Write)?;
    Ok(Downloaded {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// Sizes as Flux's events print them (`1.2kB`, `3.4MB`: decimal units).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let text = format!("{value:.4}");
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    let digits: String = trimmed.chars().take(5).collect();
    format!("{}{}", digits.trim_end_matches('.'), UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_flux_prints_them() {
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(1234), "1.234kB");
        assert_eq!(human_size(10_500_000), "10.5MB");
    }
}
