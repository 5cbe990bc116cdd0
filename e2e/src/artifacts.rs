//! A stand-in for source-controller's artifact server: tarballs packed from a directory, served
//! over HTTP, and published by writing a source object's `status.artifact`.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
};

use anyhow::Context;
use axum::{
    Router,
    extract::{Path as UrlPath, State},
    http::StatusCode,
    routing::get,
};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use sha2::{Digest, Sha256};

type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A running artifact server.
pub struct ArtifactServer {
    addr: SocketAddr,
    files: Files,
    task: tokio::task::JoinHandle<()>,
}

/// One packed artifact.
pub struct Packed {
    pub url: String,
    pub digest: String,
    pub revision: String,
    pub size: usize,
}

impl ArtifactServer {
    pub async fn start() -> anyhow::Result<Self> {
        let files: Files = Arc::default();
        let app = Router::new()
            .route("/{*path}", get(serve))
            .with_state(files.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, files, task })
    }

    /// Packs `dir` as `<name>.tar.gz` and serves it; the revision is `main@sha1:<…>` derived
    /// from the content so every change yields a new revision.
    pub fn publish_dir(&self, name: &str, dir: &Path) -> anyhow::Result<Packed> {
        let bytes = pack(dir)?;
        Ok(self.publish_bytes(name, bytes))
    }

    /// Serves `bytes` as `<name>.tar.gz`.
    pub fn publish_bytes(&self, name: &str, bytes: Vec<u8>) -> Packed {
        let digest = hex::encode(Sha256::digest(&bytes));
        let path = format!("{name}/{}.tar.gz", &digest[..16]);
        let packed = Packed {
            url: format!("http://{}/{path}", self.addr),
            digest: format!("sha256:{digest}"),
            revision: format!("main@sha1:{}", &digest[..40]),
            size: bytes.len(),
        };
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path, bytes);
        packed
    }

    /// Stops serving everything (a source that went away).
    pub fn clear(&self) {
        self.files.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

impl Drop for ArtifactServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    State(files): State<Files>,
    UrlPath(path): UrlPath<String>,
) -> (StatusCode, Vec<u8>) {
    match files.lock().unwrap_or_else(|p| p.into_inner()).get(&path) {
        Some(bytes) => (StatusCode::OK, bytes.clone()),
        None => (StatusCode::NOT_FOUND, Vec::new()),
    }
}

/// A gzip tarball of `dir` (files only, paths relative to `dir`).
pub fn pack(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    builder.follow_symlinks(false);
    builder
        .append_dir_all(".", dir)
        .context("packing artifact")?;
    Ok(builder.into_inner()?.finish()?)
}

/// Creates (or updates) a GitRepository and writes its `status.artifact`, as source-controller
/// would after fetching `packed`.
pub async fn publish_git_repository(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    packed: &Packed,
) -> anyhow::Result<()> {
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "GitRepository"),
        "gitrepositories",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let params = PatchParams::apply("eddy-e2e").force();
    let object = serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"url": "http://example.invalid/repo.git", "interval": "1m", "ref": {"branch": "main"}},
    });
    api.patch(name, &params, &Patch::Apply(&object)).await?;
    let now = "2026-01-01T00:00:00Z";
    let status = serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "status": {
            "artifact": {
                "path": format!("gitrepository/{namespace}/{name}/artifact.tar.gz"),
                "url": packed.url,
                "revision": packed.revision,
                "digest": packed.digest,
                "lastUpdateTime": now,
                "size": packed.size,
            },
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "Succeeded",
                "message": format!("stored artifact for revision '{}'", packed.revision),
                "lastTransitionTime": now,
            }],
        },
    });
    api.patch_status(name, &params, &Patch::Apply(&status))
        .await?;
    Ok(())
}

/// Removes the artifact from a GitRepository's status (its source went away).
pub async fn withdraw_git_repository(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<()> {
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "GitRepository"),
        "gitrepositories",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    api.delete(name, &Default::default()).await?;
    Ok(())
}
