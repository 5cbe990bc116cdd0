//! The API side every source reconciler shares: status writes and deletion with the
//! finalizer (artifacts removed first, retried with the object's backoff).

use std::fmt::Debug;

use eddy_runtime::finalizer;
use eddy_runtime::status::apply_status;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{CONTROLLER_NAME, Context, Error};
use crate::storage::ObjectKey;

/// Writes `status` with server-side apply; a deleted object is not an error.
pub async fn write_status<K, S>(api: &Api<K>, name: &str, status: &S) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize,
{
    match apply_status(api, name, CONTROLLER_NAME, status).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(response)) if response.is_not_found() => Ok(()),
        Err(source) => Err(Error::Kube {
            action: "writing status".to_owned(),
            source,
        }),
    }
}

/// Adds the finalizer.
pub async fn ensure_finalizer<K>(api: &Api<K>, object: &K) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Serialize,
{
    finalizer::ensure(api, object)
        .await
        .map_err(finalizer_error)
}

/// Deletion: remove every artifact, then the finalizer.
pub async fn finalize<K>(
    api: &Api<K>,
    object: &K,
    ctx: &Context,
    key: ObjectKey,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Serialize,
{
    if !finalizer::is_present(object) {
        return Ok(Action::await_change());
    }
    let storage = ctx.storage.clone();
    let removed = tokio::task::spawn_blocking(move || storage.remove_object(&key)).await?;
    if let Err(error) = removed {
        // Keep the finalizer so the clean-up is retried, with the object's failure backoff.
        tracing::error!(%error, "cannot remove the artifacts of a deleted object");
        let backoff_key = format!(
            "{}/{}",
            object.namespace().unwrap_or_default(),
            object.name_any()
        );
        return Ok(Action::requeue(
            ctx.failure_backoff.next_delay(&backoff_key),
        ));
    }
    finalizer::release(api, object)
        .await
        .map_err(finalizer_error)?;
    Ok(Action::await_change())
}

fn finalizer_error(source: kube::Error) -> Error {
    Error::Kube {
        action: "patching finalizers".to_owned(),
        source,
    }
}
