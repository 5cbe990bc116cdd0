//! The event server (`--events-addr`, path `/`): validates, rate-limits, and hands events to the
//! dispatcher. Answers 202 once dispatch has started, 400 for a bad body, 413 for an oversized
//! one and 429 for a repeat within the rate-limit interval.

use std::{sync::Arc, time::Instant};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    routing::post,
};

use super::MAX_BODY_BYTES;
use crate::{
    dispatch::{Dispatcher, rate_limit::RateLimiter},
    event::{FluxEvent, SEVERITY_TRACE},
};

/// What the event handler works with.
pub struct EventServer {
    pub dispatcher: Arc<Dispatcher>,
    pub limiter: RateLimiter,
}

/// Routes of the event server.
pub fn router(server: Arc<EventServer>) -> Router {
    Router::new()
        // Flux serves every path (Go's `/` pattern); senders configured with a path keep working.
        .route("/", post(receive))
        .route("/{*path}", post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(server)
}

async fn receive(State(server): State<Arc<EventServer>>, body: Bytes) -> (StatusCode, String) {
    let event = match FluxEvent::parse(&body) {
        Ok(event) => event,
        Err(error) => {
            tracing::debug!(%error, "rejected an event");
            return (StatusCode::BAD_REQUEST, error.to_string());
        }
    };
    if event.severity == SEVERITY_TRACE {
        return (StatusCode::ACCEPTED, String::new());
    }
    let key = crate::dispatch::rate_limit::key(&event);
    if !server.limiter.allow(&key, Instant::now()) {
        tracing::debug!(
            kind = event.kind(),
            name = event.name(),
            namespace = event.namespace(),
            "event rate-limited"
        );
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "identical event seen recently; discarded\n".to_owned(),
        );
    }
    let started = server.dispatcher.dispatch(event).await;
    tracing::debug!(started, "event dispatched");
    (StatusCode::ACCEPTED, String::new())
}
