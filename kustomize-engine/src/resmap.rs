//! An ordered collection of resources with kustomize's id rules (no two objects with the same id) and
//! the merging of generated objects into existing ones.

use std::collections::HashSet;

use crate::resid::{Gvk, ResId};
use std::path::{Component, Path};

use crate::resource::{GeneratorBehavior, Origin, Resource};
use crate::yaml::Value;

const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";

/// Annotation that marks objects kustomize reads but does not output.
const LOCAL_CONFIG_ANNOTATION: &str = "config.kubernetes.io/local-config";

#[derive(Debug, Clone, Default)]
pub struct ResMap {
    pub resources: Vec<Resource>,
}

impl ResMap {
    /// Adds resources without checking ids: the caller runs [`ResMap::check_unique_ids`] once
    /// after a batch, so appending many directories stays linear.
    pub fn append_unchecked(&mut self, resources: Vec<Resource>) {
        self.resources.extend(resources);
    }

    /// Fails on the first object whose current id an earlier object has.
    pub fn check_unique_ids(&self) -> Result<(), String> {
        let mut known: HashSet<(Gvk, String, String)> =
            HashSet::with_capacity(self.resources.len());
        for resource in &self.resources {
            let id = resource.cur_id();
            if !known.insert(id_key(&id)) {
                return Err(format!(
                    "may not add resource with an already registered id: {id}"
                ));
            }
        }
        Ok(())
    }

    /// Adds a generated object, honouring its behaviour against an existing object of the same id.
    pub fn absorb_generated(&mut self, generated: Resource) -> Result<(), String> {
        let id = generated.cur_id();
        let find = |same_namespace_required: bool| -> Vec<usize> {
            self.resources
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.all_ids().iter().any(|rid| {
                        rid.gvk == id.gvk
                            && rid.name == id.name
                            && (!same_namespace_required || rid.same_namespace(&id))
                    })
                })
                .map(|(i, _)| i)
                .collect()
        };
        let mut matches = find(true);
        if matches.is_empty() && generated.behavior != GeneratorBehavior::Create {
            // A generator without a namespace may merge into a base's object from another namespace.
            matches = find(false);
        }
        match generated.behavior {
            GeneratorBehavior::Create => {
                if !matches.is_empty() {
                    return Err(format!(
                        "merging from generator: id {id} exists; behavior must be merge or replace"
                    ));
                }
                self.resources.push(generated);
                Ok(())
            }
            GeneratorBehavior::Merge | GeneratorBehavior::Replace => {
                let index = match matches.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(format!("id {id} does not exist; cannot merge or replace"));
                    }
                    _ => return Err(format!("id {id} matches more than one resource")),
                };
                let existing = &mut self.resources[index];
                merge_generated(existing, generated);
                Ok(())
            }
        }
    }

    /// Adds `config.kubernetes.io/origin` to every object (paths relative to the build root).
    pub fn annotate_origins(&mut self, root: &Path) {
        for resource in &mut self.resources {
            let Some(origin) = &resource.origin else {
                continue;
            };
            let text = match origin {
                Origin::File(path) => format!("path: {}\n", relative_path(root, path)),
                Origin::Generator {
                    configured_in,
                    kind,
                    name,
                } => {
                    let mut text = format!(
                        "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n",
                        relative_path(root, configured_in)
                    );
                    if let Some(name) = name {
                        text.push_str(&format!("  name: {name}\n"));
                    }
                    text
                }
            };
            if let Some(annotations) = resource.value.ensure_map_path(&["metadata", "annotations"])
            {
                annotations.insert(ORIGIN_ANNOTATION.to_string(), Value::String(text));
            }
        }
    }

    /// Adds `alpha.config.kubernetes.io/transformations`, listing the builtin transformers that
    /// processed each object (paths relative to the build root).
    pub fn annotate_transformations(&mut self, root: &Path) {
        for resource in &mut self.resources {
            if resource.transformations.is_empty() {
                continue;
            }
            let mut text = String::new();
            for (configured_in, kind) in &resource.transformations {
                text.push_str(&format!(
                    "- configuredIn: {}\n  configuredBy:\n    apiVersion: builtin\n    kind: {kind}\n",
                    relative_path(root, configured_in)
                ));
            }
            if let Some(annotations) = resource.value.ensure_map_path(&["metadata", "annotations"])
            {
                annotations.insert(
                    "alpha.config.kubernetes.io/transformations".to_string(),
                    Value::String(text),
                );
            }
        }
    }

    /// Adds the `app.kubernetes.io/managed-by` label. kubectl's embedded kustomize reports its version
    /// as `(devel)`, so that is what the label says.
    pub fn add_managed_by_label(&mut self) {
        for resource in &mut self.resources {
            if let Some(labels) = resource.value.ensure_map_path(&["metadata", "labels"]) {
                labels.insert(
                    "app.kubernetes.io/managed-by".to_string(),
                    Value::String("kustomize-(devel)".to_string()),
                );
            }
        }
    }

    /// Drops objects annotated as local configuration.
    pub fn remove_local_config(&mut self) {
        self.resources.retain(|r| {
            r.annotation(LOCAL_CONFIG_ANNOTATION)
                .is_none_or(|value| value != "true")
        });
    }

    /// Removes kustomize's internal bookkeeping annotations before output.
    pub fn clear_internal_annotations(&mut self) {
        for resource in &mut self.resources {
            let keys: Vec<String> = resource
                .annotations()
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| {
                    k.starts_with("internal.config.kubernetes.io/")
                        || k.starts_with("config.kubernetes.io/")
                            && k != LOCAL_CONFIG_ANNOTATION
                            && k != ORIGIN_ANNOTATION
                })
                .collect();
            for key in keys {
                resource.remove_annotation(&key);
            }
            // kustomize tags every object it reads with internal annotations and removes them
            // here, which leaves no `annotations` key behind when nothing else was in it; an
            // empty map the user wrote disappears the same way.
            resource.remove_empty_annotations();
        }
    }

    /// Resources whose current or any previous id matches `id` (used by patches without a target).
    pub fn matching_any_id(&self, id: &ResId) -> Vec<usize> {
        self.resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.all_ids().iter().any(|rid| id_matches_patch(rid, id)))
            .map(|(i, _)| i)
            .collect()
    }
}

