//! Eddy's notification-controller: forwards Flux events to chat, incident and Git forge
//! services according to Alerts and Providers, and turns verified webhook calls (Receivers) into
//! reconcile requests.
//!
//! Layout: [`server`] (the two HTTP servers), [`dispatch`] (matching, rate limiting, metadata,
//! Provider resolution), [`providers`] (one payload format per service family), [`receivers`]
//! (webhook verification and annotation), [`controller`] (the Receiver reconciler), [`cel`]
//! (the CEL subset used by `commitStatusExpr` and Receiver filters), [`lenient`] (reading
//! objects one at a time so one undecodable object cannot silence the rest).
//!
//! Behaviour and choices are summarised in this crate's `README.md`.

pub mod args;
pub mod cel;
pub mod controller;
pub mod dispatch;
pub mod event;
pub mod lenient;
pub mod providers;
pub mod receivers;
pub mod server;

use std::{net::SocketAddr, sync::Arc};

use eddy_api::notification::Receiver;
use eddy_runtime::{
    admin::{self, AdminError},
    events::{EventError, EventRecorder},
    process::{self, ControllerProcess, StartError},
    watch,
};
use tokio_util::sync::CancellationToken;

pub use args::Args;

/// The controller's name in logs, events and leases.
pub const NAME: &str = "notification-controller";

/// Why the controller stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Bind(#[from] AdminError),
    #[error("--events-addr: {0}")]
    EventsAddr(String),
    #[error(transparent)]
    Events(#[from] EventError),
    #[error(transparent)]
    Flags(#[from] eddy_runtime::unsupported::flags::UnsupportedFlags),
}

/// Where the servers listen (useful when binding port 0).
#[derive(Debug, Clone, Copy)]
pub struct Running {
    pub events_addr: SocketAddr,
    pub receiver_addr: SocketAddr,
}

/// The bind address of the event server: `--events-addr`, `:9090` when unset.
pub fn events_bind_addr(args: &Args) -> Result<SocketAddr, RunError> {
    let text = match args.common.events_addr.trim() {
        "" => ":9090",
        text => text,
    };
    eddy_runtime::cli::parse_bind_addr(text).map_err(RunError::EventsAddr)
}

/// Runs the controller until it is asked to stop (the binary's entry point).
pub async fn run(args: Args) -> Result<(), RunError> {
    run_with_client(args, None).await
}

/// [`run`] with a given client instead of one from the environment (tests), the same way
/// source-controller offers it.
pub async fn run_with_client(args: Args, client: Option<kube::Client>) -> Result<(), RunError> {
    eddy_runtime::unsupported::flags::refuse_non_default(args.unread_flags())?;
    let process = Arc::new(process::start_with_client(NAME, &args.common, client).await?);
    let running = serve(&process, &args).await?;
    tracing::info!(events = %running.events_addr, receiver = %running.receiver_addr, "servers listening");
    let stop = eddy_runtime::controller::lead(&process, &args.common).await;
    run_receiver_reconciler(process, args, stop).await?;
    Ok(())
}

/// Starts both servers and the Receiver reconciler on an already started process, and returns
/// once the servers listen. The reconciler stops when `stop` is cancelled; the servers live as
/// long as the Tokio runtime. Tests use this to run the controller in-process.
pub async fn start(
    process: Arc<ControllerProcess>,
    args: Args,
    stop: CancellationToken,
) -> Result<Running, RunError> {
    let running = serve(&process, &args).await?;
    let recorder = EventRecorder::new(process.client.clone(), NAME, "")?;
    tokio::spawn(async move {
        let _ = run_receiver_reconciler_with(process, args, stop, recorder).await;
    });
    Ok(running)
}

async fn serve(process: &ControllerProcess, args: &Args) -> Result<Running, RunError> {
    // Events about Alerts (dispatch failures) only go to the Kubernetes API: posting them to
    // ourselves would loop.
    let recorder = EventRecorder::new(process.client.clone(), NAME, "")?;
    let scope = if args.common.watch_all_namespaces {
        lenient::Scope::AllNamespaces
    } else {
        lenient::Scope::Namespace(watch::runtime_namespace())
    };
    let dispatcher = Arc::new(dispatch::Dispatcher::new(
        process.client.clone(),
        recorder,
        scope.clone(),
        args.common.no_cross_namespace_refs,
    ));
    let event_server = Arc::new(server::events::EventServer {
        dispatcher,
        limiter: dispatch::rate_limit::RateLimiter::new(args.rate_limit_interval),
    });
    // Both servers take requests from the network: the --http-* limits keep a stalled or
    // flooding client from holding connections (issue #12).
    let limits = args.common.http_server.limits();
    let events_addr = admin::spawn_server_with(
        events_bind_addr(args)?,
        "events",
        server::events::router(event_server),
        limits,
    )
    .await?;
    let receiver_server = Arc::new(server::receiver::ReceiverServer {
        client: process.client.clone(),
        scope,
        no_cross_namespace_refs: args.common.no_cross_namespace_refs,
    });
    let receiver_addr = admin::spawn_server_with(
        args.receiver_addr,
        "webhook receiver",
        server::receiver::router(receiver_server),
        limits,
    )
    .await?;
    Ok(Running {
        events_addr,
        receiver_addr,
    })
}

async fn run_receiver_reconciler(
    process: Arc<ControllerProcess>,
    args: Args,
    stop: CancellationToken,
) -> Result<(), RunError> {
    let recorder = EventRecorder::new(process.client.clone(), NAME, "")?;
    run_receiver_reconciler_with(process, args, stop, recorder).await
}

async fn run_receiver_reconciler_with(
    process: Arc<ControllerProcess>,
    args: Args,
    stop: CancellationToken,
    recorder: EventRecorder,
) -> Result<(), RunError> {
    let context = Arc::new(controller::receiver::Context {
        client: process.client.clone(),
        recorder,
        failure_backoff: eddy_runtime::requeue::Backoff::new(
            args.common.min_retry_delay,
            args.common.max_retry_delay,
        ),
    });
    eddy_runtime::controller::run::<Receiver, _, _, _, _>(
        &process,
        &args.common,
        args.concurrent,
        context,
        controller::receiver::reconcile,
        None,
        stop,
    )
    .await;
    Ok(())
}
