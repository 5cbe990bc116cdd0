//! Strategic merge patch with kustomize's observable semantics.
//!
//! * Mappings merge recursively; a `null` in the patch deletes the key.
//! * Lists of built-in Kubernetes types (as the 1.21 schema knows them, or a custom `openapi` schema)
//!   merge by their merge keys when marked mergeable; all other lists (and every list of a custom
//!   resource) are replaced by the patch's list, taken verbatim.
//! * In a list merged by one key the patch's elements come first, in patch order (merged with the
//!   matching existing element), followed by the existing elements the patch did not mention. Lists
//!   keyed by several fields (ports) keep the existing order and put new elements first. A patch
//!   element without the merge key leaves only the patch's keyed elements. A node-kind change
//!   (mapping to scalar and so on) is an error.
//! * New subtrees lose their nulls and directives in mappings and keyed lists only.
//! * These rules were established by running kubectl v1.32 (kustomize v5.5.0); see `tests/extra`.
//! * Directives: `$patch: delete` (on a mapping or list element), `$patch: replace` (on a mapping, or as
//!   a `- $patch: replace` list element), `$patch: merge`. `$setElementOrder`, `$retainKeys` and
//!   `$deleteFromPrimitiveList` are not interpreted (kustomize copies them through as ordinary keys).

use crate::resid::Gvk;
use crate::yaml::{Mapping, Value};

const DIRECTIVE: &str = "$patch";

/// How a list field merges.
#[derive(Debug, Clone, PartialEq)]
enum ListStrategy {
    Replace,
    MergeByKeys(Vec<String>),
    MergePrimitives,
}

/// Where in which object a merge happens: drives the list strategies.
struct Context<'a> {
    builtin: bool,
    /// The custom OpenAPI document and the definition of the patched kind, when it describes it.
    custom: Option<(&'a Value, &'a Value)>,
}

/// What the caller must do with a node after merging a patch into it.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Keep,
    Delete,
}

/// Merges `patch` into `target` (a whole object). Returns `Outcome::Delete` when the patch deletes it.
pub fn merge_object(
    target: &mut Value,
    patch: &Value,
    gvk: &Gvk,
    schema: Option<&Value>,
) -> Result<Outcome, String> {
    let context = Context {
        builtin: has_builtin_schema(gvk),
        custom: schema.and_then(|s| custom_definition(s, gvk).map(|d| (s, d))),
    };
    let mut path = Vec::new();
    let outcome = merge_value(target, patch, &context, &mut path)?;
    if outcome == Outcome::Keep {
        collapse_duplicate_keys(target, &context, &mut path);
    }
    Ok(outcome)
}

/// kustomize's merge walks the whole object, not only what the patch names, and rebuilds every
/// list merged by one key as it goes: elements sharing a key value collapse into one, at the
/// first one's place, holding the last one's content (observed with kubectl: a container added
/// twice — by a strategic merge and by a JSON patch — is one container after any later strategic
/// merge of the same object, even one that only adds an annotation).
fn collapse_duplicate_keys(value: &mut Value, context: &Context, path: &mut Vec<String>) {
    match value {
        Value::Map(map) => {
            for (key, child) in map.iter_mut() {
                path.push(key.clone());
                collapse_duplicate_keys(child, context, path);
                path.pop();
            }
        }
        Value::Seq(items) => {
            if let ListStrategy::MergeByKeys(keys) = list_strategy(context, path)
                && let [key] = keys.as_slice()
            {
                collapse_list(items, key);
            }
            for item in items.iter_mut() {
                collapse_duplicate_keys(item, context, path);
            }
        }
        _ => {}
    }
}

/// One element per scalar value of `key` (first place, last content); elements without the key
/// stay as they are.
fn collapse_list(items: &mut Vec<Value>, key: &str) {
    let key_of = |item: &Value| match item {
        Value::Map(map) => map.get(key).filter(|v| !v.is_null()).map(scalar_key),
        _ => None,
    };
    let mut last_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (index, item) in items.iter().enumerate() {
        if let Some(value) = key_of(item) {
            last_of.insert(value, index);
        }
    }
    if last_of.len() == items.iter().filter(|item| key_of(item).is_some()).count() {
        return;
    }
    let mut placed = std::collections::HashSet::new();
    let mut result = Vec::with_capacity(items.len());
    for item in items.iter() {
        match key_of(item) {
            None => result.push(item.clone()),
            Some(value) => {
                if placed.insert(value.clone()) {
                    let last = last_of.get(&value).map_or(item, |&index| &items[index]);
                    result.push(last.clone());
                }
            }
        }
    }
    *items = result;
}

