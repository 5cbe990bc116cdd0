//! What a release does to the cluster: server-side apply of its objects (through the shared
//! apply of `eddy-kustomization`, as field manager `helm-controller`), deleting what an upgrade
//! dropped, waiting for kstatus health, and uninstalling.

use std::time::{Duration, Instant};

use eddy_kustomization::{
    apply::{
        self, ApplyOptions, Change,
        cluster::{Cluster, describe_api_error},
    },
    health::{self, Health},
    inventory::{ObjectId, apply_order},
};
use serde_json::{Value, json};

/// Gives namespaced objects without a namespace the release namespace (Helm's client does the
/// same when it creates them); cluster-scoped ones and unknown kinds are left as they are.
pub async fn default_namespace(cluster: &Cluster, objects: &mut [Value], namespace: &str) {
    for object in objects.iter_mut() {
        let id = ObjectId::of(object);
        if !id.namespace.is_empty() {
            continue;
        }
        if let Ok(Some(kind)) = cluster.resolve(&id).await
            && kind.namespaced
            && let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut)
        {
            metadata.insert("namespace".into(), Value::String(namespace.to_owned()));
        }
    }
}

/// Server-side applies `objects`; the message of a failure names every refused object.
pub async fn apply_objects(cluster: &Cluster, objects: &[Value]) -> Result<Vec<Change>, String> {
    let options = ApplyOptions {
        force: false,
        custom_stage_kinds: &[],
        override_managers: &[],
        concurrency: 4,
        stage_timeout: Duration::from_secs(60),
    };
    apply::apply_all(cluster, objects, &options)
        .await
        .map_err(|error| error.to_string())
}

/// Creates the release namespace when it does not exist (`install.createNamespace`).
pub async fn ensure_namespace(cluster: &Cluster, namespace: &str) -> Result<(), String> {
    let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    let id = ObjectId::of(&object);
    let kind = apply::resolve_for_apply(cluster, &id)
        .await
        .map_err(|e| e.to_string())?;
    if cluster
        .get(&kind, &id)
        .await
        .map_err(|e| describe_api_error(&e))?
        .is_some()
    {
        return Ok(());
    }
    cluster
        .apply(&kind, &id, &object, false)
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "failed to create namespace {namespace}: {}",
                describe_api_error(&e)
            )
        })
}

/// The objects a stored release manifest holds, namespaced as they were applied.
pub async fn manifest_objects(cluster: &Cluster, manifest: &str, namespace: &str) -> Vec<Value> {
    let mut objects: Vec<Value> = eddy_helm::split_manifests(manifest)
        .iter()
        .filter_map(|doc| serde_yaml_ng::from_str::<Value>(doc).ok())
        .filter(Value::is_object)
        .collect();
    default_namespace(cluster, &mut objects, namespace).await;
    objects
}

/// Deletes `objects` (reverse install order), skipping those in `keep`; a kind no longer served
/// counts as deleted. Returns one message per object that could not be deleted.
pub async fn delete_objects(
    cluster: &Cluster,
    objects: &[Value],
    keep: &[ObjectId],
) -> Vec<String> {
    let mut ids: Vec<ObjectId> = objects
        .iter()
        .map(ObjectId::of)
        .filter(|id| !keep.iter().any(|k| same_object(k, id)))
        .collect();
    ids.sort_by(|a, b| apply_order(b, a));
    let mut failures = Vec::new();
    for id in ids {
        let result = match cluster.resolve(&id).await {
            Ok(Some(kind)) => cluster.delete(&kind, &id).await,
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            failures.push(format!(
                "{} delete failed {}",
                id.subject(),
                describe_api_error(&error)
            ));
        }
    }
    failures
}

/// The same object, whatever API version names it.
fn same_object(a: &ObjectId, b: &ObjectId) -> bool {
    a.group == b.group && a.kind == b.kind && a.namespace == b.namespace && a.name == b.name
}

/// Waits until every object is `Current` by kstatus, one of them `Failed`, or `timeout`.
pub async fn wait_healthy(
    cluster: &Cluster,
    objects: &[Value],
    timeout: Duration,
    poll: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let ids: Vec<ObjectId> = objects.iter().map(ObjectId::of).collect();
    loop {
        let mut pending = Vec::new();
        for id in &ids {
            match health_of(cluster, id).await {
                Health::Current => {}
                Health::Failed(message) => {
                    return Err(format!("{} status: 'Failed': {message}", id.subject()));
                }
                Health::InProgress(message) => pending.push(format!("{}: {message}", id.subject())),
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("timeout waiting for: [{}]", pending.join(", ")));
        }
        tokio::time::sleep(poll).await;
    }
}

async fn health_of(cluster: &Cluster, id: &ObjectId) -> Health {
    let kind = match cluster.resolve(id).await {
        Ok(Some(kind)) => kind,
        Ok(None) => return Health::InProgress("kind not served".into()),
        Err(error) => return Health::InProgress(describe_api_error(&error)),
    };
    match cluster.get(&kind, id).await {
        Ok(Some(live)) => health::evaluate(&live),
        Ok(None) => Health::InProgress("not found".into()),
        Err(error) => Health::InProgress(describe_api_error(&error)),
    }
}
