//! The reconcilers of source-controller and the process that runs them.
//!
//! [`run`] is the whole controller: start-up (logging, probes, metrics, client), leader election,
//! then — only on the leader — the artifact file server and one reconciler per kind, until the
//! process is asked to stop or loses leadership.

mod artifact;
mod config;
pub mod gitrepository;
mod helm_lifecycle;
mod helm_outcome;
mod helm_transport;
pub mod helmchart;
mod helmchart_build;
pub mod helmrepository;
mod include_trigger;
mod lifecycle;
pub mod not_supported;
pub mod ocirepository;
mod outcome;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eddy_runtime::events::{EventError, EventRecorder};
use eddy_runtime::process::{self, StartError};
use eddy_runtime::requeue::Backoff;
use tokio::net::TcpListener;

use crate::args::Args;
use crate::storage::{DigestAlgorithm, Storage, StorageConfig, StorageError};

/// The controller's name: field manager, event source and lease name.
pub const CONTROLLER_NAME: &str = "source-controller";

/// Why the controller stopped, or why a reconcile failed in a way the runner must back off from.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Flags(#[from] eddy_runtime::unsupported::flags::UnsupportedFlags),
    #[error("invalid --artifact-digest-algo: {0}")]
    DigestAlgorithm(#[source] StorageError),
    #[error("cannot open the artifact storage: {0}")]
    Storage(#[source] StorageError),
    #[error("cannot bind the artifact server to {addr}: {source}")]
    BindStorageAddr {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the artifact server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("cannot set up event recording: {0}")]
    Events(#[from] EventError),
    #[error("Kubernetes API request failed ({action}): {source}")]
    Kube { action: String, source: kube::Error },
    #[error("a blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// What every reconcile of source-controller shares.
pub struct Context {
    pub client: kube::Client,
    pub storage: Storage,
    pub events: EventRecorder,
    /// Delays after failures Flux retries (written as `Ready=False`, returned as `Ok(requeue)`).
    pub failure_backoff: Backoff,
    pub jitter_percent: u8,
    pub requeue_dependency: Duration,
    /// `--git-max-size` (`None`: unlimited).
    pub git_max_size: Option<u64>,
    /// `--helm-*-max-size`.
    pub helm: HelmLimits,
}

/// The size caps of Helm indexes and charts (Flux's flags).
#[derive(Debug, Clone, Copy)]
pub struct HelmLimits {
    pub index_max_size: u64,
    pub chart_max_size: u64,
    pub chart_file_max_size: u64,
}

/// Runs source-controller with a client from the environment (in-cluster or `KUBECONFIG`).
pub async fn run(args: Args) -> Result<(), Error> {
    run_with_client(args, None).await
}

/// Runs source-controller; `client` replaces the one from the environment (tests).
pub async fn run_with_client(args: Args, client: Option<kube::Client>) -> Result<(), Error> {
    eddy_runtime::unsupported::flags::refuse_non_default(args.unread_flags())?;
    let process = process::start_with_client(CONTROLLER_NAME, &args.common, client).await?;
    let digest_algorithm: DigestAlgorithm = args
        .artifact_digest_algo
        .parse()
        .map_err(Error::DigestAlgorithm)?;
    let stop = eddy_runtime::controller::lead(&process, &args.common).await;

    // Only the leader serves artifacts (Flux: non-leaders are not Ready on the `http` port).
    let listener = TcpListener::bind(args.storage_addr)
        .await
        .map_err(|source| Error::BindStorageAddr {
            addr: args.storage_addr,
            source,
        })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::BindStorageAddr {
            addr: args.storage_addr,
            source,
        })?;
    let storage = Storage::new(StorageConfig {
        root: args.storage_path.clone(),
        advertised_address: advertised_address(&args.storage_adv_addr, bound),
        digest_algorithm,
        retention_ttl: args.artifact_retention_ttl,
        retention_records: args.artifact_retention_records,
    })
    .map_err(Error::Storage)?;
    tracing::info!(
        storage = %args.storage_path.display(),
        addr = %bound,
        advertised = %storage.config().advertised_address,
        "serving artifacts"
    );

    let context = Arc::new(Context {
        client: process.client.clone(),
        storage,
        events: EventRecorder::new(
            process.client.clone(),
            CONTROLLER_NAME,
            &args.common.events_addr,
        )?,
        failure_backoff: Backoff::new(args.common.min_retry_delay, args.common.max_retry_delay),
        jitter_percent: args.common.interval_jitter_percentage,
        requeue_dependency: args.requeue_dependency,
        git_max_size: (args.git_max_size > 0).then_some(args.git_max_size),
        helm: HelmLimits {
            index_max_size: args.helm_index_max_size,
            chart_max_size: args.helm_chart_max_size,
            chart_file_max_size: args.helm_chart_file_max_size,
        },
    });

    let server = crate::server::serve_with(
        args.storage_path.clone(),
        listener,
        args.common.http_server.limits(),
        stop.clone().cancelled_owned(),
    );
    let reconciler = eddy_runtime::controller::run(
        &process,
        &args.common,
        args.concurrent,
        context.clone(),
        gitrepository::reconcile,
        Some(include_trigger::customize(
            process.client.clone(),
            &args.common,
        )),
        stop.clone(),
    );
    let oci_reconciler = eddy_runtime::controller::run(
        &process,
        &args.common,
        args.concurrent,
        context.clone(),
        ocirepository::reconcile,
        None,
        stop.clone(),
    );
    let helm_repositories = eddy_runtime::controller::run(
        &process,
        &args.common,
        args.concurrent,
        context.clone(),
        helmrepository::reconcile,
        None,
        stop.clone(),
    );
    let helm_charts = eddy_runtime::controller::run(
        &process,
        &args.common,
        args.concurrent,
        context,
        helmchart::reconcile,
        None,
        stop.clone(),
    );
    let markers = not_supported::run(&process, &args.common, args.concurrent, stop.clone());
    let reconcilers = async {
        tokio::join!(
            reconciler,
            oci_reconciler,
            helm_repositories,
            helm_charts,
            markers
        )
    };
    // All live in this future, so dropping it (a test stopping the controller) stops them all.
    tokio::select! {
        result = server => {
            stop.cancel();
            result.map_err(Error::Serve)
        }
        _ = reconcilers => Ok(()),
    }
}

/// The host (and port) artifact URLs carry, as Flux derives it: `--storage-adv-addr` when set,
/// else the bound address with an unspecified host replaced by the pod's host name.
fn advertised_address(flag: &str, bound: SocketAddr) -> String {
    if !flag.trim().is_empty() {
        return flag.trim().to_owned();
    }
    if bound.ip().is_unspecified() {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        return format!("{host}:{}", bound.port());
    }
    bound.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_address_prefers_the_flag_then_the_bound_address() {
        let bound: SocketAddr = "127.0.0.1:9090".parse().unwrap();
        assert_eq!(
            advertised_address("source-controller.flux-system.svc.cluster.local.", bound),
            "source-controller.flux-system.svc.cluster.local."
        );
        assert_eq!(advertised_address("", bound), "127.0.0.1:9090");
        let any: SocketAddr = "0.0.0.0:9090".parse().unwrap();
        assert!(advertised_address("", any).ends_with(":9090"));
        assert!(!advertised_address("", any).starts_with("0.0.0.0"));
    }
}
