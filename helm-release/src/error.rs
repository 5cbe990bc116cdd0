//! What can go wrong reading or writing release records.

/// A failure of encoding, decoding or storing a release.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("release data is not base64: {0}")]
    Base64(String),
    #[error("release data is not valid gzip: {0}")]
    Gzip(String),
    #[error("release data unpacks to more than {limit} bytes; refusing to read it")]
    TooLarge { limit: u64 },
    #[error("release data is not a release.v1 JSON document: {0}")]
    Json(String),
    #[error("cannot encode release {name} v{version}: {message}")]
    Encode {
        name: String,
        version: u32,
        message: String,
    },
    /// A Secret labelled as a Helm release whose data cannot be read.
    #[error("Secret {namespace}/{secret} does not hold a readable Helm release: {source}")]
    Corrupt {
        namespace: String,
        secret: String,
        #[source]
        source: Box<StorageError>,
    },
    #[error("Secret {namespace}/{secret} has no data.release")]
    MissingData { namespace: String, secret: String },
    #[error("release {name} v{version} already exists in namespace {namespace} (Secret {secret})")]
    AlreadyExists {
        namespace: String,
        name: String,
        version: u32,
        secret: String,
    },
    #[error("release {name} v{version} does not exist in namespace {namespace} (Secret {secret})")]
    NotFound {
        namespace: String,
        name: String,
        version: u32,
        secret: String,
    },
    #[error(
        "release {name} v{version} encodes to {size} bytes, more than a Secret holds ({limit}); \
         every revision stores the whole chart, so leave large files out of it (.helmignore)"
    )]
    RecordTooLarge {
        name: String,
        version: u32,
        size: usize,
        limit: usize,
    },
    #[error("invalid release: {0}")]
    Invalid(String),
    #[error("cannot {action} in namespace {namespace}: {source}")]
    Api {
        action: String,
        namespace: String,
        #[source]
        source: kube::Error,
    },
}
