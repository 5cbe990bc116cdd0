//! Waiting until every Kustomization of a run satisfies a condition, through one LIST and a
//! WATCH (so the bench's own load on the API server stays small and known, and the moment the
//! last object turns is seen within milliseconds, not a polling interval).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::bail;
use futures::StreamExt;
use kube::api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams};
use serde_json::Value;

use super::{apiserver::RequestCounts, fleet::Fleet};

/// Whether `object` has a `Ready=True` condition for its current generation.
pub fn is_ready(object: &DynamicObject) -> bool {
    let current = object
        .data
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64)
        == object.metadata.generation;
    current
        && object
            .data
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
}

/// Whether `object` is Ready having applied the commit `sha` (`<branch>@sha1:<sha>`).
pub fn applied(object: &DynamicObject, sha: &str) -> bool {
    object
        .data
        .pointer("/status/lastAppliedRevision")
        .and_then(Value::as_str)
        .is_some_and(|revision| revision.ends_with(sha))
        && is_ready(object)
}

/// Whether `object` handled the reconcile request `token` and is Ready.
pub fn handled(object: &DynamicObject, token: &str) -> bool {
    object
        .data
        .pointer("/status/lastHandledReconcileAt")
        .and_then(Value::as_str)
        == Some(token)
        && is_ready(object)
}

/// Waits until `count` objects of `api` satisfy `done`, failing when the fleet dies or after
/// `timeout`. The requests made are added to `own`.
pub async fn wait_all(
    api: &Api<DynamicObject>,
    count: usize,
    fleet: &mut Fleet,
    timeout: Duration,
    own: &mut RequestCounts,
    done: impl Fn(&DynamicObject) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut finished: HashMap<String, bool> = HashMap::new();
    'relist: loop {
        let list = api.list(&ListParams::default()).await?;
        own.add("LIST", 1);
        finished.clear();
        for object in &list.items {
            finished.insert(name_of(object), done(object));
        }
        let mut version = list.metadata.resource_version.unwrap_or_default();
        let params = WatchParams::default().timeout(290);
        let mut events = api.watch(&params, &version).await?.boxed();
        own.add("WATCH", 1);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            let finished_count = finished.values().filter(|done| **done).count();
            if finished_count >= count {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "only {finished_count} of {count} Kustomizations finished within {timeout:?}"
                );
            }
            tokio::select! {
                _ = tick.tick() => fleet.check_alive()?,
                event = events.next() => match event {
                    Some(Ok(WatchEvent::Added(object) | WatchEvent::Modified(object))) => {
                        version = object.metadata.resource_version.clone().unwrap_or(version);
                        finished.insert(name_of(&object), done(&object));
                    }
                    Some(Ok(WatchEvent::Deleted(object))) => {
                        finished.remove(&name_of(&object));
                    }
                    Some(Ok(WatchEvent::Bookmark(_))) => {}
                    // The watch ended (server timeout) or its resource version expired: start over.
                    Some(Ok(WatchEvent::Error(_)) | Err(_)) | None => continue 'relist,
                },
            }
        }
    }
}

fn name_of(object: &DynamicObject) -> String {
    object.metadata.name.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kustomization(status: Value, generation: i64) -> DynamicObject {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app-0", "generation": generation},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn applied_needs_the_commit_ready_and_the_current_generation() {
        let ready = serde_json::json!([{"type": "Ready", "status": "True"}]);
        let object = kustomization(
            serde_json::json!({"observedGeneration": 2, "lastAppliedRevision": "master@sha1:abc123", "conditions": ready}),
            2,
        );
        assert!(applied(&object, "abc123"));
        assert!(!applied(&object, "def456"));
        let stale = kustomization(
            serde_json::json!({"observedGeneration": 1, "lastAppliedRevision": "master@sha1:abc123", "conditions": ready}),
            2,
        );
        assert!(!applied(&stale, "abc123"));
        let failing = kustomization(
            serde_json::json!({"observedGeneration": 2, "lastAppliedRevision": "master@sha1:abc123",
                "conditions": [{"type": "Ready", "status": "False"}]}),
            2,
        );
        assert!(!applied(&failing, "abc123"));
    }

    #[test]
    fn handled_needs_the_token() {
        let object = kustomization(
            serde_json::json!({"observedGeneration": 1, "lastHandledReconcileAt": "t1",
                "conditions": [{"type": "Ready", "status": "True"}]}),
            1,
        );
        assert!(handled(&object, "t1"));
        assert!(!handled(&object, "t2"));
    }
}
