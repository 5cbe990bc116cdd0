//! Downloading a source artifact, verifying its digest and unpacking it safely.
//!
//! The artifact is a tar.gz served by source-controller. Nothing is unpacked before the digest
//! matches `status.artifact.digest`, and unpacking refuses entries that would land outside the
//! target directory (absolute paths, `..`, links) so a hostile archive cannot write elsewhere.

use std::{
    io::Read,
    path::{Component, Path},
    time::Duration,
};

use sha2::{Digest, Sha256};

/// Why an artifact could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered 404: the source has not stored this artifact (yet, or any more).
    #[error("artifact not found at {url}")]
    NotFound { url: String },
    #[error("failed to download artifact from {url}: {message}")]
    Download { url: String, message: String },
    #[error("artifact digest '{expected}' is not a 'sha256:<hex>' digest")]
    UnsupportedDigest { expected: String },
    #[error(
        "failed to verify artifact: computed digest sha256:{actual} does not match '{expected}'"
    )]
    DigestMismatch { expected: String, actual: String },
    #[error("failed to extract artifact: {0}")]
    Unpack(String),
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

/// Downloads `url`, retrying transient failures up to `retries` times, and returns the bytes.
pub async fn download(
    http: &reqwest::Client,
    url: &str,
    retries: u32,
) -> Result<Vec<u8>, FetchError> {
    let mut attempt = 0u32;
    loop {
        let failure = match http.get(url).send().await {
            Ok(response) if response.status() == reqwest::StatusCode::NOT_FOUND => {
                return Err(FetchError::NotFound {
                    url: url.to_owned(),
                });
            }
            Ok(response) if response.status().is_success() => match response.bytes().await {
                Ok(bytes) => return Ok(bytes.to_vec()),
                Err(error) => error.to_string(),
            },
            Ok(response) => format!("unexpected status code {}", response.status()),
            Err(error) => error.to_string(),
        };
        if attempt >= retries {
            return Err(FetchError::Download {
                url: url.to_owned(),
                message: failure,
            });
        }
        attempt += 1;
        // Linear-then-capped backoff: a restarting source-controller is back within seconds.
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(10)))).await;
    }
}

/// Checks `bytes` against a `sha256:<hex>` digest.
pub fn verify_digest(bytes: &[u8], expected: &str) -> Result<(), FetchError> {
    let Some(hex_digest) = expected.strip_prefix("sha256:") else {
        return Err(FetchError::UnsupportedDigest {
            expected: expected.to_owned(),
        });
    };
    let actual = hex::encode(Sha256::digest(bytes));
    if actual.eq_ignore_ascii_case(hex_digest) {
        Ok(())
    } else {
        Err(FetchError::DigestMismatch {
            expected: expected.to_owned(),
            actual,
        })
    }
}

/// The most a single unpacked artifact may hold, so a decompression bomb cannot fill the disk.
pub const MAX_UNPACKED_BYTES: u64 = 1 << 30;

/// Unpacks a gzip-compressed tarball into `target`, refusing entries that escape it.
pub fn untar(bytes: &[u8], target: &Path) -> Result<(), FetchError> {
    let decoder = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(decoder);
    let entries = archive
        .entries()
        .map_err(|e| FetchError::Unpack(e.to_string()))?;
    let mut total: u64 = 0;
    for entry in entries {
        let mut entry = entry.map_err(|e| FetchError::Unpack(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| FetchError::Unpack(e.to_string()))?
            .into_owned();
        if !is_contained(&path) {
            return Err(FetchError::Unpack(format!(
                "entry '{}' points outside the target directory",
                path.display()
            )));
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            // Links could point anywhere; artifacts built by source-controller contain none.
            return Err(FetchError::Unpack(format!(
                "entry '{}' is a link, which artifacts may not contain",
                path.display()
            )));
        }
        let destination = target.join(&path);
        if kind.is_dir() {
            std::fs::create_dir_all(&destination).map_err(|e| FetchError::Unpack(e.to_string()))?;
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES {
            return Err(FetchError::Unpack(format!(
                "artifact unpacks to more than {MAX_UNPACKED_BYTES} bytes"
            )));
        }
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent).map_err(|e| FetchError::Unpack(e.to_string()))?;
        }
        let mut contents = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry
            .read_to_end(&mut contents)
            .map_err(|e| FetchError::Unpack(e.to_string()))?;
        std::fs::write(&destination, contents).map_err(|e| FetchError::Unpack(e.to_string()))?;
    }
    Ok(())
}

/// Whether a relative archive path stays inside the directory it is unpacked into.
fn is_contained(path: &Path) -> bool {
    let mut depth: i64 = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut builder = tar::Builder::new(encoder);
        for (path, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            // Written raw so tests can produce the hostile names the safe builder API refuses.
            let name: &mut [u8] = header.as_old_mut().name.as_mut();
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn digest_must_match() {
        let bytes = b"hello";
        let good = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        assert!(verify_digest(bytes, &good).is_ok());
        assert!(matches!(
            verify_digest(b"hellO", &good),
            Err(FetchError::DigestMismatch { .. })
        ));
        assert!(matches!(
            verify_digest(bytes, "md5:abc"),
            Err(FetchError::UnsupportedDigest { .. })
        ));
    }

    #[test]
    fn unpacks_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        untar(&tarball(&[("apps/a.yaml", b"kind: A\n")]), dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("apps/a.yaml")).unwrap(),
            "kind: A\n"
        );
    }

    #[test]
    fn refuses_paths_escaping_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let error = untar(&tarball(&[("a/../../evil", b"x")]), dir.path()).unwrap_err();
        assert!(error.to_string().contains("outside"), "{error}");
        assert!(!dir.path().parent().unwrap().join("evil").exists());
    }

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
}
