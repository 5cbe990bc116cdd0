//! Shared pieces of the notification-controller integration tests: the controller started
//! in-process against the shared testenv, and a recording HTTP server standing in for Slack,
//! Teams, Discord, GitHub and generic webhooks.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // test helpers may panic

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
};
use clap::Parser;
use eddy_api::source::GitRepository;
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use k8s_openapi::api::core::v1::{Event as KubeEvent, Secret};
use kube::{
    Api, Client,
    api::{ListParams, PostParams},
};
use notification_controller::{Args, Running};
use tokio_util::sync::CancellationToken;

/// Starts the controller in-process on loopback ports.
pub async fn start_controller(client: &Client, rate_limit_interval: &str) -> Running {
    eddy_runtime::tls::install_crypto_provider();
    let args = Args::try_parse_from([
        "notification-controller",
        "--events-addr=127.0.0.1:0",
        "--receiverAddr=127.0.0.1:0",
        "--metrics-addr=127.0.0.1:0",
        "--health-addr=127.0.0.1:0",
        &format!("--rate-limit-interval={rate_limit_interval}"),
        "--min-retry-delay=200ms",
        "--max-retry-delay=2s",
    ])
    .unwrap();
    let process = Arc::new(ControllerProcess {
        name: notification_controller::NAME,
        client: client.clone(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    });
    notification_controller::start(process, args, CancellationToken::new())
        .await
        .unwrap()
}

/// One request a fake service received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    }
}

/// How the fake service answers.
#[derive(Clone, Copy)]
pub struct Behaviour {
    pub status: StatusCode,
    pub delay: Duration,
    pub body: &'static str,
}

#[derive(Clone)]
struct ServiceState {
    requests: Arc<Mutex<Vec<Recorded>>>,
    behaviour: Behaviour,
}

/// A recording HTTP server on loopback.
pub struct FakeService {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeService {
    pub async fn start() -> Self {
        Self::start_with(Behaviour {
            status: StatusCode::OK,
            delay: Duration::ZERO,
            body: "",
        })
        .await
    }

    pub async fn start_with(behaviour: Behaviour) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = ServiceState {
            requests: requests.clone(),
            behaviour,
        };
        let router = Router::new().fallback(record).with_state(state);
        let addr = eddy_runtime::admin::spawn_server(
            "127.0.0.1:0".parse().unwrap(),
            "fake service",
            router,
        )
        .await
        .unwrap();
        Self { addr, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived and returns them.
    pub async fn wait_for_requests(&self, count: usize) -> Vec<Recorded> {
        eddy_test_support::wait_for(
            format!("{count} requests at {}", self.addr),
            Duration::from_secs(30),
            async || {
                let requests = self.requests();
                Ok((requests.len() >= count).then_some(requests))
            },
        )
        .await
        .unwrap()
    }
}

async fn record(
    State(state): State<ServiceState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    state.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers,
        body,
    });
    tokio::time::sleep(state.behaviour.delay).await;
    (state.behaviour.status, state.behaviour.body)
}

/// Creates a Secret with string data.
pub async fn secret(client: &Client, namespace: &str, name: &str, data: &[(&str, &str)]) {
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name},
        "stringData": data.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<std::collections::BTreeMap<_, _>>(),
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
}

/// Creates any namespaced object from JSON (Providers, Alerts, Receivers).
pub async fn create<K>(client: &Client, namespace: &str, object: serde_json::Value) -> K
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let object: K = serde_json::from_value(object).unwrap();
    Api::<K>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &object)
        .await
        .unwrap()
}

/// A bare GitRepository (no source-controller runs in these tests).
pub async fn git_repository(
    client: &Client,
    namespace: &str,
    name: &str,
    labels: serde_json::Value,
) -> GitRepository {
    create(
        client,
        namespace,
        serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": name, "labels": labels},
            "spec": {"url": "https://example.invalid/app.git", "interval": "10m"}
        }),
    )
    .await
}

/// Warning events recorded on an object of `kind` named `name`.
pub async fn warnings(client: &Client, namespace: &str, kind: &str, name: &str) -> Vec<KubeEvent> {
    Api::<KubeEvent>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|event| {
            event.type_.as_deref() == Some("Warning")
                && event.involved_object.kind.as_deref() == Some(kind)
                && event.involved_object.name.as_deref() == Some(name)
        })
        .collect()
}

/// Waits for a Warning event with `reason` on the Alert `name` and returns its message.
pub async fn wait_for_warning(
    client: &Client,
    namespace: &str,
    name: &str,
    reason: &str,
) -> String {
    eddy_test_support::wait_for(
        format!("a {reason} warning on Alert {name}"),
        Duration::from_secs(60),
        async || {
            let events = warnings(client, namespace, "Alert", name).await;
            Ok(events
                .into_iter()
                .find(|event| event.reason.as_deref() == Some(reason))
                .and_then(|event| event.message))
        },
    )
    .await
    .unwrap()
}

/// Everything logged in this test process at debug level and above, once [`capture_logs`] ran.
static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per test process) a subscriber that keeps every log line in memory.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = LogBuffer(buffer.clone());
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    });
}

/// The captured log text so far.
pub fn captured_logs() -> String {
    LOGS.get()
        .map(|buffer| String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned())
        .unwrap_or_default()
}
