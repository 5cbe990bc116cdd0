//! Per-object apply policy read from labels and annotations, and the comparisons that decide
//! whether an object changed. Pure functions over JSON objects.

use serde_json::Value;

pub const SSA_KEY: &str = "kustomize.toolkit.fluxcd.io/ssa";
pub const FORCE_KEY: &str = "kustomize.toolkit.fluxcd.io/force";
pub const PRUNE_KEY: &str = "kustomize.toolkit.fluxcd.io/prune";
pub const RECONCILE_KEY: &str = "kustomize.toolkit.fluxcd.io/reconcile";
pub const OWNER_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
pub const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
pub const FIELD_MANAGER: &str = "kustomize-controller";

/// The value of a policy key, looked up in annotations then labels (Flux accepts both).
pub fn policy_value<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    ["annotations", "labels"].iter().find_map(|field| {
        object
            .pointer(&format!("/metadata/{field}"))
            .and_then(|map| map.get(key))
            .and_then(Value::as_str)
    })
}

fn policy_is(object: &Value, key: &str, expected: &str) -> bool {
    policy_value(object, key).is_some_and(|v| v.eq_ignore_ascii_case(expected))
}

/// How an object is applied (`kustomize.toolkit.fluxcd.io/ssa`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsaPolicy {
    Override,
    Merge,
    IfNotPresent,
    Ignore,
}

pub fn ssa_policy(object: &Value) -> SsaPolicy {
    match policy_value(object, SSA_KEY)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("merge") => SsaPolicy::Merge,
        Some("ifnotpresent") => SsaPolicy::IfNotPresent,
        Some("ignore") => SsaPolicy::Ignore,
        _ => SsaPolicy::Override,
    }
}

/// Whether applying `desired` must be skipped, given what is in the cluster.
pub fn should_skip(desired: &Value, existing: Option<&Value>) -> bool {
    let disabled = |object: &Value| {
        policy_is(object, RECONCILE_KEY, "disabled") || ssa_policy(object) == SsaPolicy::Ignore
    };
    if disabled(desired) || existing.is_some_and(disabled) {
        return true;
    }
    ssa_policy(desired) == SsaPolicy::IfNotPresent && existing.is_some()
}

/// Whether an object may be deleted and recreated when a field is immutable.
pub fn force_enabled(spec_force: bool, desired: &Value, existing: Option<&Value>) -> bool {
    spec_force
        || policy_is(desired, FORCE_KEY, "enabled")
        || existing.is_some_and(|e| policy_is(e, FORCE_KEY, "enabled"))
}

/// Whether a stale object may be pruned by the Kustomization `name`/`namespace`.
pub fn may_prune(existing: &Value, owner_name: &str, owner_namespace: &str) -> bool {
    let label = |key: &str| {
        existing
            .pointer("/metadata/labels")
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
    };
    label(OWNER_NAME_LABEL) == Some(owner_name)
        && label(OWNER_NAMESPACE_LABEL) == Some(owner_namespace)
        && !policy_is(existing, PRUNE_KEY, "disabled")
        && !policy_is(existing, RECONCILE_KEY, "disabled")
        && ssa_policy(existing) != SsaPolicy::Ignore
}

/// Whether the dry-run result differs from the live object in anything the user controls.
pub fn has_drifted(existing: &Value, dry_run: &Value) -> bool {
    comparable(existing) != comparable(dry_run)
}

/// The object without what the server changes on every write (and the status, which apply
/// does not set): what decides whether an apply would change anything.
pub fn comparable(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("status");
        if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for volatile in ["managedFields", "resourceVersion", "generation"] {
                metadata.remove(volatile);
            }
        }
    }
    copy
}

/// The managedFields that remain after removing the entries of managers whose edits must be
/// reverted (kubectl, before-first-apply, our own Update entries, and `--override-manager`s);
/// `None` when nothing needs removing.
pub fn cleaned_managed_fields(
    existing: &Value,
    override_managers: &[String],
) -> Option<Vec<Value>> {
    let entries = existing.pointer("/metadata/managedFields")?.as_array()?;
    let removable = |entry: &Value| {
        let manager = entry
            .get("manager")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let operation = entry
            .get("operation")
            .and_then(Value::as_str)
            .unwrap_or_default();
        manager.starts_with("kubectl")
            || (manager == "before-first-apply" && operation == "Update")
            || (manager == FIELD_MANAGER && operation == "Update")
            || override_managers.iter().any(|m| m == manager)
    };
    let kept: Vec<Value> = entries.iter().filter(|e| !removable(e)).cloned().collect();
    // An empty list would be ignored by the API server; when nothing else owns fields our forced
    // apply takes them over anyway.
    if kept.len() == entries.len() || kept.is_empty() {
        return None;
    }
    Some(kept)
}

