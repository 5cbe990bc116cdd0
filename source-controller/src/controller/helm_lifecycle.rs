//! What both Helm reconcilers share beyond `lifecycle`: the storage step off the async runtime,
//! and the requeue of a finished reconcile.

use std::path::PathBuf;
use std::time::Duration;

use eddy_runtime::events::Event;
use eddy_runtime::outcome::{Next, Timing};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::helm_outcome::{self, HelmSourceStatus};
use super::{Context, Error};
use crate::storage::ObjectKey;

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
