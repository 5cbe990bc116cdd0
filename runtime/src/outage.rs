//! Catching up after the API server was unreachable.
//!
//! Measured against a restarted kube-apiserver, a watch that reconnects on its own can take many
//! seconds to deliver anything: the request is accepted while the new server still builds its
//! watch cache, and then ends with "too old resource version", so the re-list only starts after
//! that. And the watch brings back changes, not the reconciles that failed *because* the API was
//! gone: interval requeues and retries that ran during the outage went into per-object error
//! backoff, which may be long by the time the API answers.
//!
//! So when a watch breaks, [`OutageRecovery`] asks the API server whether it is down (`/readyz`).
//! If it was, then as soon as it is ready again the watch is started over with a fresh list
//! ([`restarting_watch`]), and once that list is in the store every object is queued for a
//! reconcile ([`triggers`]). A watch error while the server is ready (a forbidden watch, an
//! expired resource version) is not an outage and triggers nothing extra.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::{
    Stream, StreamExt,
    channel::mpsc,
    stream::{self, BoxStream},
};
use kube::{
    Api, Client, Resource, ResourceExt,
    runtime::{
        reflector::Store,
        watcher::{self, Event, watcher},
    },
};
use serde::de::DeserializeOwned;

use crate::watch::reconcile_trigger;

/// How often a down API server is asked whether it is back.
const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// How long one probe may take: a server that accepts connections but does not answer is down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Watches for API outages of one controller; see the module documentation.
pub struct OutageRecovery {
    client: Client,
    kind: String,
    probing: Arc<AtomicBool>,
    /// Set when the server is back after an outage; cleared by [`triggers`] once it has
    /// queued every object.
    resync: Arc<AtomicBool>,
    restart: mpsc::UnboundedSender<()>,
}

/// What [`OutageRecovery::new`] hands to the watch pipeline.
pub struct RecoverySignals {
    /// Fires when the watch must start over ([`restarting_watch`]).
    pub restart: mpsc::UnboundedReceiver<()>,
    /// Read by [`triggers`].
    pub resync: Arc<AtomicBool>,
}

impl OutageRecovery {
    pub fn new(client: Client, kind: impl Into<String>) -> (Self, RecoverySignals) {
        let (restart, restarts) = mpsc::unbounded();
        let resync = Arc::new(AtomicBool::new(false));
        let recovery = Self {
            client,
            kind: kind.into(),
            probing: Arc::new(AtomicBool::new(false)),
            resync: Arc::clone(&resync),
            restart,
        };
        let signals = RecoverySignals {
            restart: restarts,
            resync,
        };
        (recovery, signals)
    }

    /// Call on every watch error: starts probing the API server unless a probe already runs.
    pub fn watch_failed(&self) {
        if self.probing.swap(true, Ordering::SeqCst) {
            return;
        }
        let probe = Probe {
            client: self.client.clone(),
            kind: self.kind.clone(),
            probing: Arc::clone(&self.probing),
            resync: Arc::clone(&self.resync),
            restart: self.restart.clone(),
        };
        tokio::spawn(probe.run());
    }
}

struct Probe {
    client: Client,
    kind: String,
    probing: Arc<AtomicBool>,
    resync: Arc<AtomicBool>,
    restart: mpsc::UnboundedSender<()>,
}