/// Annotations and labels left behind by kubectl or Flux v1 that are removed before applying.
const STALE_ANNOTATIONS: [&str; 3] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kustomize.toolkit.fluxcd.io/checksum",
    "fluxcd.io/sync-checksum",
];

/// The merge patch that cleans the live object's metadata (stale annotations and labels, and the
/// managedFields of managers whose edits are reverted), or `None` when it is already clean.
pub fn cleanup_patch(existing: &Value, override_managers: &[String]) -> Option<Value> {
    let mut metadata = serde_json::Map::new();
    let mut annotations = serde_json::Map::new();
    for key in STALE_ANNOTATIONS {
        if existing
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .is_some()
        {
            annotations.insert(key.to_owned(), Value::Null);
        }
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }
    if existing
        .pointer("/metadata/labels")
        .and_then(|l| l.get(STALE_LABEL))
        .is_some()
    {
        metadata.insert("labels".into(), serde_json::json!({ STALE_LABEL: null }));
    }
    if let Some(kept) = cleaned_managed_fields(existing, override_managers) {
        metadata.insert("managedFields".into(), Value::Array(kept));
    }
    if metadata.is_empty() {
        return None;
    }
    Some(serde_json::json!({ "metadata": metadata }))
}

const STALE_LABEL: &str = "fluxcd.io/sync-gc-mark";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_annotations(annotations: Value) -> Value {
        json!({"metadata": {"name": "x", "annotations": annotations}})
    }

    #[test]
    fn skip_rules() {
        let plain = json!({"metadata": {"name": "x"}});
        assert!(!should_skip(&plain, Some(&plain)));
        assert!(should_skip(
            &with_annotations(json!({RECONCILE_KEY: "Disabled"})),
            None
        ));
        assert!(should_skip(
            &plain,
            Some(&with_annotations(json!({SSA_KEY: "ignore"})))
        ));
        let if_not_present = with_annotations(json!({SSA_KEY: "IfNotPresent"}));
        assert!(!should_skip(&if_not_present, None));
        assert!(should_skip(&if_not_present, Some(&plain)));
    }

    #[test]
    fn prune_requires_owner_labels() {
        let owned = json!({"metadata": {"labels": {OWNER_NAME_LABEL: "app", OWNER_NAMESPACE_LABEL: "flux"}}});
        assert!(may_prune(&owned, "app", "flux"));
        assert!(!may_prune(&owned, "other", "flux"));
        let mut disabled = owned.clone();
        disabled["metadata"]["annotations"] = json!({PRUNE_KEY: "disabled"});
        assert!(!may_prune(&disabled, "app", "flux"));
    }

    #[test]
    fn drift_ignores_volatile_fields() {
        let live = json!({"metadata": {"name": "x", "resourceVersion": "1", "managedFields": [1]}, "spec": {"replicas": 1}, "status": {"a": 1}});
        let same =
            json!({"metadata": {"name": "x", "resourceVersion": "2"}, "spec": {"replicas": 1}});
        let scaled = json!({"metadata": {"name": "x"}, "spec": {"replicas": 3}});
        assert!(!has_drifted(&live, &same));
        assert!(has_drifted(&live, &scaled));
    }

    #[test]
    fn kubectl_managers_are_removed() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "kustomize-controller", "operation": "Apply"},
            {"manager": "kubectl", "operation": "Update", "subresource": "scale"},
            {"manager": "kubectl-edit", "operation": "Update"},
            {"manager": "kube-controller-manager", "operation": "Update"},
        ]}});
        let kept = cleaned_managed_fields(&live, &[]).unwrap();
        let managers: Vec<_> = kept
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(
            managers,
            ["kustomize-controller", "kube-controller-manager"]
        );
        let clean = json!({"metadata": {"managedFields": [{"manager": "kustomize-controller", "operation": "Apply"}]}});
        assert!(cleaned_managed_fields(&clean, &[]).is_none());
    }

    #[test]
    fn stale_annotations_are_removed() {
        let live = with_annotations(
            json!({"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "me"}),
        );
        let patch = cleanup_patch(&live, &[]).unwrap();
        assert_eq!(
            patch,
            json!({"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": null}}})
        );
        assert!(cleanup_patch(&with_annotations(json!({"keep": "me"})), &[]).is_none());
    }
}
