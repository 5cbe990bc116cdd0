//! Errors of registry operations, sorted so a controller can give Flux's reason.

/// An `oci://` URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OCI repository URL '{url}': {detail}")]
pub struct UrlError {
    pub url: String,
    pub detail: String,
}

/// A docker-config JSON that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the docker config is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("the 'auth' entry for '{registry}' is not base64 of 'username:password'")]
    InvalidAuth { registry: String },
}

/// A registry operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("the registry refused the credentials for '{reference}' (HTTP 401/403): {detail}")]
    Unauthorized { reference: String, detail: String },
    #[error("'{reference}' was not found in the registry: {detail}")]
    NotFound { reference: String, detail: String },
    #[error("cannot reach the registry for '{reference}': {detail}")]
    Unreachable { reference: String, detail: String },
    #[error("the registry answered '{reference}' with an error: {detail}")]
    Registry { reference: String, detail: String },
    #[error("no tag of '{repository}' matches semver '{range}'{filter}")]
    NoMatchingTag {
        repository: String,
        range: String,
        filter: String,
    },
    #[error("digest mismatch for '{reference}': expected {expected}, got {actual}")]
    DigestMismatch {
        reference: String,
        expected: String,
        actual: String,
    },
    #[error("layer {digest} is larger than the limit of {limit} bytes")]
    TooLarge { digest: String, limit: u64 },
    #[error("the manifest of '{reference}' cannot be read: {detail}")]
    InvalidManifest { reference: String, detail: String },
    #[error("the TLS settings are unusable: {0}")]
    Tls(String),
    #[error("the registry operation on '{reference}' timed out after {seconds}s")]
    Timeout { reference: String, seconds: u64 },
    #[error("cannot write the layer to {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl OciError {
    /// Sorts an `oci-client` error for `reference` by what the user can do about it.
    pub(crate) fn from_client(
        reference: &str,
        error: oci_client::errors::OciDistributionError,
    ) -> OciError {
        use oci_client::errors::OciDistributionError as E;
        use oci_client::errors::OciErrorCode as Code;
        let reference = reference.to_owned();
        let detail = error.to_string();
        match error {
            E::UnauthorizedError { .. } | E::AuthenticationFailure(_) => {
                OciError::Unauthorized { reference, detail }
            }
            E::ServerError {
                code: 401 | 403, ..
            } => OciError::Unauthorized { reference, detail },
            E::RegistryError { ref envelope, .. }
                if envelope
                    .errors
                    .iter()
                    .any(|e| matches!(e.code, Code::Unauthorized | Code::Denied)) =>
            {
                OciError::Unauthorized { reference, detail }
            }
            E::ImageManifestNotFoundError(_) | E::ServerError { code: 404, .. } => {
                OciError::NotFound { reference, detail }
            }
            E::RegistryError { ref envelope, .. }
                if envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        Code::ManifestUnknown
                            | Code::NameUnknown
                            | Code::BlobUnknown
                            | Code::NotFound
                    )
                }) =>
            {
                OciError::NotFound { reference, detail }
            }
            E::DigestError(_) => OciError::DigestMismatch {
                reference,
                expected: String::new(),
                actual: detail,
            },
            E::RequestError(ref request) if request.is_connect() || request.is_timeout() => {
                OciError::Unreachable {
                    reference,
                    detail: error_chain(request),
                }
            }
            E::RequestError(ref request) => OciError::Registry {
                reference,
                detail: error_chain(request),
            },
            _ => OciError::Registry { reference, detail },
        }
    }
}

/// The error and its sources on one line: reqwest's top message alone ("error sending request")
/// does not say what went wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
