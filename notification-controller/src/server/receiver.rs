//! The webhook receiver server (`--receiverAddr`, paths `/hook/<digest>`). Order of checks:
//! known path (404), usable Receiver (503), genuine call (400), then annotate targets (500 on
//! any failure, 200 when done).

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode},
    routing::any,
};
use eddy_api::notification::Receiver;
use eddy_runtime::conditions;
use kube::{Client, ResourceExt};

use super::MAX_BODY_BYTES;
use crate::{
    controller::receiver::read_token,
    lenient::{self, Scope},
    receivers::{annotate, verify},
};

/// What the receiver handler works with.
pub struct ReceiverServer {
    pub client: Client,
    pub scope: Scope,
    pub no_cross_namespace_refs: bool,
}

/// Routes of the receiver server.
pub fn router(server: Arc<ReceiverServer>) -> Router {
    Router::new()
        .route("/hook/{digest}", any(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(server)
}

async fn receive(
    State(server): State<Arc<ReceiverServer>>,
    Path(digest): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let path = format!("/hook/{digest}");
    let receivers = match lenient::list::<Receiver>(&server.client, &server.scope).await {
        Ok(receivers) => receivers,
        Err(error) => {
            tracing::error!(%error, "cannot list Receivers");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot list receivers\n".into(),
            );
        }
    };
    let Some(receiver) = receivers.into_iter().find(|receiver| {
        receiver
            .status
            .as_ref()
            .and_then(|s| s.webhook_path.as_deref())
            == Some(path.as_str())
    }) else {
        return (StatusCode::NOT_FOUND, "no receiver at this path\n".into());
    };
    let name = receiver.name_any();
    let namespace = receiver.namespace().unwrap_or_default();
    if receiver.spec.suspend.unwrap_or(false) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "receiver is suspended\n".into(),
        );
    }
    let ready = receiver
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_deref())
        .is_some_and(|conditions| conditions::is_true(conditions, conditions::READY));
    if !ready {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "receiver is not ready\n".into(),
        );
    }
    let token = match read_token(&server.client, &receiver).await {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(receiver = %name, %namespace, error = %error, "cannot read the receiver token");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot read the receiver token\n".into(),
            );
        }
    };
    match verify::verify(&receiver.spec, &token, &headers, &body) {
        Ok(verify::Verdict::Pong) => return (StatusCode::OK, "pong\n".into()),
        Ok(verify::Verdict::Reconcile) => {}
        Err(error) => {
            tracing::warn!(receiver = %name, %namespace, error = %error, "refused a webhook call");
            return (StatusCode::BAD_REQUEST, format!("{error}\n"));
        }
    }
    let request: serde_json::Value =
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    match annotate::request_reconcile(
        &server.client,
        &receiver,
        &request,
        server.no_cross_namespace_refs,
    )
    .await
    {
        Ok(annotated) => {
            tracing::info!(receiver = %name, %namespace, resources = ?annotated, "reconcile requested");
            (StatusCode::OK, String::new())
        }
        Err(error) => {
            tracing::error!(receiver = %name, %namespace, error = %error, "cannot request reconciliation");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n"))
        }
    }
}
