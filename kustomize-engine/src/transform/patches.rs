//! The patch transformers: `patchesStrategicMerge`, `patches` (strategic merge or JSON 6902, with or
//! without a target selector) and `patchesJson6902`.

use std::path::Path;

use crate::error::Error;
use crate::kustomization::{Patch, Selector};
use crate::loader::Loader;
use crate::resid::{Gvk, ResId};
use crate::resmap::ResMap;
use crate::transform::merge::{self, Outcome};
use crate::transform::{jsonpatch, selector::CompiledSelector};
use crate::yaml::{self, Value};

/// A loaded patch: where it came from (for messages) and its documents.
struct LoadedPatch {
    origin: String,
    documents: Vec<Value>,
}

/// Loads an inline patch or the file its `path` names (`field` says where, for messages).
fn load_patch(
    loader: &Loader,
    kustomization_path: &Path,
    field: &str,
    patch: &Patch,
) -> Result<LoadedPatch, Error> {
    let (origin, text) = match (&patch.path, &patch.patch) {
        (Some(path), None) => {
            let (resolved, text) = loader.read_text(field, path)?;
            (resolved.display().to_string(), text)
        }
        (None, Some(inline)) => (
            format!("inline patch in {}", kustomization_path.display()),
            inline.clone(),
        ),
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                kustomization_path,
                "a patch must set either 'path' or 'patch', not both",
            ));
        }
        (None, None) => {
            return Err(Error::invalid(
                kustomization_path,
                "a patch must set either 'path' or 'patch'",
            ));
        }
    };
    let documents: Vec<Value> = yaml::parse_documents(&text)
        .map_err(|message| Error::build(origin.clone(), message))?
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    if documents.is_empty() {
        return Err(Error::build(
            origin,
            "patch is empty: it qualifies as neither a strategic merge patch nor a JSON patch",
        ));
    }
    Ok(LoadedPatch { origin, documents })
}

/// `patchesStrategicMerge`: each entry is a file path or an inline patch; patches find their target
/// by the id written in them.
pub fn apply_strategic_merge_entries(
    loader: &Loader,
    kustomization_path: &Path,
    entries: &[String],
    resources: &mut ResMap,
    schema: Option<&Value>,
) -> Result<(), Error> {
    const FIELD: &str = "patchesStrategicMerge";
    for entry in entries {
        let is_file =
            !entry.contains('\n') && loader.resolve(FIELD, entry).is_ok_and(|p| p.is_file());
        let patch = if is_file {
            Patch {
                path: Some(entry.clone()),
                ..Patch::default()
            }
        } else {
            Patch {
                patch: Some(entry.clone()),
                ..Patch::default()
            }
        };
        if !is_file && !entry.contains('\n') && !entry.trim_start().starts_with('{') {
            // A single-line entry that is not a file is a missing file, not an inline patch.
            loader.read_text(FIELD, entry)?;
        }
        let loaded = load_patch(loader, kustomization_path, FIELD, &patch)?;
        for document in &loaded.documents {
            apply_smp_by_id(resources, document, &loaded.origin, schema)?;
        }
    }
    Ok(())
}

