//! The start-up sequence shared by every controller binary.
//!
//! Order matters: probes and metrics bind first (so a port conflict fails fast and visibly), then
//! the Kubernetes client connects, and only then does `/readyz` turn green.

use std::time::Duration;

use kube::Client;

use crate::{
    admin::{self, AdminError, Readiness},
    cli::CommonArgs,
    logging,
    metrics::Metrics,
    tls,
};

/// What a running controller process has to work with.
pub struct ControllerProcess {
    pub name: &'static str,
    pub client: Client,
    pub metrics: Metrics,
    pub readiness: Readiness,
}

/// Why a controller that consumes artifacts (kustomize-, helm-controller) stopped with an
/// error: start-up, the event recorder, its artifact HTTP client or cache, or a refused flag.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerRunError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Events(#[from] crate::events::EventError),
    #[error("cannot build the artifact HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("cannot create the artifact cache directory: {0}")]
    Cache(#[from] std::io::Error),
    #[error(transparent)]
    Flags(#[from] crate::unsupported::flags::UnsupportedFlags),
}

/// Why a controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(
        "cannot build a Kubernetes client (no in-cluster service account and no usable KUBECONFIG): {0}"
    )]
    Client(#[source] kube::Error),
}

/// Initialises logging, TLS, probes and metrics, then connects to the API server.
///
/// Connecting retries with backoff: a controller started before its API server is reachable keeps
/// reporting not-ready instead of crash-looping.
pub async fn start(
    name: &'static str,
    common: &CommonArgs,
) -> Result<ControllerProcess, StartError> {
    start_with_client(name, common, None).await
}

/// [`start`] with a ready-made Kubernetes client instead of one from the environment, so tests
/// can run a controller in-process against their own API server.
pub async fn start_with_client(
    name: &'static str,
    common: &CommonArgs,
    client: Option<Client>,
) -> Result<ControllerProcess, StartError> {
    tls::install_crypto_provider();
    logging::init(common.log_level, common.log_encoding);
    let metrics = Metrics::new();
    let readiness = Readiness::default();
    let limits = common.http_server.limits();
    let health = admin::spawn_server_with(
        common.health_addr,
        "health probes",
        admin::health_router(readiness.clone()),
        limits,
    )
    .await?;
    let metrics_addr = admin::spawn_server_with(
        common.metrics_addr,
        "metrics",
        admin::metrics_router(metrics.clone()),
        limits,
    )
    .await?;
    tracing::info!(controller = name, %health, metrics = %metrics_addr, "starting");

    let client = match client {
        Some(client) => client,
        None => Client::try_default().await.map_err(StartError::Client)?,
    };
    wait_for_api_server(&client).await;
    readiness.set_ready();
    Ok(ControllerProcess {
        name,
        client,
        metrics,
        readiness,
    })
}

async fn wait_for_api_server(client: &Client) {
    let mut delay = Duration::from_millis(250);
    loop {
        match client.apiserver_version().await {
            Ok(version) => {
                tracing::info!(
                    server = %format!("{}.{}", version.major, version.minor),
                    "connected to the Kubernetes API"
                );
                return;
            }
            Err(error) => {
                tracing::error!(%error, retry_in = ?delay, "cannot reach the Kubernetes API");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Resolves when the process is asked to stop (SIGTERM from the kubelet, or Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = terminate.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}

/// Runs a controller that has no reconcilers yet: it starts, connects, serves its probes and
/// metrics, and waits to be stopped.
pub async fn run_idle(name: &'static str, common: &CommonArgs) -> Result<(), StartError> {
    let _process = start(name, common).await?;
    tracing::info!(
        controller = name,
        "no reconcilers enabled in this build; idling"
    );
    shutdown_signal().await;
    Ok(())
}

/// Turns the outcome of a controller's `run` into a process exit code, logging the error chain.
pub fn exit_code<E: std::error::Error>(
    name: &str,
    result: Result<(), E>,
) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {}", crate::controller::error_chain(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
