//! The probe and metrics servers every controller runs.
//!
//! `/healthz` answers as long as the process serves HTTP; `/readyz` only once the controller has
//! reached the API server, so a Deployment does not report ready while it cannot work. Both are
//! served by [`crate::http_server`], with its timeouts and connection limit.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{Router, extract::State, http::StatusCode, routing::get};

use crate::{
    http_server::{self, ServerLimits},
    metrics::Metrics,
};

/// Whether the controller is ready to work; flipped by the start-up sequence.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Errors starting the admin servers.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("cannot listen on {addr} for {purpose}: {source}")]
    Bind {
        addr: SocketAddr,
        purpose: &'static str,
        source: std::io::Error,
    },
}

/// Routes for `/healthz` and `/readyz`.
pub fn health_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(readiness)
}

async fn ready(State(readiness): State<Readiness>) -> (StatusCode, &'static str) {
    if readiness.is_ready() {
        (StatusCode::OK, "ok")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not connected to the Kubernetes API yet",
        )
    }
}

/// Routes for `/metrics`.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .with_state(metrics)
}

async fn render_metrics(State(metrics): State<Metrics>) -> (StatusCode, String) {
    match metrics.render() {
        Ok(text) => (StatusCode::OK, text),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics failed: {e}"),
        ),
    }
}

/// Binds `addr` and serves `router` in the background until the process exits, under the default
/// [`ServerLimits`] (tests' stand-in servers use this).
///
/// Binding happens before returning so a port conflict stops start-up with a clear error instead
/// of surfacing later in a background task.
pub async fn spawn_server(
    addr: SocketAddr,
    purpose: &'static str,
    router: Router,
) -> Result<SocketAddr, AdminError> {
    spawn_server_with(addr, purpose, router, ServerLimits::default()).await
}

/// [`spawn_server`] under the given limits (a controller's `--http-*` flags).
pub async fn spawn_server_with(
    addr: SocketAddr,
    purpose: &'static str,
    router: Router,
    limits: ServerLimits,
) -> Result<SocketAddr, AdminError> {
    http_server::spawn(addr, router, limits)
        .await
        .map_err(|source| AdminError::Bind {
            addr,
            purpose,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readyz_waits_for_the_api_connection_and_healthz_does_not() {
        crate::tls::install_crypto_provider();
        let readiness = Readiness::default();
        let addr = spawn_server(
            "127.0.0.1:0".parse().unwrap(),
            "health",
            health_router(readiness.clone()),
        )
        .await
        .unwrap();
        let client = reqwest::Client::new();
        let get = |path: &'static str| client.get(format!("http://{addr}{path}")).send();
        assert_eq!(get("/healthz").await.unwrap().status(), 200);
        assert_eq!(get("/readyz").await.unwrap().status(), 503);
        readiness.set_ready();
        assert_eq!(get("/readyz").await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn metrics_are_served_in_text_format() {
        crate::tls::install_crypto_provider();
        let metrics = Metrics::new();
        let object = crate::metrics::ObjectLabels {
            kind: "Kustomization".into(),
            name: "apps".into(),
            namespace: "flux-system".into(),
        };
        metrics.start_reconcile(object).finish(true);
        let addr = spawn_server(
            "127.0.0.1:0".parse().unwrap(),
            "metrics",
            metrics_router(metrics),
        )
        .await
        .unwrap();
        let body = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            body.contains("# TYPE gotk_reconcile_duration_seconds histogram"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_port_in_use_is_reported_with_its_purpose() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let error = spawn_server(addr, "metrics", Router::new())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("for metrics"), "{error}");
    }
}
