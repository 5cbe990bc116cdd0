//! Output ordering: kustomize's "legacy" kind order (the CLI default) or input order (`fifo`).

use crate::kustomization::SortOptions;
use crate::resmap::ResMap;
use crate::resource::Resource;

const DEFAULT_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

const DEFAULT_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

pub enum SortOrder {
    Fifo,
    Legacy {
        first: Vec<String>,
        last: Vec<String>,
    },
}

impl SortOrder {
    /// The order for a build: the root kustomization's `sortOptions` when present, otherwise legacy
    /// order (`default_legacy`, kubectl) or input order (the API default, what Flux uses).
    pub fn from_options(
        options: Option<&SortOptions>,
        default_legacy_order: bool,
    ) -> Result<SortOrder, String> {
        let default_legacy = || SortOrder::Legacy {
            first: DEFAULT_FIRST.iter().map(|s| s.to_string()).collect(),
            last: DEFAULT_LAST.iter().map(|s| s.to_string()).collect(),
        };
        let Some(options) = options else {
            return Ok(if default_legacy_order {
                default_legacy()
            } else {
                SortOrder::Fifo
            });
        };
        match options.order.as_deref() {
            Some("fifo") => {
                if options.legacy_sort_options.is_some() {
                    return Err(
                        "legacySortOptions may only be set when order is 'legacy'".to_string()
                    );
                }
                Ok(SortOrder::Fifo)
            }
            Some("legacy") => match &options.legacy_sort_options {
                Some(legacy) => Ok(SortOrder::Legacy {
                    first: legacy.order_first.clone(),
                    last: legacy.order_last.clone(),
                }),
                None => Ok(default_legacy()),
            },
            other => Err(format!(
                "sortOptions.order must be 'legacy' or 'fifo', found {other:?}"
            )),
        }
    }

    pub fn apply(&self, resources: &mut ResMap) {
        let SortOrder::Legacy { first, last } = self else {
            return;
        };
        let rank = |resource: &Resource| -> i64 {
            let kind = resource.kind();
            if let Some(index) = first.iter().position(|k| k == kind) {
                return index as i64 - first.len() as i64;
            }
            if let Some(index) = last.iter().position(|k| k == kind) {
                return index as i64 + 1;
            }
            0
        };
        let key = |resource: &Resource| {
            let id = resource.cur_id();
            let or = |s: &str, missing: &str| {
                if s.is_empty() {
                    missing.to_string()
                } else {
                    s.to_string()
                }
            };
            let gvk_text = format!(
                "{}_{}_{}",
                or(&id.gvk.group, "~G"),
                or(&id.gvk.version, "~V"),
                or(&id.gvk.kind, "~K")
            );
            let id_text = format!(
                "{gvk_text}|{}|{}",
                or(&id.namespace, "~X"),
                or(&id.name, "~N")
            );
            (rank(resource), gvk_text, id_text)
        };
        resources.resources.sort_by_cached_key(key);
    }
}
