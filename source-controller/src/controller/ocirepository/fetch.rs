//! The I/O of an OCIRepository reconcile: reading the Secrets it names, talking to the
//! registry through `eddy-oci`, and turning the selected layer into a stored artifact.

use std::collections::BTreeMap;
use std::path::Path;

use eddy_api::meta::{Artifact, condition_type};
use eddy_api::source::OCIRepository;
use eddy_api::source::ocirepository::OCILayerOperation;
use eddy_oci::{
    ClientOptions, DockerConfig, Layer, Manifest, OciError, RegistryClient, RepositoryUrl, Resolved,
};
use eddy_runtime::unsupported::NOT_SUPPORTED;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::ResourceExt;
use kube::api::Api;

use super::reason;
use super::report::Success;
use super::spec::{self, LayerChoice, layer_failed};
use crate::controller::Context;
use crate::controller::artifact::{self, BuildRequest};
use crate::controller::outcome::{self, Failure};
use crate::storage::ObjectKey;

/// The most a layer may weigh compressed, and unpack to. Flux sets no limit; one is kept so a
/// hostile registry cannot fill the controller's disk.
pub const MAX_LAYER_BYTES: u64 = 1 << 30;
pub const MAX_UNPACKED_BYTES: u64 = 4 << 30;
/// The key of a `kubernetes.io/dockerconfigjson` Secret.
const DOCKER_CONFIG_KEY: &str = ".dockerconfigjson";
/// The name of the link to the current artifact; `status.url` points at it.
pub const LATEST_LINK: &str = "latest.tar.gz";

/// A registry error as Flux reports it: `FetchFailed`, `OCIArtifactPullFailed`, retried.
pub fn pull_failed(context: &str, error: &OciError) -> Failure {
    outcome::fetch_failed(reason::PULL_FAILED, format!("{context}: {error}"))
}

/// The client for `url` with the object's credentials and TLS settings.
pub async fn client(
    object: &OCIRepository,
    ctx: &Context,
    url: &RepositoryUrl,
) -> Result<RegistryClient, Failure> {
    let config = docker_config(object, ctx).await?;
    let ca_pem = ca_certificate(object, ctx).await?;
    let options = ClientOptions {
        insecure: object.spec.insecure == Some(true),
        ca_pem,
        timeout: spec::timeout(&object.spec),
    };
    RegistryClient::new(url.clone(), config.credentials_for(&url.registry), options).map_err(
        |error| {
            Failure::stalled(
                reason::AUTHENTICATION_FAILED,
                format!("TLS setup failed: {error}"),
            )
            .with_condition(condition_type::FETCH_FAILED)
        },
    )
}

/// The docker configs of `spec.secretRef` and of the service account's `imagePullSecrets`,
/// the Secret named in the spec first.
async fn docker_config(object: &OCIRepository, ctx: &Context) -> Result<DockerConfig, Failure> {
    let namespace = object.namespace().unwrap_or_default();
    let mut names = Vec::new();
    if let Some(reference) = &object.spec.secret_ref {
        names.push(reference.name.clone());
    }
    if let Some(account) = object
        .spec
        .service_account_name
        .as_deref()
        .filter(|a| !a.is_empty())
    {
        let accounts: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &namespace);
        let found = accounts.get(account).await.map_err(|error| {
            auth_failed(format!(
                "failed to get service account '{account}': {error}"
            ))
        })?;
        names.extend(
            found
                .image_pull_secrets
                .unwrap_or_default()
                .into_iter()
                .map(|reference| reference.name),
        );
    }
    let mut config = DockerConfig::default();
    for name in names {
        let data = secret_data(ctx, &namespace, &name).await?;
        let json = data.get(DOCKER_CONFIG_KEY).ok_or_else(|| {
            auth_failed(format!(
                "secret '{name}' has no '{DOCKER_CONFIG_KEY}' key (a kubernetes.io/dockerconfigjson Secret is expected)"
            ))
        })?;
        let parsed = DockerConfig::parse(json)
            .map_err(|error| auth_failed(format!("secret '{name}': {error}")))?;
        config.merge(parsed);
    }
    Ok(config)
}

/// `ca.crt` of `spec.certSecretRef`. Client certificates are refused: `oci-client` cannot
/// present one (see the eddy-oci README).
async fn ca_certificate(object: &OCIRepository, ctx: &Context) -> Result<Option<Vec<u8>>, Failure> {
    let Some(reference) = &object.spec.cert_secret_ref else {
        return Ok(None);
    };
    let namespace = object.namespace().unwrap_or_default();
    let data = secret_data(ctx, &namespace, &reference.name).await?;
    if data.contains_key("tls.crt") || data.contains_key("tls.key") {
        return Err(Failure::stalled(
            NOT_SUPPORTED,
            "spec.certSecretRef with a client certificate (tls.crt/tls.key) is not supported yet",
        ));
    }
    let ca = data.get("ca.crt").or_else(|| data.get("caFile")).cloned();
    if ca.is_none() {
        return Err(auth_failed(format!(
            "secret '{}' has no 'ca.crt' key",
            reference.name
        )));
    }
    Ok(ca)
}