/// The YAML node kind of a value, as kustomize names it in errors.
fn node_kind(value: &Value) -> &'static str {
    match value {
        Value::Map(_) => "MappingNode",
        Value::Seq(_) => "SequenceNode",
        _ => "ScalarNode",
    }
}

fn directive_of(map: &Mapping) -> Option<&str> {
    map.get(DIRECTIVE).and_then(Value::as_str)
}

fn merge_value(
    target: &mut Value,
    patch: &Value,
    context: &Context,
    path: &mut Vec<String>,
) -> Result<Outcome, String> {
    match (target, patch) {
        (Value::Map(target_map), Value::Map(patch_map)) => {
            match directive_of(patch_map) {
                Some("delete") => return Ok(Outcome::Delete),
                Some("replace") => {
                    *target_map = match clean(patch, context, path) {
                        Value::Map(m) => m,
                        _ => Mapping::new(),
                    };
                    return Ok(Outcome::Keep);
                }
                _ => {}
            }
            merge_map(target_map, patch_map, context, path)?;
            Ok(Outcome::Keep)
        }
        (Value::Seq(target_items), Value::Seq(patch_items)) => {
            let strategy = list_strategy(context, path);
            merge_list(target_items, patch_items, &strategy, context, path)?;
            Ok(Outcome::Keep)
        }
        (target, patch) => {
            if let Value::Map(patch_map) = patch
                && directive_of(patch_map) == Some("delete")
            {
                return Ok(Outcome::Delete);
            }
            let (expected, got) = (node_kind(target), node_kind(patch));
            if !target.is_null() && expected != got {
                return Err(format!(
                    "wrong node kind at '{}': expected {expected} but got {got}",
                    path.join(".")
                ));
            }
            *target = clean(patch, context, path);
            Ok(Outcome::Keep)
        }
    }
}

fn merge_map(
    target: &mut Mapping,
    patch: &Mapping,
    context: &Context,
    path: &mut Vec<String>,
) -> Result<(), String> {
    for (key, patch_value) in patch {
        if key == DIRECTIVE {
            continue;
        }
        if patch_value.is_null() {
            target.shift_remove(key);
            continue;
        }
        path.push(key.clone());
        match target.get_mut(key) {
            Some(existing) if !existing.is_null() => {
                if merge_value(existing, patch_value, context, path)? == Outcome::Delete {
                    target.shift_remove(key);
                }
            }
            _ => {
                let is_delete =
                    matches!(patch_value, Value::Map(m) if directive_of(m) == Some("delete"));
                if is_delete {
                    target.shift_remove(key);
                } else {
                    target.insert(key.clone(), clean(patch_value, context, path));
                }
            }
        }
        path.pop();
    }
    Ok(())
}