/// `patches`: strategic merge or JSON 6902, applied to a target selection or found by id. `field`
/// names where the patches are written, for messages.
pub fn apply_patches(
    loader: &Loader,
    kustomization_path: &Path,
    field: &str,
    patches: &[Patch],
    resources: &mut ResMap,
    schema: Option<&Value>,
) -> Result<(), Error> {
    for patch in patches {
        let loaded = load_patch(loader, kustomization_path, field, patch)?;
        let is_json = loaded.documents.len() == 1 && matches!(loaded.documents[0], Value::Seq(_));
        match (&patch.target, is_json) {
            (Some(target), true) => {
                apply_json_to_selection(
                    resources,
                    target,
                    &loaded,
                    AnnotationsDuringPatch::Present,
                )?;
            }
            (None, true) => {
                return Err(Error::build(
                    loaded.origin,
                    "a JSON 6902 patch needs a 'target'",
                ));
            }
            (Some(target), false) => {
                if loaded.documents.len() > 1 {
                    return Err(Error::build(
                        loaded.origin,
                        "a `patches` entry with a `target` may hold only one strategic merge patch",
                    ));
                }
                let selector = compile(target, &loaded.origin)?;
                let selected = select(resources, &selector);
                for document in &loaded.documents {
                    for &index in selected.iter().rev() {
                        apply_smp_to(
                            resources,
                            index,
                            document,
                            patch.options.allow_name_change,
                            &loaded.origin,
                            schema,
                        )?;
                    }
                }
            }
            (None, false) => {
                let deletions = loaded
                    .documents
                    .iter()
                    .filter(|d| d.str_at(&["$patch"]) == Some("delete"))
                    .count();
                if deletions > 1 {
                    // kustomize v5.5 crashes on this shape; refusing it keeps the outcome the same.
                    return Err(Error::build(
                        loaded.origin,
                        "a patch file may delete at most one object with `$patch: delete`",
                    ));
                }
                for document in &loaded.documents {
                    apply_smp_by_id(resources, document, &loaded.origin, schema)?;
                }
            }
        }
    }
    Ok(())
}

/// `patchesJson6902`: JSON patches with a target.
pub fn apply_json6902_entries(
    loader: &Loader,
    kustomization_path: &Path,
    patches: &[Patch],
    resources: &mut ResMap,
) -> Result<(), Error> {
    for patch in patches {
        let loaded = load_patch(loader, kustomization_path, "patchesJson6902 path", patch)?;
        let target = patch.target.as_ref().ok_or_else(|| {
            Error::invalid(
                kustomization_path,
                "a patchesJson6902 entry needs a 'target'",
            )
        })?;
        apply_json_to_selection(
            resources,
            target,
            &loaded,
            AnnotationsDuringPatch::AsWritten,
        )?;
    }
    Ok(())
}

fn compile(target: &Selector, origin: &str) -> Result<CompiledSelector, Error> {
    CompiledSelector::new(target).map_err(|message| Error::build(origin.to_string(), message))
}

fn select(resources: &ResMap, selector: &CompiledSelector) -> Vec<usize> {
    resources
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| selector.matches(r))
        .map(|(i, _)| i)
        .collect()
}

/// Whether `metadata.annotations` exists while a JSON patch runs. kustomize's `patches` records
/// each object's previous id in internal annotations before patching (removed again at the end),
/// so there a patch may add to `/metadata/annotations/...` of an object that has none; the
/// deprecated `patchesJson6902` does not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AnnotationsDuringPatch {
    Present,
    AsWritten,
}

fn apply_json_to_selection(
    resources: &mut ResMap,
    target: &Selector,
    loaded: &LoadedPatch,
    annotations: AnnotationsDuringPatch,
) -> Result<(), Error> {
    let selector = compile(target, &loaded.origin)?;
    let Value::Seq(operations) = &loaded.documents[0] else {
        return Err(Error::build(
            loaded.origin.clone(),
            "a JSON 6902 patch must be a list of operations",
        ));
    };
    for index in select(resources, &selector) {
        let resource = &mut resources.resources[index];
        let before = resource.cur_id();
        let mut value = resource.value.clone();
        if annotations == AnnotationsDuringPatch::Present {
            ensure_annotations_map(&mut value);
        }
        jsonpatch::apply(&mut value, operations).map_err(|message| {
            Error::build(
                loaded.origin.clone(),
                format!("applying to {before}: {message}"),
            )
        })?;
        if annotations == AnnotationsDuringPatch::Present {
            drop_empty_annotations(&mut value);
        }
        resource.value = value;
        // kustomize re-reads the patched object from JSON: no node is shared any more, and no
        // node is untagged.
        resource.forget_shared();
        resource.untyped_scalars.clear();
        if resource.cur_id() != before {
            resource.prev_ids.push(before);
        }
    }
    Ok(())
}

