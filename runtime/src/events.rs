//! Recording what happened to an object, the way Flux controllers do.
//!
//! Every event goes two ways: a Kubernetes `Event` (what `kubectl describe` and `flux events`
//! show), and, unless it is trace-level, a JSON POST to `--events-addr` where
//! notification-controller routes it to Slack, webhooks and commit statuses. The POST happens in
//! the background with retries, so a slow or absent notification-controller never slows a
//! reconcile.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use k8s_openapi::api::core::v1::{Event as KubeEvent, EventSource, ObjectReference};
use kube::{
    Client, Resource, ResourceExt,
    api::{Api, ObjectMeta, Patch, PatchParams, PostParams},
};
use serde::Serialize;

use crate::time;

/// Metadata keys that a controller prefixes with its API group (Flux's event contract).
pub const GROUP_SCOPED_KEYS: &[&str] = &[
    "revision",
    "originRevision",
    "checksum",
    "digest",
    "token",
    "commit_status",
];

/// Prefix of object annotations copied into every event's metadata.
pub const EVENT_ANNOTATION_PREFIX: &str = "event.toolkit.fluxcd.io/";

/// How important an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Internal detail: recorded in Kubernetes, never forwarded.
    Trace,
    Info,
    Error,
}

/// One thing that happened to an object.
#[derive(Debug, Clone)]
pub struct Event {
    pub severity: Severity,
    /// PascalCase reason, e.g. `NewArtifact` or `ReconciliationSucceeded`.
    pub reason: String,
    pub message: String,
    /// Unprefixed metadata (`revision`, `digest`, …); group-scoped keys get the object's API group.
    pub metadata: BTreeMap<String, String>,
}

impl Event {
    pub fn new(severity: Severity, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity,
            reason: reason.into(),
            message: message.into(),
            metadata: BTreeMap::new(),
        }
    }

    pub fn info(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Info, reason, message)
    }

    pub fn error(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, reason, message)
    }

    pub fn trace(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Severity::Trace, reason, message)
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// The JSON body notification-controller accepts (`event.toolkit.fluxcd.io/v1beta1` Event).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventPayload {
    pub involved_object: ObjectReference,
    pub severity: Severity,
    pub timestamp: String,
    pub message: String,
    pub reason: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    pub reporting_controller: String,
    pub reporting_instance: String,
}

/// Builds the payload for `event` about the object described by `reference` and `meta`.
pub fn payload(
    reference: ObjectReference,
    meta: &ObjectMeta,
    event: &Event,
    controller: &str,
    instance: &str,
) -> EventPayload {
    let group = reference
        .api_version
        .as_deref()
        .and_then(|api_version| {
            api_version
                .split_once('/')
                .map(|(group, _)| group.to_owned())
        })
        .unwrap_or_default();
    let mut metadata: BTreeMap<String, String> = meta
        .annotations
        .iter()
        .flatten()
        .filter(|(key, _)| key.starts_with(EVENT_ANNOTATION_PREFIX))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    for (key, value) in &event.metadata {
        let key = if GROUP_SCOPED_KEYS.contains(&key.as_str()) && !group.is_empty() {
            format!("{group}/{key}")
        } else {
            key.clone()
        };
        metadata.insert(key, value.clone());
    }
    EventPayload {
        involved_object: reference,
        severity: event.severity,
        timestamp: time::rfc3339(&time::now()),
        message: event.message.clone(),
        reason: event.reason.clone(),
        metadata,
        reporting_controller: controller.to_owned(),
        reporting_instance: instance.to_owned(),
    }
}

/// Errors creating a recorder.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("--events-addr '{address}' is not an http(s) URL")]
    InvalidAddress { address: String },
    #[error("cannot build the HTTP client for events: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// Records events for one controller.
#[derive(Clone)]
pub struct EventRecorder {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    controller: String,
    instance: String,
    events_url: Option<String>,
    http: reqwest::Client,
    /// Recent Kubernetes events by (namespace, uid, type, reason, message), so repeats bump a
    /// count instead of creating a new object each time.
    recent: Mutex<HashMap<String, RecentEvent>>,
}

#[derive(Clone)]
struct RecentEvent {
    name: String,
    count: i32,
}

/// How many distinct recent events are remembered for aggregation.
const RECENT_EVENTS_LIMIT: usize = 4096;

