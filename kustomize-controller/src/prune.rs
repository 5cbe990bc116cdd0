//! Garbage collection: deleting objects that left the source, in reverse apply order, never
//! touching what another Kustomization owns or what opted out.

use crate::{
    apply::{
        Change, ChangeAction,
        cluster::{Cluster, describe_api_error},
        policy,
    },
    inventory::ObjectId,
};

/// Deletes the `stale` objects (already in reverse apply order) that the Kustomization
/// `owner_name`/`owner_namespace` owns. Returns the changes and the objects that could not be
/// deleted (they stay in the inventory so the next reconcile tries again).
pub async fn prune(
    cluster: &Cluster,
    stale: &[ObjectId],
    owner_name: &str,
    owner_namespace: &str,
) -> (Vec<Change>, Vec<(ObjectId, String)>) {
    let mut changes = Vec::new();
    let mut failures = Vec::new();
    for id in stale {
        let kind = match cluster.resolve(id).await {
            Ok(Some(kind)) => kind,
            // The kind is gone (its CRD was deleted): so are its objects.
            Ok(None) => continue,
            Err(error) => {
                failures.push((
                    id.clone(),
                    format!(
                        "{} prune failed {}",
                        id.subject(),
                        describe_api_error(&error)
                    ),
                ));
                continue;
            }
        };
        let live = match cluster.get(&kind, id).await {
            Ok(Some(live)) => live,
            Ok(None) => continue,
            Err(error) => {
                failures.push((
                    id.clone(),
                    format!(
                        "{} prune failed {}",
                        id.subject(),
                        describe_api_error(&error)
                    ),
                ));
                continue;
            }
        };
        if !policy::may_prune(&live, owner_name, owner_namespace) {
            changes.push(Change {
                id: id.clone(),
                action: ChangeAction::Skipped,
            });
            continue;
        }
        match cluster.delete(&kind, id).await {
            Ok(()) => changes.push(Change {
                id: id.clone(),
                action: ChangeAction::Deleted,
            }),
            Err(error) => failures.push((
                id.clone(),
                format!(
                    "{} delete failed {}",
                    id.subject(),
                    describe_api_error(&error)
                ),
            )),
        }
    }
    (changes, failures)
}
