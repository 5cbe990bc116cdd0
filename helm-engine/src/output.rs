//! Turning rendered files into what `helm template` prints: documents split and sorted by
//! file path, hooks separated, both stable-sorted in Helm v4's install order, CRDs first when
//! asked, each document under a `# Source:` line.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value as Json;

use crate::error::Error;
use crate::values::yaml_document_to_json;

/// Helm v4's `InstallOrder`; kinds not listed sort after these, alphabetically.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// One document of a rendered file.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The template path it came from (`chart/templates/x.yaml`).
    pub source: String,
    pub kind: String,
    pub content: String,
    /// Hook events (`pre-install`, …), empty for ordinary resources.
    pub hook_events: Vec<String>,
    pub hook_weight: i64,
}

#[allow(clippy::expect_used)] // a constant pattern
static SEPARATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^---[ \t]*").expect("valid separator pattern"));

/// Helm's `SplitManifests`: documents in order, leading whitespace trimmed, blank ones dropped.
pub fn split_manifests(text: &str) -> Vec<String> {
    let text = text.trim_start();
    SEPARATOR
        .split(text)
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim_start().to_string())
        .collect()
}

/// Sorts rendered files into ordinary manifests and hooks (Helm's `SortManifests`).
/// Documents with an unknown hook event are dropped, as Helm drops them.
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Manifest>, Vec<Manifest>), Error> {
    let mut manifests = Vec::new();
    let mut hooks = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for document in split_manifests(content) {
            let head = yaml_document_to_json(&document).map_err(|message| Error::ManifestYaml {
                path: path.clone(),
                message,
            })?;
            let kind = head
                .get("kind")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            let annotations = head
                .get("metadata")
                .and_then(|m| m.get("annotations"))
                .and_then(Json::as_object);
            check_annotations_are_strings(annotations).map_err(|message| Error::ManifestYaml {
                path: path.clone(),
                message,
            })?;
            let hook = annotations
                .and_then(|a| a.get("helm.sh/hook"))
                .and_then(Json::as_str);
            let mut manifest = Manifest {
                source: path.clone(),
                kind,
                content: document,
                hook_events: Vec::new(),
                hook_weight: 0,
            };
            let Some(hook) = hook else {
                manifests.push(manifest);
                continue;
            };
            let events: Vec<String> = hook.split(',').map(|e| e.trim().to_lowercase()).collect();
            if events.iter().any(|e| !HOOK_EVENTS.contains(&e.as_str())) {
                continue;
            }
            manifest.hook_events = events;
            manifest.hook_weight = annotations
                .and_then(|a| a.get("helm.sh/hook-weight"))
                .and_then(Json::as_str)
                .and_then(|w| w.parse().ok())
                .unwrap_or(0);
            hooks.push(manifest);
        }
    }
    sort_by_kind(&mut manifests);
    sort_by_kind(&mut hooks);
    Ok((manifests, hooks))
}

/// Helm reads each document's head into a struct whose annotations are `map[string]string`, so
/// a non-string annotation value fails the render (found by the random differential test).
fn check_annotations_are_strings(
    annotations: Option<&serde_json::Map<String, Json>>,
) -> Result<(), String> {
    let Some(bad) = annotations
        .into_iter()
        .flat_map(|a| a.values())
        .find(|v| !matches!(v, Json::String(_) | Json::Null))
    else {
        return Ok(());
    };
    let go_type = match bad {
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::Array(_) => "array",
        _ => "object",
    };
    Err(format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {go_type} into Go \
         struct field .metadata.annotations of type map[string]string"
    ))
}

fn sort_by_kind(manifests: &mut [Manifest]) {
    let rank = |kind: &str| INSTALL_ORDER.iter().position(|k| *k == kind);
    manifests.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
}

/// `helm template`'s stdout for the sorted documents.
pub fn print_template_output(
    crds: &[(String, String)],
    manifests: &[Manifest],
    hooks: &[Manifest],
    skip_tests: bool,
) -> String {
    let mut body = String::new();
    for (name, text) in crds {
        body.push_str(&format!("---\n# Source: {name}\n{text}\n"));
    }
    for m in manifests {
        body.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.content));
    }
    let mut out = format!("{}\n", body.trim());
    for hook in hooks {
        let is_test = hook
            .hook_events
            .iter()
            .any(|e| e == "test" || e == "test-success");
        if skip_tests && is_test {
            continue;
        }
        out.push_str(&format!(
            "---\n# Source: {}\n{}\n",
            hook.source, hook.content
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_string_annotation_fails_as_in_helm() {
        // Found by cli/tests/helm_random.rs: `podAnnotations: {x: true}` fails in Helm.
        let files = BTreeMap::from([(
            "c/templates/sa.yaml".to_string(),
            "kind: ServiceAccount\nmetadata:\n  annotations:\n    a: \"s\"\n    b: true\n"
                .to_string(),
        )]);
        let error = sort_manifests(&files).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "YAML parse error on c/templates/sa.yaml: error unmarshaling JSON: while decoding \
                 JSON: json: cannot unmarshal bool into Go struct field .metadata.annotations of \
                 type map[string]string"
            )
        );
        let fine = BTreeMap::from([(
            "c/templates/sa.yaml".to_string(),
            "kind: ServiceAccount\nmetadata:\n  annotations:\n    a: \"true\"\n    b: null\n"
                .to_string(),
        )]);
        assert!(sort_manifests(&fine).is_ok());
    }

    #[test]
    fn split_keeps_trailing_text_and_drops_empty_documents() {
        // Helm v4.3: `---` at the start of a line; the text before it keeps its newline.
        let docs = split_manifests("\n---\na: 1\n  \n---\n# only a comment\n---  \n\n---\nb: 2\n");
        assert_eq!(docs, vec!["a: 1\n  \n", "# only a comment\n", "b: 2\n"]);
    }

    #[test]
    fn hooks_are_separated_and_kinds_ordered() {
        let mut files = BTreeMap::new();
        files.insert(
            "c/templates/a.yaml".to_string(),
            "kind: Service\n---\nkind: Secret\n---\nkind: Zebra\n---\nkind: Apple\n".to_string(),
        );
        files.insert(
            "c/templates/h.yaml".to_string(),
            "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n---\nkind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: nonsense\n".to_string(),
        );
        let (manifests, hooks) = sort_manifests(&files).unwrap();
        let kinds: Vec<&str> = manifests.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["Secret", "Service", "Apple", "Zebra"]);
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].hook_events, ["pre-install"]);
    }
}
