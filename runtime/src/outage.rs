//! Catching up after the API server was unreachable.
//!
//! A watch that reconnects resumes from where it was (or re-lists), so objects changed meanwhile
//! are seen again. What it does not bring back are the reconciles that failed *because* the API
//! was gone: interval requeues and retries that ran during the outage failed and went into
//! per-object error backoff, which may be minutes long by the time the API answers. So when a
//! watch breaks, [`OutageRecovery`] asks the API server whether it is down; if it was, every
//! object the controller knows is queued for a reconcile as soon as the server answers again.
//! A watch error while the server answers (a forbidden watch, an expired resource version) is
//! not an outage and triggers nothing.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::channel::mpsc;
use kube::{Client, Resource, runtime::reflector::Store};

/// How often a down API server is asked whether it is back.
const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// How long one probe may take: a server that accepts connections but does not answer is down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Watches for API outages of one controller and re-triggers its objects after each.
pub struct OutageRecovery<K: Resource<DynamicType = ()> + Clone + 'static> {
    client: Client,
    store: Store<K>,
    probing: Arc<AtomicBool>,
    triggers: mpsc::UnboundedSender<K>,
}

impl<K> OutageRecovery<K>
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    /// Returns the recovery and the stream of objects to reconcile after an outage; merge the
    /// stream into the controller's triggers.
    pub fn new(client: Client, store: Store<K>) -> (Self, mpsc::UnboundedReceiver<K>) {
        let (triggers, receiver) = mpsc::unbounded();
        let recovery = Self {
            client,
            store,
            probing: Arc::new(AtomicBool::new(false)),
            triggers,
        };
        (recovery, receiver)
    }

    /// Call on every watch error: starts probing the API server unless a probe already runs.
    pub fn watch_failed(&self) {
        if self.probing.swap(true, Ordering::SeqCst) {
            return;
        }
        let probe = Probe {
            client: self.client.clone(),
            store: self.store.clone(),
            probing: Arc::clone(&self.probing),
            triggers: self.triggers.clone(),
        };
        tokio::spawn(probe.run());
    }
}

struct Probe<K: Resource<DynamicType = ()> + Clone + 'static> {
    client: Client,
    store: Store<K>,
    probing: Arc<AtomicBool>,
    triggers: mpsc::UnboundedSender<K>,
}

impl<K> Probe<K>
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    async fn run(self) {
        let kind = K::kind(&());
        let mut down_since = None;
        loop {
            if self.triggers.is_closed() {
                return; // the controller stopped
            }
            if self.api_answers().await {
                break;
            }
            if down_since.is_none() {
                tracing::error!(controllerKind = %kind, "the Kubernetes API does not answer; waiting for it");
                down_since = Some(tokio::time::Instant::now());
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
        self.probing.store(false, Ordering::SeqCst);
        let Some(down_since) = down_since else {
            return;
        };
        let objects = self.store.state();
        tracing::info!(
            controllerKind = %kind,
            unreachable_for = ?down_since.elapsed(),
            objects = objects.len(),
            "the Kubernetes API answers again; reconciling every object"
        );
        for object in objects {
            if self
                .triggers
                .unbounded_send(object.as_ref().clone())
                .is_err()
            {
                return;
            }
        }
    }

    async fn api_answers(&self) -> bool {
        matches!(
            tokio::time::timeout(PROBE_TIMEOUT, self.client.apiserver_version()).await,
            Ok(Ok(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::{Json, Router, routing::get};
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::{
        api::ObjectMeta,
        runtime::{reflector, watcher::Event},
    };

    use super::*;

    fn config_map(name: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    /// A store holding two objects, and a client for an API server at `addr`.
    fn recovery_for(
        addr: SocketAddr,
    ) -> (
        OutageRecovery<ConfigMap>,
        mpsc::UnboundedReceiver<ConfigMap>,
    ) {
        let (store, mut writer) = reflector::store::<ConfigMap>();
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitApply(config_map("a")));
        writer.apply_watcher_event(&Event::InitApply(config_map("b")));
        writer.apply_watcher_event(&Event::InitDone);
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        OutageRecovery::new(Client::try_from(config).unwrap(), store)
    }

    /// Answers `/version` like an API server, on `addr`.
    async fn fake_api_server(addr: SocketAddr) {
        let version = serde_json::json!({
            "major": "1", "minor": "34", "gitVersion": "v1.34.0", "gitCommit": "",
            "gitTreeState": "", "buildDate": "", "goVersion": "", "compiler": "", "platform": "",
        });
        let router = Router::new().route("/version", get(move || async move { Json(version) }));
        crate::http_server::spawn(addr, router, crate::http_server::ServerLimits::default())
            .await
            .unwrap();
    }

    fn free_port() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    #[tokio::test]
    async fn every_object_is_triggered_once_the_api_answers_again() {
        crate::tls::install_crypto_provider();
        let addr = free_port();
        let (recovery, mut triggers) = recovery_for(addr);
        recovery.watch_failed();
        recovery.watch_failed(); // one probe at a time
        tokio::time::sleep(Duration::from_millis(600)).await;
        fake_api_server(addr).await;
        let back = tokio::time::Instant::now();

        let mut names = Vec::new();
        for _ in 0..2 {
            let object = tokio::time::timeout(Duration::from_secs(5), triggers.next())
                .await
                .expect("no trigger after the API came back")
                .unwrap();
            names.push(object.metadata.name.unwrap());
        }
        names.sort();
        assert_eq!(names, ["a", "b"]);
        assert!(
            back.elapsed() < Duration::from_secs(2),
            "{:?}",
            back.elapsed()
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(500), triggers.next())
                .await
                .is_err(),
            "objects triggered more than once"
        );
    }

    #[tokio::test]
    async fn a_watch_error_while_the_api_answers_triggers_nothing() {
        crate::tls::install_crypto_provider();
        let addr = free_port();
        fake_api_server(addr).await;
        let (recovery, mut triggers) = recovery_for(addr);
        recovery.watch_failed();
        assert!(
            tokio::time::timeout(Duration::from_secs(1), triggers.next())
                .await
                .is_err(),
            "a reachable API server is no outage"
        );
    }
}
