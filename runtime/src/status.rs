//! Writing status the way every Eddy controller does: server-side apply on the status
//! subresource, under the controller's own field manager.
//!
//! Applying the whole status we own (rather than merge-patching pieces) means a field we stop
//! setting disappears, and a condition list keyed by `type` merges cleanly with anyone else's.

use std::fmt::Debug;

use kube::{
    Resource,
    api::{Api, Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};

/// Applies `status` as the complete status owned by `field_manager`.
pub async fn apply_status<K, S>(
    api: &Api<K>,
    name: &str,
    field_manager: &str,
    status: &S,
) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize,
{
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(field_manager).force(),
        &Patch::Apply(body),
    )
    .await
}
