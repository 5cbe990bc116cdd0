//! Marking an object `NotSupported`: the one status write every controller uses for an object
//! (or a field of one) it cannot act on yet.

use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{
    Resource, ResourceExt,
    api::{Api, Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::NOT_SUPPORTED;
use crate::{conditions, watch::requested_at};

/// The status that says `object` is not acted on: `Stalled=True` and `Ready=False` with reason
/// [`NOT_SUPPORTED`] and `message`, observed at the object's generation, the reconcile request
/// echoed. Conditions already present keep their transition times.
pub fn not_supported_status<K: Resource + Serialize>(object: &K, message: &str) -> Value {
    let mut conditions = current_conditions(object);
    let generation = object.meta().generation;
    conditions::mark_stalled(&mut conditions, NOT_SUPPORTED, message, generation);
    let mut status = json!({
        "observedGeneration": generation,
        "conditions": conditions,
    });
    if let Some(requested) = requested_at(object) {
        status["lastHandledReconcileAt"] = json!(requested);
    }
    status
}

/// Whether `object`'s `Ready` condition was written by something else than a `NotSupported`
/// marker: Flux's own controller running alongside, or a test publishing status by hand.
/// Such an object is left alone rather than fought over.
pub fn reconciled_elsewhere<K: Serialize>(object: &K) -> bool {
    conditions::get(&current_conditions(object), conditions::READY)
        .is_some_and(|ready| ready.reason != NOT_SUPPORTED)
}

/// Writes [`not_supported_status`] with server-side apply under `field_manager`.
pub async fn mark_not_supported<K>(
    api: &Api<K>,
    object: &K,
    field_manager: &str,
    message: &str,
) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
{
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": not_supported_status(object, message),
    });
    api.patch_status(
        &object.name_any(),
        &PatchParams::apply(field_manager).force(),
        &Patch::Apply(body),
    )
    .await
}

fn current_conditions<K: Serialize>(object: &K) -> Vec<Condition> {
    serde_json::to_value(object)
        .ok()
        .and_then(|value| value.pointer("/status/conditions").cloned())
        .and_then(|conditions| serde_json::from_value(conditions).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    use super::*;

    fn object(generation: i64, annotations: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("a".into()),
                generation: Some(generation),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn status_is_stalled_not_ready_at_the_objects_generation() {
        let status = not_supported_status(&object(4, &[]), "X is not supported yet");
        assert_eq!(status["observedGeneration"], 4);
        let conditions: Vec<Condition> =
            serde_json::from_value(status["conditions"].clone()).unwrap();
        for type_ in [conditions::STALLED, conditions::READY] {
            let condition = conditions::get(&conditions, type_).unwrap();
            assert_eq!(condition.reason, NOT_SUPPORTED);
            assert_eq!(condition.message, "X is not supported yet");
            assert_eq!(condition.observed_generation, Some(4));
        }
        assert_eq!(
            conditions::get(&conditions, conditions::READY)
                .unwrap()
                .status,
            "False"
        );
        assert_eq!(
            conditions::get(&conditions, conditions::STALLED)
                .unwrap()
                .status,
            "True"
        );
        assert!(status.get("lastHandledReconcileAt").is_none());
    }

    #[test]
    fn a_reconcile_request_is_echoed() {
        let requested = object(1, &[("reconcile.fluxcd.io/requestedAt", "now-1")]);
        let status = not_supported_status(&requested, "m");
        assert_eq!(status["lastHandledReconcileAt"], "now-1");
    }

    #[test]
    fn only_a_ready_condition_written_by_someone_else_counts_as_reconciled_elsewhere() {
        let with_ready = |reason: &str| {
            let mut object = kube::api::DynamicObject::new(
                "a",
                &kube::api::ApiResource::erase::<ConfigMap>(&()),
            );
            object.data = json!({"status": {"conditions": [{
                "type": "Ready", "status": "True", "reason": reason, "message": "",
                "lastTransitionTime": "2026-01-01T00:00:00Z"
            }]}});
            object
        };
        assert!(reconciled_elsewhere(&with_ready("Succeeded")));
        assert!(!reconciled_elsewhere(&with_ready(NOT_SUPPORTED)));
        assert!(!reconciled_elsewhere(&object(1, &[])));
    }
}
