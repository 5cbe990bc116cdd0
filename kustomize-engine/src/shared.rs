//! Label and annotation values that kustomize shares between several places of one object.
//!
//! kustomize's label and annotation transformers build one YAML scalar node per (object, key) and
//! insert that very node into every field they create the key in (`metadata.labels`, selectors,
//! pod-template labels, ...). Later in-place writes to any one of those places — another `labels`
//! entry that only targets `metadata.labels`, a strategic merge patch, a replacement — overwrite the
//! node's content and therefore show up in every place. A JSON 6902 patch re-reads the whole object
//! from JSON, which gives every place its own node again. Places where the key already existed get
//! a copy of the value, not the shared node.
//!
//! The engine keeps plain owned values, so it records each shared node as a [`SharedScalar`]: the
//! value last written through it and the paths where it sits. After an in-place edit,
//! [`Resource::propagate_shared_writes`] copies a changed place's new value to the others.

use crate::fieldspec::{FieldSpec, visit_specs_with_paths};
use crate::resource::Resource;
use crate::yaml::{Mapping, Value};

/// One step of a concrete path inside an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// A scalar that sits at several places of one object and changes at all of them together.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedScalar {
    /// The content last written through any of the places.
    value: Value,
    places: Vec<Vec<PathStep>>,
}

fn value_at<'a>(root: &'a Value, path: &[PathStep]) -> Option<&'a Value> {
    path.iter().try_fold(root, |node, step| match (step, node) {
        (PathStep::Key(key), Value::Map(map)) => map.get(key),
        (PathStep::Index(index), Value::Seq(items)) => items.get(*index),
        _ => None,
    })
}

fn value_at_mut<'a>(root: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    path.iter().try_fold(root, |node, step| match (step, node) {
        (PathStep::Key(key), Value::Map(map)) => map.get_mut(key),
        (PathStep::Index(index), Value::Seq(items)) => items.get_mut(*index),
        _ => None,
    })
}

impl Resource {
    /// Copies an in-place write at one place of a shared scalar to its other places.
    ///
    /// A place whose value differs from the recorded one was written since the last call; the last
    /// such place (in the order the places were created) wins, as the last write to the node would.
    /// Places that no longer exist (a patch deleted the key) leave the group.
    pub fn propagate_shared_writes(&mut self) {
        if self.shared.is_empty() {
            return;
        }
        let mut groups = std::mem::take(&mut self.shared);
        for group in &mut groups {
            group
                .places
                .retain(|path| value_at(&self.value, path).is_some());
            let written = group
                .places
                .iter()
                .filter_map(|path| value_at(&self.value, path))
                .rfind(|current| **current != group.value)
                .cloned();
            let Some(written) = written else {
                continue;
            };
            for path in &group.places {
                if let Some(place) = value_at_mut(&mut self.value, path) {
                    *place = written.clone();
                }
            }
            group.value = written;
        }
        groups.retain(|group| group.places.len() > 1);
        self.shared = groups;
    }

    /// Forgets all sharing: the object was rebuilt from scratch (as a JSON 6902 patch does).
    pub fn forget_shared(&mut self) {
        self.shared.clear();
    }
}

