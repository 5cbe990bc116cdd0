//! From `eddy_helm`'s rendered documents to a release's `manifest` and `hooks`, as Helm records
//! them on install and upgrade.

use serde_json::Map;

use crate::release::Hook;

/// Helm's `manifest`: every non-hook document in install order, each as
/// `---\n# Source: <template>\n<document>\n`.
pub fn release_manifest(manifests: &[eddy_helm::Manifest]) -> String {
    let mut out = String::new();
    for m in manifests {
        out.push_str("---\n# Source: ");
        out.push_str(&m.source);
        out.push('\n');
        out.push_str(&m.content);
        out.push('\n');
    }
    out
}

impl Hook {
    /// The hook record of a rendered hook document (not run yet): name and kind from the
    /// document, events and weight as `eddy_helm` sorted them, delete and output-log policies from
    /// the `helm.sh/hook-delete-policy` and `helm.sh/hook-output-log-policy` annotations.
    pub fn from_rendered(manifest: &eddy_helm::Manifest) -> Hook {
        let head: serde_json::Value =
            serde_yaml_ng::from_str(&manifest.content).unwrap_or_default();
        let metadata = head.get("metadata");
        let annotation = |key: &str| -> Vec<String> {
            metadata
                .and_then(|m| m.get("annotations"))
                .and_then(|a| a.get(key))
                .and_then(|v| v.as_str())
                .map(|v| {
                    v.split(',')
                        .map(|p| p.trim().to_owned())
                        .filter(|p| !p.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        Hook {
            name: metadata
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_owned(),
            kind: manifest.kind.clone(),
            path: manifest.source.clone(),
            manifest: manifest.content.clone(),
            events: manifest.hook_events.clone(),
            last_run: Default::default(),
            weight: manifest.hook_weight,
            delete_policies: annotation("helm.sh/hook-delete-policy"),
            output_log_policies: annotation("helm.sh/hook-output-log-policy"),
            extra: Map::new(),
        }
    }
}