/// A patch's id matches a resource id when kind, name and namespace agree, and group/version agree
/// where the patch states them.
fn id_matches_patch(resource_id: &ResId, patch_id: &ResId) -> bool {
    resource_id.gvk.kind == patch_id.gvk.kind
        && resource_id.gvk.group == patch_id.gvk.group
        && (patch_id.gvk.version.is_empty() || resource_id.gvk.version == patch_id.gvk.version)
        && resource_id.name == patch_id.name
        && (patch_id.namespace.is_empty() || resource_id.same_namespace(patch_id))
}

/// Applies a generated object's data to an existing object (behaviour merge or replace).
fn merge_generated(existing: &mut Resource, generated: Resource) {
    let replace = generated.behavior == GeneratorBehavior::Replace;
    for field in ["data", "binaryData", "stringData"] {
        let new_value = generated.value.get(field).cloned();
        let Some(map) = existing.value.as_map_mut() else {
            return;
        };
        match (replace, new_value) {
            (true, Some(value)) => {
                map.insert(field.to_string(), value);
            }
            (true, None) => {
                map.shift_remove(field);
            }
            (false, Some(Value::Map(new_entries))) => {
                let target = map
                    .entry(field.to_string())
                    .or_insert_with(|| Value::Map(Default::default()));
                if let Value::Map(target) = target {
                    for (k, v) in new_entries {
                        target.insert(k, v);
                    }
                } else {
                    *target = Value::Map(new_entries);
                }
            }
            (false, _) => {}
        }
    }
    for field in ["labels", "annotations"] {
        if let Some(Value::Map(new_entries)) =
            generated.value.get_path(&["metadata", field]).cloned()
            && let Some(target) = existing.value.ensure_map_path(&["metadata", field])
        {
            for (k, v) in new_entries {
                target.insert(k, v);
            }
        }
    }
    if replace {
        existing.origin = generated.origin.clone();
    }
    if let Some(immutable) = generated.value.get("immutable").cloned()
        && let Some(map) = existing.value.as_map_mut()
    {
        map.insert("immutable".to_string(), immutable);
    }
    existing.needs_hash = existing.needs_hash && generated.needs_hash;
}

/// What makes two ids the same object: GVK, name and effective namespace.
fn id_key(id: &ResId) -> (Gvk, String, String) {
    (
        id.gvk.clone(),
        id.name.clone(),
        id.effective_namespace().to_string(),
    )
}

/// `to` relative to the directory `from`, with `..` steps where needed.
fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from
        .iter()
        .zip(to_parts.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..from.len() {
        parts.push("..".to_string());
    }
    for part in &to_parts[common..] {
        parts.push(part.as_os_str().to_string_lossy().into_owned());
    }
    parts.join("/")
}