/// Sets `pairs` in every mapping that `specs` reach inside `resource`, the way kustomize's label and
/// annotation transformers do: an existing key is overwritten in place (and the write reaches every
/// place sharing that node), a missing key gets one new node per key shared by all places it is
/// created in.
pub fn set_entries(
    resource: &mut Resource,
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<(), String> {
    let gvk = resource.gvk();
    let mut created: Vec<Vec<Vec<PathStep>>> = vec![Vec::new(); pairs.len()];
    visit_specs_with_paths(&mut resource.value, &gvk, specs, &mut |field, path| {
        if field.is_null() {
            *field = Value::Map(Mapping::new());
        }
        if let Value::Map(map) = field {
            for (index, (key, value)) in pairs.iter().enumerate() {
                let existed = map
                    .insert(key.clone(), Value::String(value.clone()))
                    .is_some();
                if !existed {
                    let mut place = path.to_vec();
                    place.push(PathStep::Key(key.clone()));
                    created[index].push(place);
                }
            }
        }
        Ok(())
    })?;
    resource.propagate_shared_writes();
    for ((_, value), places) in pairs.iter().zip(created) {
        if places.len() > 1 {
            resource.shared.push(SharedScalar {
                value: Value::String(value.clone()),
                places,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::yaml::parse::parse_documents;

    fn deployment() -> Resource {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector:\n    matchLabels:\n      app: a\n  template:\n    metadata:\n      labels:\n        app: a\n";
        Resource::new(parse_documents(text).unwrap().remove(0))
    }

    fn specs(paths: &[&str]) -> Vec<FieldSpec> {
        paths
            .iter()
            .map(|path| FieldSpec::new("", path, !path.contains("selector")))
            .collect()
    }

    fn team(resource: &Resource, path: &[&str]) -> String {
        resource.value.str_at(path).unwrap().to_string()
    }

    const EVERYWHERE: [&str; 3] = [
        "metadata/labels",
        "spec/selector/matchLabels",
        "spec/template/metadata/labels",
    ];

    #[test]
    fn a_later_write_to_one_place_reaches_every_place_the_key_was_created_in() {
        let mut resource = deployment();
        let pairs = [("team".to_string(), "db".to_string())];
        set_entries(&mut resource, &pairs, &specs(&EVERYWHERE)).unwrap();
        let pairs = [("team".to_string(), "web".to_string())];
        set_entries(&mut resource, &pairs, &specs(&["metadata/labels"])).unwrap();
        for path in [
            &["metadata", "labels", "team"][..],
            &["spec", "selector", "matchLabels", "team"],
            &["spec", "template", "metadata", "labels", "team"],
        ] {
            assert_eq!(team(&resource, path), "web", "{path:?}");
        }
    }

    #[test]
    fn a_key_that_already_existed_gets_a_copy_not_the_shared_node() {
        let mut resource = deployment();
        // `app` exists everywhere: overwriting it shares nothing.
        let pairs = [("app".to_string(), "b".to_string())];
        set_entries(&mut resource, &pairs, &specs(&EVERYWHERE)).unwrap();
        let pairs = [("app".to_string(), "c".to_string())];
        set_entries(&mut resource, &pairs, &specs(&["metadata/labels"])).unwrap();
        assert_eq!(team(&resource, &["metadata", "labels", "app"]), "c");
        assert_eq!(
            team(&resource, &["spec", "selector", "matchLabels", "app"]),
            "b"
        );
    }

    #[test]
    fn forgetting_the_sharing_keeps_later_writes_local() {
        let mut resource = deployment();
        let pairs = [("team".to_string(), "db".to_string())];
        set_entries(&mut resource, &pairs, &specs(&EVERYWHERE)).unwrap();
        resource.forget_shared();
        let pairs = [("team".to_string(), "web".to_string())];
        set_entries(&mut resource, &pairs, &specs(&["metadata/labels"])).unwrap();
        assert_eq!(
            team(&resource, &["spec", "selector", "matchLabels", "team"]),
            "db"
        );
    }

    #[test]
    fn a_deleted_place_leaves_the_group_and_the_others_still_follow() {
        let mut resource = deployment();
        let pairs = [("team".to_string(), "db".to_string())];
        set_entries(&mut resource, &pairs, &specs(&EVERYWHERE)).unwrap();
        if let Some(Value::Map(labels)) = resource
            .value
            .get_path_mut(&["spec", "template", "metadata", "labels"])
        {
            labels.shift_remove("team");
        }
        resource.propagate_shared_writes();
        if let Some(place) = resource.value.get_path_mut(&["metadata", "labels", "team"]) {
            *place = Value::Int(5);
        }
        resource.propagate_shared_writes();
        assert_eq!(
            resource
                .value
                .get_path(&["spec", "selector", "matchLabels", "team"]),
            Some(&Value::Int(5))
        );
        assert!(
            resource
                .value
                .get_path(&["spec", "template", "metadata", "labels", "team"])
                .is_none()
        );
    }
}