fn merge_list(
    target: &mut Vec<Value>,
    patch: &[Value],
    strategy: &ListStrategy,
    context: &Context,
    path: &mut Vec<String>,
) -> Result<(), String> {
    let replace_marker = patch.iter().any(
        |item| matches!(item, Value::Map(m) if m.len() == 1 && directive_of(m) == Some("replace")),
    );
    if replace_marker {
        *target = patch
            .iter()
            .filter(
                |item| !matches!(item, Value::Map(m) if m.len() == 1 && directive_of(m).is_some()),
            )
            .map(|item| clean(item, context, path))
            .collect();
        return Ok(());
    }
    match strategy {
        ListStrategy::Replace => {
            // Replaced lists are taken as written, directives and nulls included (as kustomize does).
            *target = patch.to_vec();
        }
        ListStrategy::MergePrimitives => {
            let mut result: Vec<Value> = Vec::new();
            for item in patch {
                if !result.contains(item) {
                    result.push(item.clone());
                }
            }
            for item in target.iter() {
                if !result.contains(item) {
                    result.push(item.clone());
                }
            }
            *target = result;
        }
        ListStrategy::MergeByKeys(keys) if has_keyless_element(patch, keys) => {
            // Observed kustomize behaviour: a patch element without the merge key turns the merge
            // into "only the patch's keyed elements" (merged with their matches); the rest is dropped.
            let mut result = Vec::new();
            for item in patch {
                let Value::Map(item_map) = item else {
                    continue;
                };
                if !keys
                    .first()
                    .is_some_and(|k| item_map.contains_key(k.as_str()))
                {
                    continue;
                }
                if directive_of(item_map) == Some("delete") {
                    continue;
                }
                let found = target
                    .iter()
                    .position(|existing| element_matches(existing, item_map, keys));
                match found {
                    Some(index) => {
                        let mut merged = target[index].clone();
                        if merge_value(&mut merged, item, context, path)? == Outcome::Keep {
                            result.push(merged);
                        }
                    }
                    None => result.push(clean(item, context, path)),
                }
            }
            *target = result;
        }
        ListStrategy::MergeByKeys(keys) if keys.len() > 1 => {
            merge_multi_key_list(target, patch, keys, context, path)?;
        }
        ListStrategy::MergeByKeys(keys) => {
            let mut used = vec![false; target.len()];
            let mut result = Vec::new();
            for item in patch {
                let Value::Map(item_map) = item else {
                    result.push(clean(item, context, path));
                    continue;
                };
                let found = target.iter().enumerate().position(|(index, existing)| {
                    !used[index] && element_matches(existing, item_map, keys)
                });
                let directive = directive_of(item_map);
                match (found, directive) {
                    (Some(index), Some("delete")) => used[index] = true,
                    (None, Some("delete")) => {}
                    (Some(index), Some("replace")) => {
                        used[index] = true;
                        result.push(target[index].clone());
                    }
                    (Some(index), _) => {
                        used[index] = true;
                        let mut merged = target[index].clone();
                        if merge_value(&mut merged, item, context, path)? == Outcome::Keep {
                            result.push(merged);
                        }
                    }
                    (None, _) => result.push(clean(item, context, path)),
                }
            }
            for (index, existing) in target.iter().enumerate() {
                if !used[index] {
                    result.push(existing.clone());
                }
            }
            *target = result;
        }
    }
    Ok(())
}

/// Lists keyed by several fields (ports: number + protocol) keep the existing order: matching elements
/// are merged in place and new elements go first. A patch element that matches no element on all keys
/// but shares its first key with one is dropped (observed kustomize v5.5 behaviour).
fn merge_multi_key_list(
    target: &mut Vec<Value>,
    patch: &[Value],
    keys: &[String],
    context: &Context,
    path: &mut Vec<String>,
) -> Result<(), String> {
    let key_values = |map: &Mapping| -> Vec<String> {
        keys.iter()
            .map(|k| map.get(k.as_str()).map(scalar_key).unwrap_or_default())
            .collect()
    };
    let mut new_items = Vec::new();
    let mut deleted = vec![false; target.len()];
    for item in patch {
        let Value::Map(item_map) = item else {
            new_items.push(clean(item, context, path));
            continue;
        };
        let wanted = key_values(item_map);
        let found = target
            .iter()
            .position(|existing| matches!(existing, Value::Map(m) if key_values(m) == wanted));
        match (found, directive_of(item_map)) {
            (Some(index), Some("delete")) => deleted[index] = true,
            (None, Some("delete")) => {}
            (Some(_), Some("replace")) => {}
            (Some(index), _) => {
                if merge_value(&mut target[index], item, context, path)? == Outcome::Delete {
                    deleted[index] = true;
                }
            }
            (None, _) => {
                let first_key_taken = target.iter().any(|existing| {
                    matches!(existing, Value::Map(m) if key_values(m).first() == wanted.first())
                });
                if !first_key_taken {
                    new_items.push(clean(item, context, path));
                }
            }
        }
    }
    let kept = target
        .drain(..)
        .zip(deleted)
        .filter(|(_, gone)| !gone)
        .map(|(item, _)| item);
    new_items.extend(kept);
    *target = new_items;
    Ok(())
}

