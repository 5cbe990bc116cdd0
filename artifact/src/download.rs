//! Downloading an artifact to a file: streamed, capped, and digested while it arrives, so memory
//! stays flat whatever the artifact's size.

use std::{path::Path, time::Duration};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Why an artifact could not be downloaded or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The server answered 404: the source has not stored this artifact (yet, or any more).
    #[error("artifact not found at {url}")]
    NotFound { url: String },
    #[error("failed to download artifact from {url}: {message}")]
    Failed { url: String, message: String },
    #[error("artifact at {url} is larger than the limit of {limit} bytes (--artifact-max-size)")]
    TooLarge { url: String, limit: u64 },
    #[error("artifact digest '{expected}' is not a 'sha256:<hex>' digest")]
    UnsupportedDigest { expected: String },
    #[error(
        "failed to verify artifact: computed digest sha256:{actual} does not match '{expected}'"
    )]
    DigestMismatch { expected: String, actual: String },
    #[error("cannot write the downloaded artifact to '{path}': {message}")]
    Write { path: String, message: String },
}

impl DownloadError {
    /// Whether trying the same URL again could succeed (the network, the server), as opposed to
    /// the content being wrong.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DownloadError::Failed { .. } | DownloadError::Write { .. }
        )
    }
}

/// Rewrites the artifact URL's host when `SOURCE_CONTROLLER_LOCALHOST` is set (for controllers
/// running outside the cluster, as in local development).
pub fn rewrite_url(url: &str, localhost_override: Option<&str>) -> String {
    let Some(host) = localhost_override.filter(|h| !h.is_empty()) else {
        return url.to_owned();
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let path_start = rest.find('/').unwrap_or(rest.len());
    format!("{scheme}://{host}{}", &rest[path_start..])
}

/// Downloads `url` into the file `destination`, retrying transient failures up to `retries`
/// times, and checks it against the `sha256:<hex>` digest `expected`.
pub async fn download_verified(
    http: &reqwest::Client,
    url: &str,
    expected: &str,
    destination: &Path,
    max_size: u64,
    retries: u32,
) -> Result<(), DownloadError> {
    let Some(expected_hex) = expected.strip_prefix("sha256:") else {
        return Err(DownloadError::UnsupportedDigest {
            expected: expected.to_owned(),
        });
    };
    let mut attempt = 0u32;
    let actual = loop {
        match download_once(http, url, destination, max_size).await {
            Ok(actual) => break actual,
            Err(error) if error.is_transient() && attempt < retries => {
                attempt += 1;
                tracing::debug!(%url, attempt, %error, "retrying artifact download");
                // Linear-then-capped backoff: a restarting source-controller is back within seconds.
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(10)))).await;
            }
            Err(error) => return Err(error),
        }
    };
    if actual.eq_ignore_ascii_case(expected_hex) {
        Ok(())
    } else {
        Err(DownloadError::DigestMismatch {
            expected: expected.to_owned(),
            actual,
        })
    }
}

/// One attempt: streams the body into `destination` and returns its hex SHA-256.
async fn download_once(
    http: &reqwest::Client,
    url: &str,
    destination: &Path,
    max_size: u64,
) -> Result<String, DownloadError> {
    let failed = |message: String| DownloadError::Failed {
        url: url.to_owned(),
        message,
    };
    let too_large = || DownloadError::TooLarge {
        url: url.to_owned(),
        limit: max_size,
    };
    let mut response = http
        .get(url)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    match response.status() {
        reqwest::StatusCode::NOT_FOUND => {
            return Err(DownloadError::NotFound {
                url: url.to_owned(),
            });
        }
        status if !status.is_success() => {
            return Err(failed(format!("unexpected status code {status}")));
        }
        _ => {}
    }
    if response
        .content_length()
        .is_some_and(|length| length > max_size)
    {
        return Err(too_large());
    }
    let write_error = |e: std::io::Error| DownloadError::Write {
        path: destination.display().to_string(),
        message: e.to_string(),
    };
    let mut file = tokio::fs::File::create(destination)
        .await
        .map_err(write_error)?;
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
        received = received.saturating_add(chunk.len() as u64);
        if received > max_size {
            return Err(too_large());
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(write_error)?;
    }
    file.flush().await.map_err(write_error)?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_override_keeps_path() {
        assert_eq!(
            rewrite_url(
                "http://source-controller.flux-system.svc.cluster.local./gitrepository/a/b/c.tar.gz",
                Some("localhost:9090")
            ),
            "http://localhost:9090/gitrepository/a/b/c.tar.gz"
        );
        assert_eq!(rewrite_url("http://x/y", None), "http://x/y");
    }

    #[test]
    fn content_errors_are_not_transient() {
        let mismatch = DownloadError::DigestMismatch {
            expected: "sha256:a".into(),
            actual: "b".into(),
        };
        assert!(!mismatch.is_transient());
        assert!(
            DownloadError::Failed {
                url: "u".into(),
                message: "m".into()
            }
            .is_transient()
        );
    }
}
