//! A loopback HTTP bridge that lets libgit2 reach HTTPS remotes requiring a client certificate.
//!
//! libgit2's HTTPS transport cannot present client certificates. For such remotes the async
//! fetch starts this bridge on `127.0.0.1:<random port>`, points libgit2 at it over plain HTTP,
//! and forwards every request to the real remote over rustls with the client certificate (and
//! `ca.crt`, when given). Requests stay on loopback, live only as long as the fetch, and carry
//! libgit2's own `Authorization` headers unchanged.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::GitError;
use crate::url::RepoUrl;

/// Largest request body forwarded (upload-pack negotiations are far smaller).
const MAX_REQUEST_BODY: usize = 64 << 20;

/// Headers that describe one hop of a connection and must not be forwarded.
const HOP_BY_HOP: [HeaderName; 5] = [
    header::CONNECTION,
    header::HOST,
    header::TRANSFER_ENCODING,
    header::CONTENT_LENGTH,
    header::UPGRADE,
];

/// A running bridge; stops when dropped.
pub(crate) struct Bridge {
    /// The URL libgit2 uses instead of the remote's.
    pub url: String,
    task: JoinHandle<()>,
    upstream: Arc<Upstream>,
}

impl Bridge {
    /// Why the last forwarded request failed, if one did. libgit2 only reports the 502 the
    /// bridge answered with, so callers put this in its place.
    pub fn last_error(&self) -> Option<String> {
        self.upstream.last_error.lock().ok()?.clone()
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Upstream {
    client: reqwest::Client,
    /// `https://host:port` of the remote.
    origin: String,
    last_error: Mutex<Option<String>>,
}

/// Starts a bridge for `remote`, presenting `identity_pem` (certificate + key) and trusting
/// `ca_pem` in addition to the system roots.
pub(crate) async fn start(
    remote: &RepoUrl,
    identity_pem: &[u8],
    ca_pem: Option<&[u8]>,
) -> Result<Bridge, GitError> {
    let invalid = |detail: String| GitError::InvalidAuth(detail);
    // reqwest is built without a default crypto provider; make sure one (ring, as everywhere in
    // Eddy) is installed. A provider that is already installed is kept.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let identity = reqwest::Identity::from_pem(identity_pem).map_err(|err| {
        invalid(format!(
            "'tls.crt'/'tls.key' are not a usable PEM pair: {err}"
        ))
    })?;
    let mut builder = reqwest::Client::builder()
        .identity(identity)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::limited(5));
    if let Some(ca_pem) = ca_pem {
        for certificate in reqwest::Certificate::from_pem_bundle(ca_pem)
            .map_err(|err| invalid(format!("'ca.crt' is not valid PEM: {err}")))?
        {
            builder = builder.add_root_certificate(certificate);
        }
    }
    let client = builder
        .build()
        .map_err(|err| GitError::operation("preparing the mTLS client", err))?;
    let host = match remote.host().parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("[{}]", remote.host()),
        Err(_) => remote.host(),
    };
    let upstream = Arc::new(Upstream {
        client,
        origin: format!("https://{host}:{}", remote.port()),
        last_error: Mutex::new(None),
    });
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| GitError::operation("starting the mTLS bridge", err))?;
    let addr = listener
        .local_addr()
        .map_err(|err| GitError::operation("starting the mTLS bridge", err))?;
    let router = axum::Router::new()
        .fallback(forward)
        .with_state(upstream.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let mut url = format!("http://{addr}{}", remote.path());
    if let Some(query) = remote.query() {
        url.push('?');
        url.push_str(query);
    }
    Ok(Bridge {
        url,
        task,
        upstream,
    })
}

async fn forward(State(upstream): State<Arc<Upstream>>, request: Request) -> Response {
    match forward_request(&upstream, request).await {
        Ok(response) => response,
        // libgit2 shows the body of failed requests; name the remote, not the bridge.
        Err(err) => {
            let message = error_chain(err.as_ref());
            if let Ok(mut last) = upstream.last_error.lock() {
                *last = Some(message.clone());
            }
            (StatusCode::BAD_GATEWAY, message).into_response()
        }
    }
}

async fn forward_request(
    upstream: &Upstream,
    request: Request,
) -> Result<Response, Box<dyn std::error::Error + Send + Sync>> {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |value| value.as_str());
    let body = axum::body::to_bytes(body, MAX_REQUEST_BODY).await?;
    let mut outgoing = upstream
        .client
        .request(parts.method, format!("{}{path_and_query}", upstream.origin))
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !HOP_BY_HOP.contains(name) {
            response = response.header(name, value);
        }
    }
    Ok(response.body(Body::from_stream(answer.bytes_stream()))?)
}

/// An error with its causes, which is where TLS failures keep the interesting part.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