fn has_keyless_element(patch: &[Value], keys: &[String]) -> bool {
    let Some(primary) = keys.first() else {
        return false;
    };
    patch.iter().any(|item| {
        matches!(item, Value::Map(m) if !m.contains_key(primary.as_str()) && directive_of(m).is_none())
    })
}

/// An existing list element matches a patch element when every merge key the patch element states
/// has the same value (the first key must be stated).
fn element_matches(existing: &Value, patch: &Mapping, keys: &[String]) -> bool {
    let Value::Map(existing) = existing else {
        return false;
    };
    let Some(primary) = keys.first() else {
        return false;
    };
    if !patch.contains_key(primary.as_str()) {
        return false;
    }
    keys.iter().all(|key| match patch.get(key.as_str()) {
        None => true,
        Some(value) => existing.get(key.as_str()).map(scalar_key) == Some(scalar_key(value)),
    })
}

fn scalar_key(value: &Value) -> String {
    value.scalar_text().unwrap_or_default()
}

/// A patch subtree as it lands where the target had nothing: in mappings, directives and nulls are
/// removed; lists that merge by key are cleaned element by element, other lists are taken as written
/// (kustomize copies them verbatim).
fn clean(value: &Value, context: &Context, path: &mut Vec<String>) -> Value {
    match value {
        Value::Map(map) => Value::Map(
            map.iter()
                .filter(|(k, v)| k.as_str() != DIRECTIVE && !v.is_null())
                .map(|(k, v)| {
                    path.push(k.clone());
                    let cleaned = clean(v, context, path);
                    path.pop();
                    (k.clone(), cleaned)
                })
                .collect(),
        ),
        Value::Seq(items) => match list_strategy(context, path) {
            ListStrategy::Replace => value.clone(),
            _ => Value::Seq(
                items
                    .iter()
                    .filter(
                        |item| !matches!(item, Value::Map(m) if directive_of(m) == Some("delete")),
                    )
                    .map(|item| clean(item, context, path))
                    .collect(),
            ),
        },
        other => other.clone(),
    }
}

/// Merge strategy of a list field, from the Kubernetes API's patch metadata for built-in types.
fn list_strategy(context: &Context, path: &[String]) -> ListStrategy {
    if let Some((document, definition)) = context.custom {
        return custom_list_strategy(document, definition, path);
    }
    if !context.builtin {
        return ListStrategy::Replace;
    }
    let field = path.last().map(String::as_str).unwrap_or("");
    let parent = if path.len() >= 2 {
        path[path.len() - 2].as_str()
    } else {
        ""
    };
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "webhooks" => keys(&["name"]),
        "volumeMounts" => keys(&["mountPath"]),
        "volumeDevices" => keys(&["devicePath"]),
        "ports"
            if matches!(
                parent,
                "containers" | "initContainers" | "ephemeralContainers"
            ) =>
        {
            keys(&["containerPort", "protocol"])
        }
        "ports" if parent == "spec" => keys(&["port", "protocol"]),
        "hostAliases" => keys(&["ip"]),
        "topologySpreadConstraints" => keys(&["topologyKey", "whenUnsatisfiable"]),
        "ownerReferences" => keys(&["uid"]),
        "conditions" => keys(&["type"]),
        "finalizers" if parent == "metadata" => ListStrategy::MergePrimitives,
        _ => ListStrategy::Replace,
    }
}