impl EventRecorder {
    /// A recorder posting to `events_addr` (empty: Kubernetes Events only).
    pub fn new(client: Client, controller: &str, events_addr: &str) -> Result<Self, EventError> {
        let events_url = events_url(events_addr)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(EventError::HttpClient)?;
        let instance = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| controller.to_owned());
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                controller: controller.to_owned(),
                instance,
                events_url,
                http,
                recent: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Records `event` about `object`. Failures are logged, never returned: losing an event must
    /// not fail a reconcile.
    pub async fn publish<K>(&self, object: &K, event: Event)
    where
        K: Resource<DynamicType = ()>,
    {
        let reference = object_reference(object);
        let body = payload(
            reference,
            object.meta(),
            &event,
            &self.inner.controller,
            &self.inner.instance,
        );
        if let Err(error) = self.record_in_kubernetes(&body).await {
            tracing::warn!(%error, reason = %event.reason, "cannot record Kubernetes event");
        }
        if body.severity != Severity::Trace
            && let Some(url) = self.inner.events_url.clone()
        {
            let http = self.inner.http.clone();
            tokio::spawn(post_with_retries(http, url, body));
        }
    }

    async fn record_in_kubernetes(&self, body: &EventPayload) -> Result<(), kube::Error> {
        let namespace = body
            .involved_object
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let api: Api<KubeEvent> = Api::namespaced(self.inner.client.clone(), &namespace);
        let type_ = if body.severity == Severity::Error {
            "Warning"
        } else {
            "Normal"
        };
        let key = format!(
            "{namespace}/{}/{type_}/{}/{}",
            body.involved_object.uid.as_deref().unwrap_or_default(),
            body.reason,
            body.message
        );
        let now = time::now();
        let previous = self.recent_event(&key);
        if let Some(previous) = previous {
            let count = previous.count + 1;
            let patch = serde_json::json!({"count": count, "lastTimestamp": now});
            match api
                .patch(
                    &previous.name,
                    &PatchParams::default(),
                    &Patch::Merge(patch),
                )
                .await
            {
                Ok(_) => {
                    self.remember(
                        key,
                        RecentEvent {
                            name: previous.name,
                            count,
                        },
                    );
                    return Ok(());
                }
                // The event expired or was deleted; fall through and create a new one.
                Err(kube::Error::Api(status)) if status.is_not_found() => {}
                Err(error) => return Err(error),
            }
        }
        let object_name = body.involved_object.name.clone().unwrap_or_default();
        let name = format!("{object_name}.{:x}", unique_suffix());
        let event = KubeEvent {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace),
                annotations: (!body.metadata.is_empty()).then(|| body.metadata.clone()),
                ..ObjectMeta::default()
            },
            involved_object: body.involved_object.clone(),
            reason: Some(body.reason.clone()),
            message: Some(body.message.clone()),
            type_: Some(type_.to_owned()),
            count: Some(1),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            source: Some(EventSource {
                component: Some(self.inner.controller.clone()),
                host: None,
            }),
            reporting_component: Some(self.inner.controller.clone()),
            reporting_instance: Some(self.inner.instance.clone()),
            ..KubeEvent::default()
        };
        api.create(&PostParams::default(), &event).await?;
        self.remember(key, RecentEvent { name, count: 1 });
        Ok(())
    }

    fn recent_event(&self, key: &str) -> Option<RecentEvent> {
        let recent = self
            .inner
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        recent.get(key).cloned()
    }

    fn remember(&self, key: String, event: RecentEvent) {
        let mut recent = self
            .inner
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if recent.len() >= RECENT_EVENTS_LIMIT && !recent.contains_key(&key) {
            recent.clear();
        }
        recent.insert(key, event);
    }
}

/// The URL events are POSTed to, from `--events-addr` (empty: none).
fn events_url(events_addr: &str) -> Result<Option<String>, EventError> {
    match events_addr.trim() {
        "" => Ok(None),
        address if address.starts_with("http://") || address.starts_with("https://") => {
            Ok(Some(address.to_owned()))
        }
        address => Err(EventError::InvalidAddress {
            address: address.to_owned(),
        }),
    }
}

