//! The artifact file server: plain HTTP over the storage directory.
//!
//! `GET /` answers 200 (the readiness probe: only the leader serves, so only the leader is
//! Ready). Every other path is served from the storage root; directories are never listed and
//! paths leaving the root are refused. Served by `eddy_runtime::http_server`, so a client that
//! stalls (in its request, or by not reading a download) is disconnected.

use std::future::Future;
use std::path::PathBuf;

use axum::Router;
use axum::routing::get;
use eddy_runtime::http_server::{self, ServerLimits};
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// The router serving `storage_root`.
pub fn router(storage_root: PathBuf) -> Router {
    let files = ServeDir::new(storage_root)
        // An `index.html` inside storage must not turn a directory URL into a page.
        .append_index_html_on_directories(false);
    Router::new()
        .route("/", get(|| async { "ok" }))
        .fallback_service(files)
}

/// Serves `storage_root` on `listener` until `shutdown` completes, under the default limits of
/// the `--http-*` flags. The controller calls this only after winning leader election.
pub async fn serve(
    storage_root: PathBuf,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(storage_root, listener, ServerLimits::default(), shutdown).await
}

/// [`serve`] under the given limits (the controller's `--http-*` flags). Accept errors are ridden
/// out inside; the `io::Result` stays for the caller's sake.
pub async fn serve_with(
    storage_root: PathBuf,
    listener: TcpListener,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    http_server::serve(listener, router(storage_root), limits, shutdown).await;
    Ok(())
}
