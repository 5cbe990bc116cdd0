//! The one way Eddy serves HTTP. Every server a controller runs (notification-controller's event
//! and webhook receiver servers, source-controller's artifact server, the probe and metrics
//! servers) goes through [`serve`], so a client that stalls cannot hold a connection for ever and
//! a flood of connections cannot exhaust the process.
//!
//! Per connection: the request head must be complete within the header timeout (counted from
//! accepting a new connection, or from the first byte of a later request on a kept-alive one); a
//! request body within the body timeout after its head; a kept-alive connection with no request
//! is closed after the idle timeout, and so is one whose request moves no byte either way for that
//! long. Per server: at most `max_connections` at once; further clients wait in the listen
//! backlog (as with Go's `netutil.LimitListener`) until a slot frees up, rather than being refused.
//!
//! HTTP/1.1 only: every client of these servers (Flux's and Eddy's controllers, Prometheus, the
//! kubelet's probes, webhook senders) speaks it.

mod activity;
mod bodies;

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, extract::Request};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};
use tokio_util::sync::CancellationToken;
use tower_service::Service;

pub use activity::Stall;
pub use bodies::BodyReadError;

use activity::{Activity, TrackedIo};
use bodies::{TimedRequestBody, TrackedResponseBody};

/// The limits one server enforces (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ServerLimits {
    /// The flags' defaults.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            max_connections: 256,
        }
    }
}

/// Flags for the limits every HTTP server of a controller enforces. Flux has no such flags (its
/// event, receiver and artifact servers set no timeouts; its probe and metrics servers use
/// controller-runtime's fixed 32 s header timeout), so the names and defaults are Eddy's.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpServerArgs {
    /// How long a client may take to send a request's header (from connecting, or from the first
    /// byte of a later request on a kept-alive connection).
    #[arg(long, default_value = "10s", value_parser = crate::cli::parse_duration)]
    pub http_read_header_timeout: Duration,

    /// How long a client may take to send a request's body after its header.
    #[arg(long, default_value = "30s", value_parser = crate::cli::parse_duration)]
    pub http_read_body_timeout: Duration,

    /// How long a kept-alive connection may wait for its next request, and how long a request may
    /// move no byte in either direction.
    #[arg(long, default_value = "90s", value_parser = crate::cli::parse_duration)]
    pub http_idle_timeout: Duration,

    /// Most connections each HTTP server holds at once; more wait to be accepted.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub http_max_connections: u32,
}

impl HttpServerArgs {
    pub fn limits(&self) -> ServerLimits {
        ServerLimits {
            header_read_timeout: self.http_read_header_timeout,
            body_read_timeout: self.http_read_body_timeout,
            idle_timeout: self.http_idle_timeout,
            max_connections: usize::try_from(self.http_max_connections).unwrap_or(usize::MAX),
        }
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes, then stops accepting,
/// lets requests in flight finish (each still bounded by the limits) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let max_connections = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max_connections));
    let stopping = CancellationToken::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let next = async {
            // A slot first, then accept: while all are taken, new clients wait in the backlog.
            let slot = Arc::clone(&slots).acquire_owned().await.ok()?;
            Some((slot, accept(&listener).await))
        };
        let (slot, (stream, peer)) = tokio::select! {
            next = next => match next {
                Some(next) => next,
                None => break,
            },
            () = &mut shutdown => break,
        };
        let connection = Connection {
            router: router.clone(),
            limits,
            stopping: stopping.clone(),
            _slot: slot,
        };
        tokio::spawn(connection.serve(stream, peer));
    }
    drop(listener);
    stopping.cancel();
    // Every connection holds a slot until it ends: having them all back means all have ended.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// Accepts the next connection, riding out errors: a client that gave up before being accepted
/// is skipped, and running out of file descriptors waits for some to be closed.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(error) if client_gave_up(&error) => {}
            Err(error) => {
                tracing::error!(%error, "cannot accept a connection; retrying in 1s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn client_gave_up(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}

/// One accepted connection and what it needs to be served.
struct Connection {
    router: Router,
    limits: ServerLimits,
    stopping: CancellationToken,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve(self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        let io = TokioIo::new(TrackedIo::new(stream, Arc::clone(&activity)));
        let limits = self.limits;
        let router = self.router;
        let requests = Arc::clone(&activity);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let in_flight = requests.request_started();
            let request = request.map(|body| TimedRequestBody::new(body, limits.body_read_timeout));
            let mut router = router.clone();
            async move {
                let response = router.call(request).await?;
                Ok::<_, Infallible>(response.map(|body| TrackedResponseBody::new(body, in_flight)))
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        // Header and idle timeouts are enforced by `Activity` (hyper's timer cannot tell them apart).
        builder.header_read_timeout(None);
        let connection = builder.serve_connection(io, service);
        let mut connection = std::pin::pin!(connection);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%peer, %error, "HTTP connection ended with an error");
                    }
                    return;
                }
                stall = activity.stalled(&limits) => {
                    tracing::debug!(%peer, reason = %stall, "closing a stalled HTTP connection");
                    return;
                }
                () = self.stopping.cancelled(), if !stopping => {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Binds `addr` and serves `router` under `limits` in the background until the process exits.
/// Binding happens before returning, so a port conflict is reported by the caller at start-up.
pub async fn spawn(
    addr: SocketAddr,
    router: Router,
    limits: ServerLimits,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(serve(listener, router, limits, std::future::pending()));
    Ok(bound)
}