impl Probe {
    async fn run(self) {
        let mut down_since = None;
        loop {
            if self.restart.is_closed() {
                return; // the controller stopped
            }
            if self.api_is_ready().await {
                break;
            }
            if down_since.is_none() {
                tracing::error!(controllerKind = %self.kind, "the Kubernetes API is not ready; waiting for it");
                down_since = Some(tokio::time::Instant::now());
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
        self.probing.store(false, Ordering::SeqCst);
        let Some(down_since) = down_since else {
            return;
        };
        tracing::info!(
            controllerKind = %self.kind,
            unreachable_for = ?down_since.elapsed(),
            "the Kubernetes API is ready again; listing and reconciling every object"
        );
        self.resync.store(true, Ordering::SeqCst);
        let _ = self.restart.unbounded_send(());
    }

    /// `/readyz` rather than `/version`: a starting API server answers the latter before it
    /// serves custom resources.
    async fn api_is_ready(&self) -> bool {
        let Ok(request) = axum::http::Request::get("/readyz").body(Vec::new()) else {
            return false;
        };
        matches!(
            tokio::time::timeout(PROBE_TIMEOUT, self.client.request_text(request)).await,
            Ok(Ok(body)) if body.trim() == "ok"
        )
    }
}

/// A watch of `api` that starts over (a fresh list, not a resumed watch) whenever `restart`
/// fires.
pub fn restarting_watch<K>(
    api: Api<K>,
    config: watcher::Config,
    restart: mpsc::UnboundedReceiver<()>,
) -> impl Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let start = move || -> BoxStream<'static, Result<Event<K>, watcher::Error>> {
        watcher(api.clone(), config.clone()).boxed()
    };
    let current = start();
    stream::unfold(
        (current, Some(restart), start),
        |(mut current, mut restart, start)| async move {
            loop {
                let restarted = async {
                    match restart.as_mut() {
                        Some(receiver) => receiver.next().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    signal = restarted => match signal {
                        Some(()) => current = start(),
                        None => restart = None,
                    },
                    item = current.next() => {
                        return item.map(|item| (item, (current, restart, start)));
                    }
                }
            }
        },
    )
}

/// The objects to reconcile, from the watch events after `reflect`: those whose
/// [`reconcile_trigger`] changed, and — once a re-list after an outage is in `store` — every
/// object, read from the store so no reconcile sees a version older than the list.
pub fn triggers<K, S>(
    events: S,
    store: Store<K>,
    resync: Arc<AtomicBool>,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    let mut seen = SeenTriggers::default();
    events.flat_map(move |event| {
        let triggered: Vec<Result<K, watcher::Error>> = match event {
            Ok(Event::Apply(object) | Event::InitApply(object)) => seen
                .changed(&object)
                .then_some(Ok(object))
                .into_iter()
                .collect(),
            Ok(Event::Delete(object)) => {
                seen.forget(&object);
                Vec::new()
            }
            Ok(Event::InitDone) => {
                let listed = store.state();
                seen.keep_only(&listed);
                if resync.swap(false, Ordering::SeqCst) {
                    listed
                        .iter()
                        .map(|object| Ok(object.as_ref().clone()))
                        .collect()
                } else {
                    Vec::new()
                }
            }
            Ok(Event::Init) => Vec::new(),
            Err(error) => vec![Err(error)],
        };
        stream::iter(triggered)
    })
}

/// The last [`reconcile_trigger`] seen per object (by uid, so a re-created object is new).
#[derive(Default)]
struct SeenTriggers(HashMap<String, Option<u64>>);

impl SeenTriggers {
    fn key<K: Resource>(object: &K) -> String {
        object.uid().unwrap_or_else(|| {
            format!(
                "{}/{}",
                object.namespace().unwrap_or_default(),
                object.name_any()
            )
        })
    }

    fn changed<K: Resource>(&mut self, object: &K) -> bool {
        let trigger = reconcile_trigger(object);
        self.0.insert(Self::key(object), trigger) != Some(trigger)
    }

    fn forget<K: Resource>(&mut self, object: &K) {
        self.0.remove(&Self::key(object));
    }

    /// After a list: objects deleted while the watch was down are never seen deleted.
    fn keep_only<K: Resource>(&mut self, listed: &[Arc<K>]) {
        let keys: std::collections::HashSet<String> = listed
            .iter()
            .map(|object| Self::key(object.as_ref()))
            .collect();
        self.0.retain(|key, _| keys.contains(key));
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::{Router, http::StatusCode, routing::get};
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::{
        api::ObjectMeta,
        runtime::{WatchStreamExt, reflector},
    };

    use super::*;

    fn config_map(name: &str, generation: i64, data: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{name}")),
                generation: Some(generation),
                ..ObjectMeta::default()
            },
            data: Some([("k".to_owned(), data.to_owned())].into()),
            ..ConfigMap::default()
        }
    }

