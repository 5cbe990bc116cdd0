//! Object identities, Flux's apply order, and the inventory kept in `status.inventory`.
//!
//! An inventory entry id is `<namespace>_<name>_<group>_<kind>` (empty namespace for
//! cluster-scoped objects, empty group for the core group) with the version stored beside it.

use std::cmp::Ordering;

use eddy_api::kustomize::kustomization::{ResourceInventory, ResourceRef};
use serde_json::Value;

/// What identifies an object in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectId {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectId {
    /// The identity of a rendered object.
    pub fn of(object: &Value) -> ObjectId {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let api_version = text("/apiVersion");
        let (group, version) = split_api_version(&api_version);
        ObjectId {
            group,
            version,
            kind: text("/kind"),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
        }
    }

    /// Parses an inventory entry.
    pub fn from_entry(entry: &ResourceRef) -> Option<ObjectId> {
        let mut parts = entry.id.splitn(4, '_');
        let namespace = parts.next()?.to_owned();
        let name = parts.next()?.to_owned();
        let group = parts.next()?.to_owned();
        let kind = parts.next()?.to_owned();
        // Names may contain underscores only in exotic kinds; the id format cannot express them
        // unambiguously, so such ids are parsed as written (kind is what follows the third `_`).
        Some(ObjectId {
            group,
            version: entry.v.clone(),
            kind,
            namespace,
            name,
        })
    }

    /// The inventory id (version-insensitive).
    pub fn inventory_id(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.namespace, self.name, self.group, self.kind
        )
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects, as change sets print it.
    pub fn subject(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
pub fn split_api_version(api_version: &str) -> (String, String) {
    match api_version.split_once('/') {
        Some((group, version)) => (group.to_owned(), version.to_owned()),
        None => (String::new(), api_version.to_owned()),
    }
}

/// Flux's apply order of kinds; unlisted kinds go between the listed ones and the webhooks.
const KIND_ORDER: [&str; 22] = [
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
];
const LAST_KINDS: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

fn kind_rank(kind: &str) -> usize {
    if let Some(index) = KIND_ORDER.iter().position(|k| *k == kind) {
        return index;
    }
    match LAST_KINDS.iter().position(|k| *k == kind) {
        Some(index) => KIND_ORDER.len() + 2 + index,
        None => KIND_ORDER.len() + 1,
    }
}

/// Orders two objects the way they are applied: by kind rank, then namespace, then name.
pub fn apply_order(a: &ObjectId, b: &ObjectId) -> Ordering {
    kind_rank(&a.kind)
        .cmp(&kind_rank(&b.kind))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.name.cmp(&b.name))
}

/// The inventory for a set of applied objects, in apply order.
pub fn inventory_of(ids: &[ObjectId]) -> ResourceInventory {
    let mut sorted: Vec<&ObjectId> = ids.iter().collect();
    sorted.sort_by(|a, b| apply_order(a, b));
    sorted.dedup_by(|a, b| a.inventory_id() == b.inventory_id());
    ResourceInventory {
        entries: sorted
            .into_iter()
            .map(|id| ResourceRef {
                id: id.inventory_id(),
                v: id.version.clone(),
            })
            .collect(),
    }
}

/// The inventory covering both what `old` holds and the objects about to be applied (their
/// versions win), so objects created by an apply that never finished stay prunable.
pub fn covering(
    old: Option<&ResourceInventory>,
    planned: impl IntoIterator<Item = ObjectId>,
) -> ResourceInventory {
    let mut ids: Vec<ObjectId> = planned.into_iter().collect();
    ids.extend(
        old.iter()
            .flat_map(|inventory| inventory.entries.iter().filter_map(ObjectId::from_entry)),
    );
    inventory_of(&ids)
}

/// Entries of `old` whose id is not in `new` (version-insensitive), in reverse apply order: the
/// order they are pruned in.
pub fn stale_objects(old: &ResourceInventory, new: &ResourceInventory) -> Vec<ObjectId> {
    let kept: std::collections::HashSet<&str> = new.entries.iter().map(|e| e.id.as_str()).collect();
    let mut stale: Vec<ObjectId> = old
        .entries
        .iter()
        .filter(|entry| !kept.contains(entry.id.as_str()))
        .filter_map(ObjectId::from_entry)
        .collect();
    stale.sort_by(|a, b| apply_order(b, a));
    stale
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn covering_keeps_old_entries_and_adds_planned_ones() {
        let old = inventory_of(&[
            id("v1", "ConfigMap", "ns", "kept"),
            id("v1", "ConfigMap", "ns", "leaving"),
        ]);
        let planned = [
            id("v1", "ConfigMap", "ns", "kept"),
            id("apps/v1", "Deployment", "ns", "new"),
        ];
        let covering = covering(Some(&old), planned.clone());
        let ids: Vec<&str> = covering.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ns_kept__ConfigMap",
                "ns_leaving__ConfigMap",
                "ns_new_apps_Deployment"
            ]
        );
        // Once the apply is done, what left the source is exactly what pruning removes.
        let stale = stale_objects(&covering, &inventory_of(&planned));
        assert_eq!(stale, [id("v1", "ConfigMap", "ns", "leaving")]);
        assert_eq!(
            super::covering(None, planned.clone()),
            inventory_of(&planned)
        );
    }

    fn id(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectId {
        ObjectId::of(
            &json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}}),
        )
    }

    #[test]
    fn ids_match_flux_format() {
        assert_eq!(
            id("v1", "Service", "default", "podinfo").inventory_id(),
            "default_podinfo__Service"
        );
        assert_eq!(
            id("apps/v1", "Deployment", "ns", "app").inventory_id(),
            "ns_app_apps_Deployment"
        );
        let parsed = ObjectId::from_entry(&ResourceRef {
            id: "ns_app_apps_Deployment".into(),
            v: "v1".into(),
        })
        .unwrap();
        assert_eq!(parsed, id("apps/v1", "Deployment", "ns", "app"));
        assert_eq!(parsed.subject(), "Deployment/ns/app");
        assert_eq!(
            id("v1", "Namespace", "", "prod").subject(),
            "Namespace/prod"
        );
    }

    #[test]
    fn inventory_is_in_apply_order_and_stale_is_reversed() {
        let deployment = id("apps/v1", "Deployment", "ns", "app");
        let service = id("v1", "Service", "ns", "app");
        let namespace = id("v1", "Namespace", "", "ns");
        let crd = id(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "",
            "x.example.com",
        );
        let widget = id("example.com/v1", "Widget", "ns", "w");
        let old = inventory_of(&[
            deployment.clone(),
            service.clone(),
            namespace.clone(),
            widget.clone(),
            crd.clone(),
        ]);
        let ids: Vec<_> = old.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "_x.example.com_apiextensions.k8s.io_CustomResourceDefinition",
                "_ns__Namespace",
                "ns_app__Service",
                "ns_app_apps_Deployment",
                "ns_w_example.com_Widget",
            ]
        );
        let new = inventory_of(&[deployment]);
        let stale = stale_objects(&old, &new);
        let subjects: Vec<_> = stale.iter().map(ObjectId::subject).collect();
        assert_eq!(
            subjects,
            [
                "Widget/ns/w",
                "Service/ns/app",
                "Namespace/ns",
                "CustomResourceDefinition/x.example.com"
            ]
        );
    }
}
