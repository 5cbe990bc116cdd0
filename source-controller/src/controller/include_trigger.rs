//! A new artifact of a GitRepository triggers the GitRepositories that `include` it, so their
//! combined artifact is rebuilt without waiting for their own interval.
//!
//! The mapper remembers the last artifact revision it saw per object and only fires when it
//! changes: status writes that keep the revision (every reconcile makes some) trigger nothing,
//! which also keeps mutual includes from reconciling each other forever.

use std::collections::HashMap;
use std::sync::Mutex;

use eddy_api::source::GitRepository;
use eddy_runtime::cli::CommonArgs;
use eddy_runtime::controller::Customize;
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

/// Adds the include watch to the GitRepository controller.
pub fn customize(client: kube::Client, common: &CommonArgs) -> Customize<GitRepository> {
    let api = eddy_runtime::watch::watched_api::<GitRepository>(&client, common);
    let config = eddy_runtime::watch::watcher_config(common);
    Box::new(move |controller| {
        let store = controller.store();
        let seen = RevisionMemory::default();
        controller.watches(api, config, move |changed: GitRepository| {
            if seen.revision_changed(&changed) {
                includers_of(&store, &changed)
            } else {
                Vec::new()
            }
        })
    })
}

/// The last artifact revision seen per `namespace/name`.
#[derive(Default)]
struct RevisionMemory(Mutex<HashMap<String, String>>);

impl RevisionMemory {
    fn revision_changed(&self, object: &GitRepository) -> bool {
        let Some(revision) = object
            .status
            .as_ref()
            .and_then(|status| status.artifact.as_ref())
            .map(|artifact| artifact.revision.clone())
        else {
            return false;
        };
        let key = format!(
            "{}/{}",
            object.namespace().unwrap_or_default(),
            object.name_any()
        );
        let mut memory = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        memory.insert(key, revision.clone()).as_ref() != Some(&revision)
    }
}

fn includers_of(
    store: &Store<GitRepository>,
    changed: &GitRepository,
) -> Vec<ObjectRef<GitRepository>> {
    let namespace = changed.namespace();
    let name = changed.name_any();
    store
        .state()
        .iter()
        .filter(|candidate| candidate.namespace() == namespace && includes(candidate, &name))
        .map(|candidate| ObjectRef::from_obj(candidate.as_ref()))
        .collect()
}

fn includes(candidate: &GitRepository, name: &str) -> bool {
    candidate
        .spec
        .include
        .iter()
        .flatten()
        .any(|include| include.repository.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository(name: &str, revision: Option<&str>, include: &[&str]) -> GitRepository {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {
                "url": "https://example.com/x", "interval": "1m",
                "include": include.iter().map(|n| serde_json::json!({"repository": {"name": n}})).collect::<Vec<_>>(),
            },
            "status": revision.map(|r| serde_json::json!({"artifact": {
                "path": "p", "url": "u", "revision": r, "digest": "sha256:00",
                "lastUpdateTime": "2026-01-01T00:00:00Z"
            }})),
        }))
        .unwrap()
    }

    #[test]
    fn fires_only_when_the_artifact_revision_moves() {
        let memory = RevisionMemory::default();
        assert!(!memory.revision_changed(&repository("lib", None, &[])));
        assert!(memory.revision_changed(&repository("lib", Some("main@sha1:1"), &[])));
        assert!(!memory.revision_changed(&repository("lib", Some("main@sha1:1"), &[])));
        assert!(memory.revision_changed(&repository("lib", Some("main@sha1:2"), &[])));
    }

    #[test]
    fn finds_includers_by_name() {
        assert!(includes(&repository("app", None, &["lib", "other"]), "lib"));
        assert!(!includes(&repository("app", None, &["other"]), "lib"));
        assert!(!includes(&repository("app", None, &[]), "lib"));
    }
}