/// The id a strategic merge patch document names.
fn patch_id(document: &Value) -> ResId {
    ResId {
        gvk: Gvk::from_api_version(
            document.str_at(&["apiVersion"]).unwrap_or(""),
            document.str_at(&["kind"]).unwrap_or(""),
        ),
        name: document
            .str_at(&["metadata", "name"])
            .unwrap_or("")
            .to_string(),
        namespace: document
            .str_at(&["metadata", "namespace"])
            .unwrap_or("")
            .to_string(),
    }
}

fn apply_smp_by_id(
    resources: &mut ResMap,
    document: &Value,
    origin: &str,
    schema: Option<&Value>,
) -> Result<(), Error> {
    if !matches!(document, Value::Map(_)) {
        return Err(Error::build(
            origin.to_string(),
            "a strategic merge patch must be a mapping",
        ));
    }
    let id = patch_id(document);
    let matches = resources.matching_any_id(&id);
    match matches.as_slice() {
        [index] => apply_smp_to(resources, *index, document, false, origin, schema),
        [] => Err(Error::build(
            origin.to_string(),
            format!(
                "no resource matches strategic merge patch \"{id}\": failed to find unique target for patch"
            ),
        )),
        _ => Err(Error::build(
            origin.to_string(),
            format!(
                "multiple resources match strategic merge patch \"{id}\": failed to find unique target for patch"
            ),
        )),
    }
}

fn apply_smp_to(
    resources: &mut ResMap,
    index: usize,
    document: &Value,
    allow_name_change: bool,
    origin: &str,
    schema: Option<&Value>,
) -> Result<(), Error> {
    let resource = &mut resources.resources[index];
    resource.settle_untyped_scalars_as_strings();
    let before = resource.cur_id();
    let mut patch = document.clone();
    if let Some(map) = patch.as_map_mut() {
        // The patch is retargeted at the object: it never renames it or moves it unless allowed.
        let api_version = before.gvk.api_version();
        for (key, value) in [
            ("apiVersion", api_version),
            ("kind", before.gvk.kind.clone()),
        ] {
            if value.is_empty() {
                map.shift_remove(key);
            } else {
                map.insert(key.to_string(), Value::String(value));
            }
        }
        if let Some(metadata) = patch.ensure_map_path(&["metadata"]) {
            if !allow_name_change || !metadata.contains_key("name") {
                metadata.insert("name".to_string(), Value::String(before.name.clone()));
            }
            if before.namespace.is_empty() {
                metadata.shift_remove("namespace");
            } else {
                metadata.insert(
                    "namespace".to_string(),
                    Value::String(before.namespace.clone()),
                );
            }
        }
    } else {
        return Err(Error::build(
            origin.to_string(),
            "a strategic merge patch must be a mapping",
        ));
    }
    let outcome = merge::merge_object(&mut resource.value, &patch, &before.gvk, schema).map_err(
        |message| Error::build(origin.to_string(), format!("patching {before}: {message}")),
    )?;
    match outcome {
        Outcome::Delete => {
            resources.resources.remove(index);
        }
        Outcome::Keep => {
            // The merge writes into the object's nodes in place.
            resource.propagate_shared_writes();
            if resource.cur_id() != before {
                resource.prev_ids.push(before);
            }
        }
    }
    Ok(())
}

fn ensure_annotations_map(object: &mut Value) {
    if let Value::Map(root) = object
        && let Some(Value::Map(metadata)) = root.get_mut("metadata")
    {
        let annotations = metadata
            .entry("annotations".to_string())
            .or_insert(Value::Null);
        if !matches!(annotations, Value::Map(_)) {
            *annotations = Value::Map(Default::default());
        }
    }
}

/// kustomize removes its internal annotations after the build and, with them, a map left empty.
fn drop_empty_annotations(object: &mut Value) {
    if let Value::Map(root) = object
        && let Some(Value::Map(metadata)) = root.get_mut("metadata")
        && matches!(metadata.get("annotations"), Some(Value::Map(map)) if map.is_empty())
    {
        metadata.shift_remove("annotations");
    }
}
