//! "A source of mine has a new revision": one trigger for every kind a consumer can reference.
//!
//! Consumers are reconciled when a source's `status.artifact.revision` changes or an artifact
//! first appears, not on every status write of the source (Flux's
//! `SourceRevisionChangePredicate`).

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
};

use eddy_api::source::ArtifactKind;
use futures::{Stream, StreamExt};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::DynamicObject,
    runtime::{Controller, WatchStreamExt, reflector::ObjectRef, watcher},
};
use serde::de::DeserializeOwned;

/// Which source object changed revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedSource {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
}

/// The source objects of `kind` (in `namespace`, or all) whose artifact revision changed.
pub fn revision_changes(
    client: &Client,
    namespace: Option<&str>,
    kind: &'static ArtifactKind,
) -> impl Stream<Item = Result<DynamicObject, watcher::Error>> + Send + 'static {
    let resource = crate::source::api_resource(kind, None);
    let api: Api<DynamicObject> = match namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let mut seen = RevisionMemory::default();
    watcher(api, watcher::Config::default().any_semantic())
        .backoff(eddy_runtime::watch::reconnect_backoff())
        .applied_objects()
        .filter_map(move |result| {
            let changed = match result {
                Ok(source) => seen.changed(&source).then_some(Ok(source)),
                // A kind whose CRD is not installed is not an error a consumer acts on.
                Err(error) => {
                    tracing::debug!(kind = kind.kind, %error, "source watch error");
                    None
                }
            };
            futures::future::ready(changed)
        })
}

/// Remembers the last revision seen per object.
#[derive(Default, Clone)]
struct RevisionMemory(Arc<Mutex<HashMap<String, String>>>);

impl RevisionMemory {
    fn changed(&mut self, source: &DynamicObject) -> bool {
        let Some(revision) = source
            .data
            .pointer("/status/artifact/revision")
            .and_then(|r| r.as_str())
        else {
            return false;
        };
        let key = format!(
            "{}/{}",
            source.namespace().unwrap_or_default(),
            source.name_any()
        );
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if seen.get(&key).map(String::as_str) == Some(revision) {
            return false;
        }
        seen.insert(key, revision.to_owned());
        true
    }
}

/// Adds to `controller` one trigger per kind in `kinds`: when a source of that kind gets a new
/// revision, `referrers` names the consumer objects to reconcile.
pub fn watch_sources<K>(
    mut controller: Controller<K>,
    client: &Client,
    namespace: Option<&str>,
    kinds: &[&'static ArtifactKind],
    referrers: impl Fn(&ChangedSource) -> Vec<ObjectRef<K>> + Clone + Send + Sync + 'static,
) -> Controller<K>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + std::fmt::Debug + Unpin,
{
    for kind in kinds.iter().copied() {
        let referrers = referrers.clone();
        controller = controller.watches_stream_with(
            revision_changes(client, namespace, kind),
            move |source: DynamicObject| {
                referrers(&ChangedSource {
                    kind: kind.kind,
                    namespace: source.namespace().unwrap_or_default(),
                    name: source.name_any(),
                })
            },
            crate::source::api_resource(kind, None),
        );
    }
    controller
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, revision: Option<&str>) -> DynamicObject {
        let mut object = serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": "ns"},
        });
        if let Some(revision) = revision {
            object["status"] = serde_json::json!({"artifact": {"revision": revision}});
        }
        serde_json::from_value(object).unwrap()
    }

    #[test]
    fn only_new_revisions_trigger() {
        let mut memory = RevisionMemory::default();
        assert!(!memory.changed(&source("a", None)), "no artifact yet");
        assert!(
            memory.changed(&source("a", Some("main@sha1:1"))),
            "appeared"
        );
        assert!(
            !memory.changed(&source("a", Some("main@sha1:1"))),
            "status rewrite"
        );
        assert!(
            memory.changed(&source("b", Some("main@sha1:1"))),
            "another object"
        );
        assert!(
            memory.changed(&source("a", Some("main@sha1:2"))),
            "new revision"
        );
    }
}
