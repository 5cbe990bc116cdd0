//! The artifact file server: plain HTTP over the storage directory.
//!
//! `GET /` answers 200 (the readiness probe: only the leader serves, so only the leader is
//! Ready). Every other path is served from the storage root; directories are never listed and
//! paths leaving the root are refused.

use std::future::Future;
use std::path::PathBuf;

use axum::Router;
use axum::routing::get;
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

/// Serves `storage_root` on `listener` until `shutdown` completes. The controller calls this
/// only after winning leader election.
pub async fn serve(
    storage_root: PathBuf,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(storage_root))
        .with_graceful_shutdown(shutdown)
        .await
}
