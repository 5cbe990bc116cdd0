//! Which stage an object is applied in: cluster definitions first (so what depends on them can be
//! validated and created), then `*Class` kinds, then custom stage kinds, then everything else.

use crate::inventory::{ObjectId, apply_order};

/// Apply stages in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// CRDs, Namespaces and ClusterRoles; waited on until established/active.
    Definitions,
    /// Kinds ending in `Class`.
    Classes,
    /// `--custom-apply-stage-kinds`.
    Custom,
    Rest,
}

pub fn stage_of(id: &ObjectId, custom_kinds: &[String]) -> Stage {
    match id.kind.as_str() {
        "CustomResourceDefinition" | "Namespace" | "ClusterRole" => Stage::Definitions,
        kind if kind.ends_with("Class") => Stage::Classes,
        kind if custom_kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)) => Stage::Custom,
        _ => Stage::Rest,
    }
}

/// Indexes of `ids` grouped by stage (in stage order), each group in apply order.
pub fn plan(ids: &[ObjectId], custom_kinds: &[String]) -> Vec<(Stage, Vec<usize>)> {
    let mut indexes: Vec<usize> = (0..ids.len()).collect();
    indexes.sort_by(|&a, &b| {
        stage_of(&ids[a], custom_kinds)
            .cmp(&stage_of(&ids[b], custom_kinds))
            .then_with(|| apply_order(&ids[a], &ids[b]))
    });
    let mut stages: Vec<(Stage, Vec<usize>)> = Vec::new();
    for index in indexes {
        let stage = stage_of(&ids[index], custom_kinds);
        match stages.last_mut() {
            Some((last, group)) if *last == stage => group.push(index),
            _ => stages.push((stage, vec![index])),
        }
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(api_version: &str, kind: &str, name: &str) -> ObjectId {
        ObjectId::of(&json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}))
    }

    #[test]
    fn definitions_come_first() {
        let ids = [
            id("apps/v1", "Deployment", "d"),
            id("example.com/v1", "Widget", "w"),
            id(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "widgets.example.com",
            ),
            id("storage.k8s.io/v1", "StorageClass", "fast"),
            id("v1", "Namespace", "ns"),
        ];
        let stages = plan(&ids, &[]);
        assert_eq!(stages[0], (Stage::Definitions, vec![2, 4]));
        assert_eq!(stages[1], (Stage::Classes, vec![3]));
        assert_eq!(stages[2], (Stage::Rest, vec![0, 1]));
        assert_eq!(stage_of(&ids[1], &["widget".into()]), Stage::Custom);
    }
}