    async fn run_triggers(events: Vec<Event<ConfigMap>>, resync: bool) -> Vec<(String, i64)> {
        let (store, writer) = reflector::store::<ConfigMap>();
        let events = stream::iter(events.into_iter().map(Ok)).reflect(writer);
        triggers(events, store, Arc::new(AtomicBool::new(resync)))
            .map(|object| {
                let object = object.unwrap();
                (object.name_any(), object.metadata.generation.unwrap())
            })
            .collect()
            .await
    }

    #[tokio::test]
    async fn only_changes_trigger_unless_a_list_follows_an_outage() {
        let events = || {
            vec![
                Event::Init,
                Event::InitApply(config_map("a", 1, "x")),
                Event::InitApply(config_map("b", 1, "x")),
                Event::InitDone,
                Event::Apply(config_map("a", 1, "status write")),
                Event::Apply(config_map("b", 2, "x")),
                Event::Init,
                Event::InitApply(config_map("a", 1, "x")),
                Event::InitApply(config_map("b", 2, "x")),
                Event::InitDone,
            ]
        };
        let changes = [
            ("a".to_owned(), 1),
            ("b".to_owned(), 1),
            ("b".to_owned(), 2),
        ];
        assert_eq!(run_triggers(events(), false).await, changes);

        // After an outage, the list that follows also queues every object once it is stored.
        let resynced = run_triggers(events(), true).await;
        assert_eq!(resynced.len(), 5, "{resynced:?}");
        assert_eq!(
            resynced[..2],
            changes[..2],
            "the listed objects that are new"
        );
        let mut stored = resynced[2..4].to_vec();
        stored.sort();
        assert_eq!(stored, changes[..2], "then every stored object");
        assert_eq!(
            resynced[4], changes[2],
            "then the change; the second list is no outage"
        );
    }

    /// Answers `/readyz` like an API server on `addr` (`ok` once `ready` is set).
    async fn fake_api_server(addr: SocketAddr, ready: Arc<AtomicBool>) {
        let router = Router::new().route(
            "/readyz",
            get(move || async move {
                if ready.load(Ordering::SeqCst) {
                    (StatusCode::OK, "ok")
                } else {
                    (StatusCode::INTERNAL_SERVER_ERROR, "[-]etcd failed")
                }
            }),
        );
        crate::http_server::spawn(addr, router, crate::http_server::ServerLimits::default())
            .await
            .unwrap();
    }

    fn recovery_for(addr: SocketAddr) -> (OutageRecovery, RecoverySignals) {
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        OutageRecovery::new(Client::try_from(config).unwrap(), "ConfigMap")
    }

    fn free_port() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    #[tokio::test]
    async fn the_watch_restarts_and_resyncs_once_the_api_is_ready_again() {
        crate::tls::install_crypto_provider();
        let addr = free_port();
        let (recovery, mut signals) = recovery_for(addr);
        recovery.watch_failed();
        recovery.watch_failed(); // one probe at a time
        tokio::time::sleep(Duration::from_millis(400)).await;
        let ready = Arc::new(AtomicBool::new(false));
        fake_api_server(addr, Arc::clone(&ready)).await; // up, not ready
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            !signals.resync.load(Ordering::SeqCst),
            "not ready is still down"
        );
        ready.store(true, Ordering::SeqCst);
        let back = tokio::time::Instant::now();

        tokio::time::timeout(Duration::from_secs(5), signals.restart.next())
            .await
            .expect("no restart after the API was ready again")
            .unwrap();
        assert!(
            back.elapsed() < Duration::from_secs(1),
            "{:?}",
            back.elapsed()
        );
        assert!(signals.resync.load(Ordering::SeqCst));
        assert!(
            tokio::time::timeout(Duration::from_millis(500), signals.restart.next())
                .await
                .is_err(),
            "restarted more than once"
        );
    }

    #[tokio::test]
    async fn a_watch_error_while_the_api_is_ready_is_no_outage() {
        crate::tls::install_crypto_provider();
        let addr = free_port();
        fake_api_server(addr, Arc::new(AtomicBool::new(true))).await;
        let (recovery, mut signals) = recovery_for(addr);
        recovery.watch_failed();
        assert!(
            tokio::time::timeout(Duration::from_secs(1), signals.restart.next())
                .await
                .is_err()
        );
        assert!(!signals.resync.load(Ordering::SeqCst));
    }
}
