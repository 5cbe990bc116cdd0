//! Checking that a controller marked an object it does not reconcile yet `NotSupported`.

use kube::{
    Api,
    api::{ApiResource, DynamicObject, PostParams},
};
use serde_json::Value;

use crate::{DEFAULT_TIMEOUT, wait_for};

/// Creates `manifest` (of `resource`, in `namespace`), then waits until its `Ready` condition is
/// `False` with reason `NotSupported` and `message`, `Stalled` is `True` with the same, and both
/// and `status.observedGeneration` are at the object's generation.
pub async fn create_and_expect_not_supported(
    client: &kube::Client,
    namespace: &str,
    resource: &ApiResource,
    manifest: Value,
    message: &str,
) -> anyhow::Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    let object: DynamicObject = serde_json::from_value(manifest)?;
    let name = object.metadata.name.clone().unwrap_or_default();
    api.create(&PostParams::default(), &object).await?;
    let what = format!("{} {namespace}/{name} marked NotSupported", resource.kind);
    wait_for(what, DEFAULT_TIMEOUT, async || {
        let live = api.get(&name).await?;
        Ok(is_not_supported(&live, message).then_some(()))
    })
    .await
}

fn is_not_supported(object: &DynamicObject, message: &str) -> bool {
    let generation = object.metadata.generation;
    let status = &object.data["status"];
    let condition = |type_: &str| {
        status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == type_)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let marked = |type_: &str, expected: &str| {
        let c = condition(type_);
        c["status"] == expected
            && c["reason"] == "NotSupported"
            && c["message"] == message
            && c["observedGeneration"].as_i64() == generation
    };
    status["observedGeneration"].as_i64() == generation
        && marked("Ready", "False")
        && marked("Stalled", "True")
}
