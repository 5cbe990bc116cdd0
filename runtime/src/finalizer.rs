//! The finalizer every reconciled Flux kind carries (`finalizers.fluxcd.io`) until its clean-up is
//! done, added and removed one way for every controller.
//!
//! Both patches carry the `resourceVersion` that was read: a finalizer list changed by someone
//! else in the meantime (another controller's finalizer, a user's edit) is never overwritten with
//! a stale copy; the conflict fails the reconcile and the retry reads the current list.

use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
};
use serde::de::DeserializeOwned;
use serde_json::json;

pub use eddy_api::meta::FINALIZER;

/// Whether `object` carries the finalizer.
pub fn is_present<K: Resource>(object: &K) -> bool {
    object.finalizers().iter().any(|f| f == FINALIZER)
}

/// Adds the finalizer unless present.
pub async fn ensure<K>(api: &Api<K>, object: &K) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    if is_present(object) {
        return Ok(());
    }
    let mut finalizers = object.finalizers().to_vec();
    finalizers.push(FINALIZER.to_owned());
    patch(api, object, finalizers).await
}

/// Removes the finalizer once clean-up is done; an object already gone is not an error.
pub async fn release<K>(api: &Api<K>, object: &K) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    if !is_present(object) {
        return Ok(());
    }
    let remaining = object
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    match patch(api, object, remaining).await {
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        other => other,
    }
}

async fn patch<K>(api: &Api<K>, object: &K, finalizers: Vec<String>) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let patch = json!({
        "metadata": {"finalizers": finalizers, "resourceVersion": object.resource_version()}
    });
    api.patch(
        &object.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}
