//! The API side both Helm reconcilers share: status writes, deletion with the finalizer, the
//! storage step off the async runtime, and the requeue of a finished reconcile.

use std::fmt::Debug;
use std::path::PathBuf;
use std::time::Duration;

use eddy_runtime::events::Event;
use eddy_runtime::finalizer;
use eddy_runtime::outcome::{Next, Timing};
use eddy_runtime::status::apply_status;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::helm_outcome::{self, HelmSourceStatus};
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

/// Runs the storage step on the blocking pool; a failed garbage collection is only logged.
pub async fn storage_step<S>(
    ctx: &Context,
    key: &ObjectKey,
    status: &mut S,
    latest_link: &'static str,
) -> Result<Vec<PathBuf>, Error>
where
    S: HelmSourceStatus + Default + Send + 'static,
{
    let storage = ctx.storage.clone();
    let key = key.clone();
    let mut owned = std::mem::take(status);
    let (owned, removed) = tokio::task::spawn_blocking(move || {
        let removed = helm_outcome::reconcile_storage(&storage, &key, &mut owned, latest_link);
        (owned, removed)
    })
    .await?;
    *status = owned;
    Ok(removed.unwrap_or_else(|error| {
        tracing::warn!(%error, "garbage collection failed");
        Vec::new()
    }))
}

/// Records the events of a finished reconcile and turns `next` into the controller action.
pub async fn finish<K>(
    ctx: &Context,
    object: &K,
    garbage: &[PathBuf],
    events: Vec<Event>,
    next: Next,
    interval: Duration,
) -> Action
where
    K: Resource<DynamicType = ()>,
{
    if !garbage.is_empty() {
        let message = format!("garbage collected {} artifacts", garbage.len());
        ctx.events
            .publish(object, Event::trace("GarbageCollectionSucceeded", message))
            .await;
    }
    for event in events {
        ctx.events.publish(object, event).await;
    }
    let timing = Timing {
        interval,
        retry_interval: interval,
        requeue_dependency: ctx.requeue_dependency,
        jitter_percent: ctx.jitter_percent,
    };
    let backoff_key = format!(
        "{}/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    );
    next.action(&timing, &ctx.failure_backoff, &backoff_key)
}
