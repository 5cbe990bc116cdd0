//! A Kubernetes object being built, with the bookkeeping kustomize keeps beside it (previous ids after
//! renames, applied name prefixes/suffixes, generator behaviour and hashing).

use std::path::PathBuf;

use crate::resid::{Gvk, ResId};
use crate::shared::SharedScalar;
use crate::yaml::{Mapping, Value};

/// What a generated object does when one with the same id already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GeneratorBehavior {
    #[default]
    Create,
    Merge,
    Replace,
}

/// Where an object came from, for `buildMetadata: [originAnnotations]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Read from this file.
    File(PathBuf),
    /// Made by a generator configured in this file.
    Generator {
        configured_in: PathBuf,
        kind: String,
        name: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Resource {
    /// The object itself.
    pub value: Value,
    /// Ids the object had before each rename, oldest first (kustomize's "previous names").
    pub prev_ids: Vec<ResId>,
    /// Name prefixes and suffixes applied so far, used to tell apart same-named objects.
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// The object was generated and still needs its content-hash name suffix.
    pub needs_hash: bool,
    pub behavior: GeneratorBehavior,
    pub generated: bool,
    pub origin: Option<Origin>,
    /// Names of the (deprecated) vars bound to this object.
    pub var_names: Vec<String>,
    /// Builtin transformers that processed the object: (kustomization file, transformer kind).
    pub transformations: Vec<(PathBuf, String)>,
    /// Label/annotation values kustomize shares between places of this object (see `shared`).
    pub shared: Vec<SharedScalar>,
    /// Fields a delimited replacement wrote as an untagged node (path, text): printed as the plain
    /// scalar they read as (`1.2` a number) until a strategic merge patch touches the object, after
    /// which kustomize prints them as strings. A JSON patch fixes them as they read.
    pub untyped_scalars: Vec<(Vec<String>, String)>,
}

impl Resource {
    pub fn new(mut value: Value) -> Resource {
        stringify_metadata_values(&mut value);
        Resource {
            value,
            prev_ids: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
            behavior: GeneratorBehavior::Create,
            generated: false,
            origin: None,
            var_names: Vec::new(),
            transformations: Vec::new(),
            shared: Vec::new(),
            untyped_scalars: Vec::new(),
        }
    }

    /// Turns the fields in [`Resource::untyped_scalars`] that still hold a non-string scalar into
    /// strings of their text, as a strategic merge patch leaves them, and forgets them.
    pub fn settle_untyped_scalars_as_strings(&mut self) {
        for (path, text) in std::mem::take(&mut self.untyped_scalars) {
            let mut node = Some(&mut self.value);
            for segment in &path {
                node = match node {
                    Some(Value::Map(map)) => map.get_mut(segment.as_str()),
                    Some(Value::Seq(items)) => segment
                        .parse::<usize>()
                        .ok()
                        .and_then(|index| items.get_mut(index)),
                    _ => None,
                };
            }
            if let Some(field) = node
                && matches!(
                    field,
                    Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null
                )
            {
                *field = Value::String(text);
            }
        }
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(
            self.value.str_at(&["apiVersion"]).unwrap_or(""),
            self.value.str_at(&["kind"]).unwrap_or(""),
        )
    }

    pub fn kind(&self) -> &str {
        self.value.str_at(&["kind"]).unwrap_or("")
    }

    /// `metadata.name` as text (kustomize accepts a number there and treats it as its digits).
    pub fn name(&self) -> String {
        self.metadata_text("name")
    }

    pub fn namespace(&self) -> String {
        self.metadata_text("namespace")
    }

    fn metadata_text(&self, field: &str) -> String {
        self.value
            .get_path(&["metadata", field])
            .and_then(Value::scalar_text)
            .unwrap_or_default()
    }

    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name(),
            namespace: self.namespace(),
        }
    }

    /// The id the object had when it was first loaded or generated.
    pub fn org_id(&self) -> ResId {
        self.prev_ids
            .first()
            .cloned()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Current id followed by every previous id.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut ids = vec![self.cur_id()];
        ids.extend(self.prev_ids.iter().cloned());
        ids
    }

    /// Records the current id as a previous one, before a transformer renames the object.
    pub fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.prev_ids.push(id);
    }

    fn metadata_mut(&mut self) -> Option<&mut Mapping> {
        self.value.ensure_map_path(&["metadata"])
    }

    pub fn set_name(&mut self, name: &str) {
        if let Some(metadata) = self.metadata_mut() {
            metadata.insert("name".to_string(), Value::String(name.to_string()));
        }
    }

    pub fn set_namespace(&mut self, namespace: &str) {
        if let Some(metadata) = self.metadata_mut() {
            metadata.insert(
                "namespace".to_string(),
                Value::String(namespace.to_string()),
            );
        }
    }

    /// `metadata.labels` as text pairs.
    pub fn labels(&self) -> Vec<(String, String)> {
        string_pairs(self.value.get_path(&["metadata", "labels"]))
    }

    pub fn annotations(&self) -> Vec<(String, String)> {
        string_pairs(self.value.get_path(&["metadata", "annotations"]))
    }

    pub fn annotation(&self, key: &str) -> Option<String> {
        self.value
            .get_path(&["metadata", "annotations", key])
            .and_then(Value::scalar_text)
    }

    /// Drops `metadata.annotations` when it is an empty map or null (kustomize's internal
    /// annotations were written into it and removed again).
    pub fn remove_empty_annotations(&mut self) {
        let empty = match self.value.get_path_mut(&["metadata", "annotations"]) {
            Some(Value::Map(annotations)) => annotations.is_empty(),
            Some(Value::Null) => true,
            _ => false,
        };
        if empty && let Some(Value::Map(metadata)) = self.value.get_mut("metadata") {
            metadata.shift_remove("annotations");
        }
    }

    pub fn remove_annotation(&mut self, key: &str) {
        if let Some(Value::Map(annotations)) = self.value.get_path_mut(&["metadata", "annotations"])
        {
            annotations.shift_remove(key);
            if annotations.is_empty()
                && let Some(Value::Map(metadata)) = self.value.get_mut("metadata")
            {
                metadata.shift_remove("annotations");
            }
        }
    }
}

fn string_pairs(value: Option<&Value>) -> Vec<(String, String)> {
    match value {
        Some(Value::Map(map)) => map
            .iter()
            .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_default()))
            .collect(),
        _ => Vec::new(),
    }
}

/// kustomize rewrites every object's annotations as strings before printing (`true` and `8080`
/// become `"true"` and `"8080"`); labels keep their type. The parser already keeps the text of
/// plain annotation values; this covers objects built in memory.
fn stringify_metadata_values(value: &mut Value) {
    for field in ["annotations"] {
        if let Some(Value::Map(map)) = value.get_path_mut(&["metadata", field]) {
            for (_, entry) in map.iter_mut() {
                if !matches!(entry, Value::String(_))
                    && let Some(text) = entry.scalar_text()
                {
                    *entry = Value::String(text);
                }
            }
        }
    }
}