/// Whether the object is of a type the Kubernetes 1.21 API (kustomize v5.5's embedded schema) defines,
/// so that its lists carry merge metadata. The version matters: `extensions/v1beta1` Deployments or
/// `autoscaling/v2` HPAs are unknown to that schema and get no list merging.
fn has_builtin_schema(gvk: &Gvk) -> bool {
    const WORKLOADS: &[&str] = &[
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ControllerRevision",
    ];
    const CORE_KINDS: &[&str] = &[
        "Pod",
        "PodTemplate",
        "ReplicationController",
        "Service",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "Namespace",
        "Endpoints",
        "Node",
        "LimitRange",
        "ResourceQuota",
        "Event",
    ];
    let kind = gvk.kind.as_str();
    match (gvk.group.as_str(), gvk.version.as_str()) {
        ("", "v1") => CORE_KINDS.contains(&kind),
        ("apps", "v1") => WORKLOADS.contains(&kind),
        ("batch", "v1") => matches!(kind, "Job" | "CronJob"),
        ("batch", "v1beta1") => kind == "CronJob",
        ("extensions", "v1beta1") => kind == "Ingress",
        ("networking.k8s.io", "v1") => matches!(kind, "Ingress" | "IngressClass" | "NetworkPolicy"),
        ("networking.k8s.io", "v1beta1") => matches!(kind, "Ingress" | "IngressClass"),
        ("policy", "v1") => kind == "PodDisruptionBudget",
        ("policy", "v1beta1") => matches!(kind, "PodDisruptionBudget" | "PodSecurityPolicy"),
        ("autoscaling", "v1" | "v2beta1" | "v2beta2") => kind == "HorizontalPodAutoscaler",
        ("rbac.authorization.k8s.io", "v1" | "v1beta1" | "v1alpha1")
        | ("admissionregistration.k8s.io", "v1" | "v1beta1")
        | ("apiextensions.k8s.io", "v1" | "v1beta1")
        | ("storage.k8s.io", "v1" | "v1beta1" | "v1alpha1")
        | ("scheduling.k8s.io", "v1" | "v1beta1" | "v1alpha1")
        | ("coordination.k8s.io", "v1" | "v1beta1")
        | ("discovery.k8s.io", "v1" | "v1beta1")
        | ("node.k8s.io", "v1" | "v1beta1" | "v1alpha1")
        | ("certificates.k8s.io", "v1" | "v1beta1")
        | ("apiregistration.k8s.io", "v1" | "v1beta1")
        | ("events.k8s.io", "v1" | "v1beta1")
        | ("flowcontrol.apiserver.k8s.io", "v1beta1") => true,
        _ => false,
    }
}

/// The definition in a custom OpenAPI document whose `x-kubernetes-group-version-kind` names `gvk`.
fn custom_definition<'a>(document: &'a Value, gvk: &Gvk) -> Option<&'a Value> {
    let definitions = document.get("definitions")?.as_map()?;
    definitions.values().find(|definition| {
        definition
            .get("x-kubernetes-group-version-kind")
            .and_then(Value::as_seq)
            .is_some_and(|gvks| {
                gvks.iter().any(|entry| {
                    entry.str_at(&["group"]).unwrap_or("") == gvk.group
                        && entry.str_at(&["version"]).unwrap_or("") == gvk.version
                        && entry.str_at(&["kind"]).unwrap_or("") == gvk.kind
                })
            })
    })
}

/// Follows a `$ref: #/definitions/NAME` reference.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    let mut current = schema;
    for _ in 0..32 {
        let Some(reference) = current.str_at(&["$ref"]) else {
            return current;
        };
        let Some(name) = reference.strip_prefix("#/definitions/") else {
            return current;
        };
        match document.get_path(&["definitions", name]) {
            Some(next) => current = next,
            None => return current,
        }
    }
    current
}

/// The list strategy of the field at `path`, from the custom schema's patch extensions.
fn custom_list_strategy(document: &Value, definition: &Value, path: &[String]) -> ListStrategy {
    let mut current = resolve(document, definition);
    for segment in path {
        if let Some(items) = current.get("items") {
            current = resolve(document, items);
        }
        match current.get_path(&["properties", segment.as_str()]) {
            Some(next) => current = resolve(document, next),
            None => return ListStrategy::Replace,
        }
    }
    let strategy = current
        .str_at(&["x-kubernetes-patch-strategy"])
        .unwrap_or("");
    if !strategy.split(',').any(|s| s == "merge") {
        return ListStrategy::Replace;
    }
    let keys: Vec<String> = match current
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_seq)
    {
        Some(keys) => keys
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        None => current
            .str_at(&["x-kubernetes-patch-merge-key"])
            .map(|k| vec![k.to_string()])
            .unwrap_or_default(),
    };
    if keys.is_empty() {
        ListStrategy::MergePrimitives
    } else {
        ListStrategy::MergeByKeys(keys)
    }
}

fn keys(names: &[&str]) -> ListStrategy {
    ListStrategy::MergeByKeys(names.iter().map(|n| n.to_string()).collect())
}