/// A reference to `object` as events carry it.
pub fn object_reference<K: Resource<DynamicType = ()>>(object: &K) -> ObjectReference {
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: Some(object.name_any()),
        namespace: object.namespace(),
        uid: object.meta().uid.clone(),
        resource_version: object.resource_version(),
        field_path: None,
    }
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// POSTs an event, retrying transport errors and 5xx answers a few times with growing pauses.
async fn post_with_retries(http: reqwest::Client, url: String, body: EventPayload) {
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=4 {
        match http.post(&url).json(&body).send().await {
            Ok(response) if response.status().is_success() => return,
            Ok(response) if !response.status().is_server_error() => {
                tracing::warn!(status = %response.status(), reason = %body.reason, "notification-controller refused an event");
                return;
            }
            Ok(response) => {
                tracing::debug!(status = %response.status(), attempt, "event POST failed; retrying");
            }
            Err(error) => tracing::debug!(%error, attempt, "event POST failed; retrying"),
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    tracing::warn!(reason = %body.reason, "could not deliver an event to notification-controller");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> ObjectReference {
        ObjectReference {
            api_version: Some("source.toolkit.fluxcd.io/v1".into()),
            kind: Some("GitRepository".into()),
            name: Some("podinfo".into()),
            namespace: Some("flux-system".into()),
            uid: Some("1234".into()),
            ..ObjectReference::default()
        }
    }

    #[test]
    fn payload_prefixes_flux_keys_with_the_group_and_copies_event_annotations() {
        let meta = ObjectMeta {
            annotations: Some(BTreeMap::from([
                (
                    "event.toolkit.fluxcd.io/change_request".to_owned(),
                    "42".to_owned(),
                ),
                ("unrelated/annotation".to_owned(), "x".to_owned()),
            ])),
            ..ObjectMeta::default()
        };
        let event = Event::info("NewArtifact", "stored artifact for commit 'Add app'")
            .with("revision", "main@sha1:abc")
            .with("digest", "sha256:def")
            .with("custom", "kept as is");
        let body = payload(reference(), &meta, &event, "source-controller", "pod-1");
        assert_eq!(
            body.metadata["source.toolkit.fluxcd.io/revision"],
            "main@sha1:abc"
        );
        assert_eq!(
            body.metadata["source.toolkit.fluxcd.io/digest"],
            "sha256:def"
        );
        assert_eq!(body.metadata["custom"], "kept as is");
        assert_eq!(
            body.metadata["event.toolkit.fluxcd.io/change_request"],
            "42"
        );
        assert!(!body.metadata.contains_key("unrelated/annotation"));
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["involvedObject"]["kind"], "GitRepository");
        assert_eq!(json["severity"], "info");
        assert_eq!(json["reportingController"], "source-controller");
        assert!(json["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[tokio::test]
    async fn events_are_posted_to_the_events_address_with_retries_on_5xx() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        use axum::{Json, Router, extract::State, http::StatusCode, routing::post};

        crate::tls::install_crypto_provider();
        #[derive(Clone, Default)]
        struct Seen(Arc<Mutex<Vec<serde_json::Value>>>, Arc<AtomicUsize>);
        async fn receive(
            State(seen): State<Seen>,
            Json(body): Json<serde_json::Value>,
        ) -> StatusCode {
            // Fail the first attempt to prove the sender retries.
            if seen.1.fetch_add(1, Ordering::SeqCst) == 0 {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            seen.0.lock().unwrap().push(body);
            StatusCode::ACCEPTED
        }
        let seen = Seen::default();
        let router = Router::new()
            .route("/", post(receive))
            .with_state(seen.clone());
        let addr = crate::admin::spawn_server("127.0.0.1:0".parse().unwrap(), "events", router)
            .await
            .unwrap();
        let body = payload(
            reference(),
            &ObjectMeta::default(),
            &Event::error("GitOperationFailed", "boom"),
            "source-controller",
            "pod",
        );
        post_with_retries(reqwest::Client::new(), format!("http://{addr}/"), body).await;
        let received = seen.0.lock().unwrap().clone();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0]["reason"], "GitOperationFailed");
        assert_eq!(received[0]["severity"], "error");
        assert_eq!(seen.1.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn only_http_event_addresses_are_accepted() {
        assert!(matches!(
            events_url("notification-controller:9090"),
            Err(EventError::InvalidAddress { .. })
        ));
        assert_eq!(events_url("").unwrap(), None);
        assert_eq!(
            events_url(" http://localhost:9090/ ").unwrap().as_deref(),
            Some("http://localhost:9090/")
        );
    }
}