/// Reads a Secret uncached, so a fixed Secret takes effect at the next reconcile.
async fn secret_data(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<BTreeMap<String, Vec<u8>>, Failure> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = secrets
        .get(name)
        .await
        .map_err(|error| auth_failed(format!("failed to get secret '{name}': {error}")))?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, value.0))
        .collect())
}

fn auth_failed(message: String) -> Failure {
    outcome::fetch_failed(reason::AUTHENTICATION_FAILED, message)
}

/// Pulls the manifest of `resolved`, downloads the selected layer and stores it as the
/// artifact (unpacked and re-archived with the ignore rules, or copied as-is).
pub async fn pull_and_store(
    client: &RegistryClient,
    resolved: &Resolved,
    object: &OCIRepository,
    ctx: &Context,
    key: &ObjectKey,
) -> Result<Success, Failure> {
    let manifest = client
        .manifest(&resolved.digest)
        .await
        .map_err(|error| pull_failed("failed to parse artifact manifest", &error))?;
    let choice = LayerChoice::of_spec(&object.spec);
    let layer = choice.select(&manifest)?.clone();
    let work = tempfile::tempdir()
        .map_err(|error| outcome::storage_failed("DirectoryCreationFailed", error.to_string()))?;
    let blob = work.path().join("layer");
    client
        .download_layer(&layer, &blob, MAX_LAYER_BYTES)
        .await
        .map_err(|error| pull_failed("failed to fetch artifact layer", &error))?;
    let file = spec::artifact_file(&resolved.digest);
    let request = StoreRequest {
        key: key.clone(),
        file: file.clone(),
        operation: choice.operation,
        ignore: object.spec.ignore.clone(),
        layer,
    };
    let storage = ctx.storage.clone();
    let stored = tokio::task::spawn_blocking(move || {
        let stored = store_layer(&storage, &request, &blob, work.path());
        drop(work);
        stored
    })
    .await
    .map_err(|error| outcome::storage_failed("ArchiveOperationFailed", error.to_string()))??;
    Ok(Success::Stored {
        artifact: Box::new(Artifact {
            path: stored.path,
            url: stored.url,
            revision: resolved.revision(),
            digest: stored.digest,
            last_update_time: eddy_runtime::time::now(),
            size: i64::try_from(stored.size).ok(),
            metadata: metadata(&manifest),
        }),
        latest_url: stored.latest_url,
        source_url: object.spec.url.clone(),
    })
}

fn metadata(manifest: &Manifest) -> Option<BTreeMap<String, String>> {
    (!manifest.annotations.is_empty()).then(|| manifest.annotations.clone())
}

struct StoreRequest {
    key: ObjectKey,
    file: String,
    operation: OCILayerOperation,
    ignore: Option<String>,
    layer: Layer,
}

struct Stored {
    path: String,
    url: String,
    digest: String,
    size: u64,
    latest_url: String,
}

/// Blocking: unpacks or copies the downloaded layer into storage and points `latest.tar.gz` at
/// it.
fn store_layer(
    storage: &crate::storage::Storage,
    request: &StoreRequest,
    blob: &Path,
    work: &Path,
) -> Result<Stored, Failure> {
    let stored = match request.operation {
        OCILayerOperation::Extract => {
            let content = work.join("content");
            let archive = std::fs::File::open(blob).map_err(|error| {
                outcome::storage_failed("ReadOperationFailed", error.to_string())
            })?;
            eddy_artifact::untar::unpack(
                std::io::BufReader::new(archive),
                &content,
                MAX_UNPACKED_BYTES,
            )
            .map_err(|error| {
                layer_failed(format!(
                    "failed to extract layer contents from artifact: layer {} ({}): {error}",
                    request.layer.digest, request.layer.media_type
                ))
            })?;
            artifact::build(
                storage,
                &BuildRequest {
                    key: request.key.clone(),
                    working_dir: content,
                    file: request.file.clone(),
                    ignore: request.ignore.clone(),
                    includes: Vec::new(),
                },
            )?
        }
        OCILayerOperation::Copy => {
            ensure_gzip(blob, &request.layer)?;
            let stored = storage
                .store_file(&request.key, &request.file, blob)
                .map_err(|error| outcome::storage_failed(error.reason(), error.to_string()))?;
            if let Err(error) = storage.garbage_collect(&request.key, Some(&request.file)) {
                tracing::warn!(%error, "garbage collection of old artifacts failed");
            }
            stored
        }
    };
    let link = storage
        .symlink(&request.key, &request.file, LATEST_LINK)
        .map_err(|error| outcome::storage_failed(error.reason(), error.to_string()))?;
    Ok(Stored {
        latest_url: storage.artifact_url(&link),
        path: stored.path,
        url: stored.url,
        digest: stored.digest,
        size: stored.size,
    })
}

/// A copied layer must still be a tar+gzip, as consumers unpack it.
fn ensure_gzip(blob: &Path, layer: &Layer) -> Result<(), Failure> {
    use std::io::Read as _;
    let mut magic = [0u8; 2];
    let read = std::fs::File::open(blob).and_then(|mut file| file.read_exact(&mut magic));
    if read.is_err() || magic != [0x1f, 0x8b] {
        return Err(layer_failed(format!(
            "failed to copy layer {} ({}): it is not a gzip-compressed tarball",
            layer.digest, layer.media_type
        )));
    }
    Ok(())
}
