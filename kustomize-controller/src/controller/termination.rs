//! `deletionPolicy: WaitForTermination`: after deleting a Kustomization's objects, its finalizer
//! stays until they are gone (finalizers of their own run, pods terminate), up to its timeout.

use std::time::{Duration, Instant};

use eddy_api::kustomize::Kustomization;
use eddy_runtime::events::Event;

use super::Context;
use crate::{
    apply::{Change, ChangeAction, cluster::Cluster},
    inventory::ObjectId,
};

/// How often the deleted objects are looked for (Flux polls every 2 s as well).
const POLL: Duration = Duration::from_secs(2);

/// Waits until every object `changes` deleted is gone, or `timeout` passed; a timeout is
/// reported as a warning event and deletion goes on, as in Flux.
pub async fn wait(
    cluster: &Cluster,
    changes: &[Change],
    timeout: Duration,
    ks: &Kustomization,
    ctx: &Context,
) {
    let mut waiting: Vec<ObjectId> = changes
        .iter()
        .filter(|change| change.action == ChangeAction::Deleted)
        .map(|change| change.id.clone())
        .collect();
    let deadline = Instant::now() + timeout;
    loop {
        waiting = still_present(cluster, waiting).await;
        if waiting.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            let subjects: Vec<String> = waiting.iter().map(ObjectId::subject).collect();
            let message = format!(
                "timeout waiting for termination of: [{}]",
                subjects.join(", ")
            );
            tracing::warn!(%message, "deleting the Kustomization anyway");
            ctx.recorder
                .publish(ks, Event::error("TerminationTimeout", message))
                .await;
            return;
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// The objects of `ids` that still exist; one whose kind or existence cannot be read counts as
/// present, so an API hiccup does not end the wait early.
async fn still_present(cluster: &Cluster, ids: Vec<ObjectId>) -> Vec<ObjectId> {
    let mut present = Vec::new();
    for id in ids {
        let exists = match cluster.resolve(&id).await {
            Ok(Some(kind)) => !matches!(cluster.get(&kind, &id).await, Ok(None)),
            Ok(None) => false,
            Err(_) => true,
        };
        if exists {
            present.push(id);
        }
    }
    present
}
