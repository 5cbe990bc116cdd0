//! What makes a controller reconcile an object, and which objects it sees.
//!
//! Like Flux, a reconcile is triggered by a new generation (spec change), a changed
//! `reconcile.fluxcd.io/requestedAt` annotation, deletion, or the object's interval — not by the
//! controller's own status writes, which would otherwise loop.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    time::Duration,
};

use kube::{Client, Resource, api::Api, runtime::watcher};
use serde::de::DeserializeOwned;

use crate::{cli::CommonArgs, requeue};

/// The annotation that asks for an immediate reconcile.
pub const RECONCILE_REQUEST_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";

/// A value that changes exactly when an object should be reconciled again outside its interval.
pub fn reconcile_trigger<K: Resource>(object: &K) -> Option<u64> {
    let meta = object.meta();
    let mut hasher = DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.annotations
        .as_ref()
        .and_then(|annotations| annotations.get(RECONCILE_REQUEST_ANNOTATION))
        .hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    Some(hasher.finish())
}

/// The value of the reconcile-request annotation, echoed into `status.lastHandledReconcileAt`.
pub fn requested_at<K: Resource>(object: &K) -> Option<String> {
    object
        .meta()
        .annotations
        .as_ref()?
        .get(RECONCILE_REQUEST_ANNOTATION)
        .cloned()
}

/// The namespace a controller is confined to when `--watch-all-namespaces=false`.
pub fn runtime_namespace() -> String {
    std::env::var("RUNTIME_NAMESPACE").unwrap_or_else(|_| "flux-system".to_owned())
}

/// The API for the objects this controller watches (all namespaces, or its own).
pub fn watched_api<K>(client: &Client, common: &CommonArgs) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    if common.watch_all_namespaces {
        Api::all(client.clone())
    } else {
        Api::namespaced(client.clone(), &runtime_namespace())
    }
}

/// The watcher configuration honouring `--watch-label-selector` (sharding).
pub fn watcher_config(common: &CommonArgs) -> watcher::Config {
    let config = watcher::Config::default().any_semantic();
    if common.watch_label_selector.trim().is_empty() {
        config
    } else {
        config.labels(common.watch_label_selector.trim())
    }
}

/// How a watch retries after it broke (typically: the API server restarted). kube's default
/// doubles up to 30 s, so a controller could resume half a minute after the API server was back;
/// this one starts at 250 ms and doubles up to 1 s, jittered by ±25% so that many watches do not
/// retry in step. A down API server sees about one request a second per watch.
#[derive(Debug, Clone)]
pub struct ReconnectBackoff {
    next: Duration,
}

/// First retry delay of [`ReconnectBackoff`].
pub const RECONNECT_FIRST_DELAY: Duration = Duration::from_millis(250);
/// Longest retry delay of [`ReconnectBackoff`] (before jitter).
pub const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);
const RECONNECT_JITTER_PERCENT: u8 = 25;

/// The backoff every watch of every controller uses: pass it to `WatchStreamExt::backoff` or
/// `Controller::trigger_backoff` instead of kube's `default_backoff()`.
pub fn reconnect_backoff() -> ReconnectBackoff {
    ReconnectBackoff {
        next: RECONNECT_FIRST_DELAY,
    }
}

impl Iterator for ReconnectBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next;
        self.next = (self.next * 2).min(RECONNECT_MAX_DELAY);
        Some(requeue::jittered(delay, RECONNECT_JITTER_PERCENT))
    }
}

impl kube::runtime::utils::Backoff for ReconnectBackoff {
    fn reset(&mut self) {
        self.next = RECONNECT_FIRST_DELAY;
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    use super::*;

    fn object(generation: i64, requested: Option<&str>, resource_version: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                generation: Some(generation),
                resource_version: Some(resource_version.into()),
                annotations: requested.map(|value| {
                    [(RECONCILE_REQUEST_ANNOTATION.to_owned(), value.to_owned())].into()
                }),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    #[test]
    fn status_writes_do_not_trigger_but_spec_changes_and_requests_do() {
        let base = reconcile_trigger(&object(1, None, "10"));
        assert_eq!(
            base,
            reconcile_trigger(&object(1, None, "11")),
            "a status write bumps only resourceVersion"
        );
        assert_ne!(base, reconcile_trigger(&object(2, None, "12")));
        assert_ne!(base, reconcile_trigger(&object(1, Some("now"), "13")));
        assert_eq!(
            requested_at(&object(1, Some("now"), "13")).as_deref(),
            Some("now")
        );
    }

    #[test]
    fn reconnects_start_fast_and_never_wait_long() {
        use kube::runtime::utils::Backoff;

        let mut backoff = reconnect_backoff();
        let delays: Vec<Duration> = backoff.by_ref().take(8).collect();
        assert!(delays[0] <= Duration::from_millis(313), "{delays:?}");
        assert!(delays[0] >= Duration::from_millis(187), "{delays:?}");
        for delay in &delays {
            assert!(*delay <= Duration::from_millis(1_250), "{delays:?}");
        }
        assert!(delays[7] >= Duration::from_millis(750), "{delays:?}");
        backoff.reset();
        assert!(backoff.next().unwrap() <= Duration::from_millis(313));
    }
}
