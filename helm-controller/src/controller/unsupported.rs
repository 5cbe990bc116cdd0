//! The HelmRelease fields Eddy accepts but cannot act on yet.
//!
//! A field the reconciler ignored would release something other than what the user asked (a
//! `kubeConfig` would install a remote cluster's release into the local one), so a HelmRelease
//! setting one is refused before anything is read or applied: `Stalled=True`, `Ready=False`,
//! reason `NotSupported`, a message naming every such field, and no retry until the spec changes.

use eddy_api::helm::helmrelease::{
    ActionStrategyName, DeletionPropagation, DriftDetectionMode, HelmReleaseSpec,
    RemediationStrategy, ServerSideApplyMode, WaitStrategyName,
};
use eddy_runtime::unsupported::NOT_SUPPORTED;

fn set(flag: Option<bool>) -> bool {
    flag == Some(true)
}

/// Every field of `spec` that is set to something Eddy does not do yet, in spec order.
pub fn unsupported_fields(spec: &HelmReleaseSpec) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut refuse = |condition: bool, path: &'static str| {
        if condition {
            fields.push(path);
        }
    };
    refuse(spec.kube_config.is_some(), "spec.kubeConfig");
    refuse(
        spec.depends_on.as_ref().is_some_and(|d| !d.is_empty()),
        "spec.dependsOn",
    );
    refuse(
        spec.service_account_name
            .as_deref()
            .is_some_and(|s| !s.is_empty()),
        "spec.serviceAccountName",
    );
    refuse(
        spec.drift_detection
            .as_ref()
            .and_then(|d| d.mode)
            .is_some_and(|m| m != DriftDetectionMode::Disabled),
        "spec.driftDetection.mode",
    );
    if let Some(install) = &spec.install {
        refuse(
            install
                .strategy
                .as_ref()
                .is_some_and(|s| s.name == ActionStrategyName::RetryOnFailure),
            "spec.install.strategy",
        );
        refuse(
            set(install.disable_take_ownership),
            "spec.install.disableTakeOwnership",
        );
        refuse(set(install.replace), "spec.install.replace");
        refuse(
            install.server_side_apply == Some(false),
            "spec.install.serverSideApply",
        );
    }
    if let Some(upgrade) = &spec.upgrade {
        refuse(
            upgrade
                .strategy
                .as_ref()
                .is_some_and(|s| s.name == ActionStrategyName::RetryOnFailure),
            "spec.upgrade.strategy",
        );
        refuse(
            upgrade
                .remediation
                .as_ref()
                .and_then(|r| r.strategy)
                .is_some_and(|s| s == RemediationStrategy::Uninstall),
            "spec.upgrade.remediation.strategy",
        );
        refuse(
            set(upgrade.disable_take_ownership),
            "spec.upgrade.disableTakeOwnership",
        );
        refuse(set(upgrade.force), "spec.upgrade.force");
        refuse(set(upgrade.preserve_values), "spec.upgrade.preserveValues");
        refuse(set(upgrade.cleanup_on_fail), "spec.upgrade.cleanupOnFail");
        refuse(
            upgrade.server_side_apply == Some(ServerSideApplyMode::Disabled),
            "spec.upgrade.serverSideApply",
        );
    }
    refuse(
        spec.test.as_ref().is_some_and(|t| set(t.enable)),
        "spec.test.enable",
    );
    if let Some(rollback) = &spec.rollback {
        refuse(set(rollback.force), "spec.rollback.force");
        refuse(set(rollback.cleanup_on_fail), "spec.rollback.cleanupOnFail");
        refuse(
            rollback.server_side_apply == Some(ServerSideApplyMode::Disabled),
            "spec.rollback.serverSideApply",
        );
    }
    if let Some(uninstall) = &spec.uninstall {
        refuse(set(uninstall.keep_history), "spec.uninstall.keepHistory");
        refuse(
            uninstall
                .deletion_propagation
                .is_some_and(|p| p != DeletionPropagation::Background),
            "spec.uninstall.deletionPropagation",
        );
    }
    refuse(
        spec.common_metadata
            .as_ref()
            .is_some_and(|m| m.labels.is_some() || m.annotations.is_some()),
        "spec.commonMetadata",
    );
    refuse(
        spec.post_renderers.as_ref().is_some_and(|p| !p.is_empty()),
        "spec.postRenderers",
    );
    refuse(
        spec.wait_strategy
            .as_ref()
            .is_some_and(|w| w.name == WaitStrategyName::Legacy),
        "spec.waitStrategy",
    );
    refuse(
        spec.health_check_exprs
            .as_ref()
            .is_some_and(|e| !e.is_empty()),
        "spec.healthCheckExprs",
    );
    fields
}

/// The reason and message a HelmRelease setting `fields` is stalled with, or `None`.
pub fn refusal(fields: &[&str]) -> Option<(&'static str, String)> {
    if fields.is_empty() {
        return None;
    }
    let message = fields
        .iter()
        .map(|field| format!("{field} is not supported yet"))
        .collect::<Vec<_>>()
        .join("; ");
    Some((NOT_SUPPORTED, message))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::*;

    fn spec(extra: Value) -> HelmReleaseSpec {
        let mut object = json!({"interval": "5m", "chartRef": {"kind": "HelmChart", "name": "c"}});
        if let (Some(target), Some(extra)) = (object.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        serde_json::from_value(object).unwrap()
    }

    #[test]
    fn what_the_slice_implements_is_accepted() {
        let accepted = spec(json!({
            "releaseName": "r", "targetNamespace": "t", "storageNamespace": "s",
            "timeout": "1m", "maxHistory": 3, "suspend": false, "persistentClient": true,
            "install": {"crds": "Create", "createNamespace": true, "disableWait": true,
                        "disableHooks": true, "remediation": {"retries": 2}, "serverSideApply": true},
            "upgrade": {"crds": "Skip", "remediation": {"retries": 1, "strategy": "rollback"},
                        "serverSideApply": "auto"},
            "rollback": {"timeout": "1m"},
            "uninstall": {"timeout": "1m", "deletionPropagation": "background"},
            "driftDetection": {"mode": "disabled"},
            "test": {"enable": false},
            "waitStrategy": {"name": "poller"},
            "values": {"a": 1},
            "valuesFrom": [{"kind": "ConfigMap", "name": "v"}],
        }));
        assert_eq!(unsupported_fields(&accepted), Vec::<&str>::new());
    }

    #[test]
    fn every_refused_field_is_named() {
        let refused = spec(json!({
            "kubeConfig": {"secretRef": {"name": "k"}},
            "serviceAccountName": "sa",
            "driftDetection": {"mode": "warn"},
            "test": {"enable": true},
            "postRenderers": [{"kustomize": {"images": [{"name": "a", "newTag": "b"}]}}],
            "commonMetadata": {"labels": {"a": "b"}},
            "upgrade": {"force": true},
        }));
        let fields = unsupported_fields(&refused);
        assert_eq!(
            fields,
            [
                "spec.kubeConfig",
                "spec.serviceAccountName",
                "spec.driftDetection.mode",
                "spec.upgrade.force",
                "spec.test.enable",
                "spec.commonMetadata",
                "spec.postRenderers",
            ]
        );
        let (reason, message) = refusal(&fields).unwrap();
        assert_eq!(reason, "NotSupported");
        assert!(
            message.starts_with("spec.kubeConfig is not supported yet; spec.serviceAccountName")
        );
    }

    /// Every property of the stored spec schema with a value that uses it, and what Eddy does
    /// with it: `None` when it acts on it, otherwise the path it refuses. A field added to the
    /// API without a decision here fails the coverage test below.
    fn table() -> Vec<(&'static str, Value, Option<&'static str>)> {
        vec![
            (
                "chart",
                json!({"spec": {"chart": "a", "sourceRef": {"kind": "HelmRepository", "name": "r"}}}),
                None,
            ),
            (
                "chartRef",
                json!({"kind": "OCIRepository", "name": "o"}),
                None,
            ),
            ("interval", json!("1m"), None),
            (
                "kubeConfig",
                json!({"secretRef": {"name": "k"}}),
                Some("spec.kubeConfig"),
            ),
            ("suspend", json!(true), None),
            ("releaseName", json!("r"), None),
            ("targetNamespace", json!("t"), None),
            ("storageNamespace", json!("s"), None),
            (
                "dependsOn",
                json!([{"name": "other"}]),
                Some("spec.dependsOn"),
            ),
            ("timeout", json!("2m"), None),
            ("maxHistory", json!(2), None),
            (
                "serviceAccountName",
                json!("sa"),
                Some("spec.serviceAccountName"),
            ),
            // Eddy keeps no client between action steps to reuse or not.
            ("persistentClient", json!(false), None),
            (
                "driftDetection",
                json!({"mode": "enabled"}),
                Some("spec.driftDetection.mode"),
            ),
            (
                "install",
                json!({"replace": true}),
                Some("spec.install.replace"),
            ),
            (
                "upgrade",
                json!({"cleanupOnFail": true}),
                Some("spec.upgrade.cleanupOnFail"),
            ),
            ("test", json!({"enable": true}), Some("spec.test.enable")),
            (
                "rollback",
                json!({"force": true}),
                Some("spec.rollback.force"),
            ),
            (
                "uninstall",
                json!({"keepHistory": true}),
                Some("spec.uninstall.keepHistory"),
            ),
            ("valuesFrom", json!([{"kind": "Secret", "name": "s"}]), None),
            ("values", json!({"a": 1}), None),
            (
                "commonMetadata",
                json!({"labels": {"a": "b"}}),
                Some("spec.commonMetadata"),
            ),
            (
                "postRenderers",
                json!([{"kustomize": {"patches": []}}]),
                Some("spec.postRenderers"),
            ),
            // Which manifests go through post-renderers: there are none without postRenderers.
            ("postRenderStrategy", json!("nohooks"), None),
            (
                "waitStrategy",
                json!({"name": "legacy"}),
                Some("spec.waitStrategy"),
            ),
            (
                "healthCheckExprs",
                json!([{"apiVersion": "v1", "kind": "ConfigMap", "current": "true"}]),
                Some("spec.healthCheckExprs"),
            ),
        ]
    }

    #[test]
    fn every_spec_field_is_supported_or_refused_by_name() {
        for (field, value, refused) in table() {
            let found = unsupported_fields(&spec(json!({field: value})));
            assert_eq!(found, refused.into_iter().collect::<Vec<_>>(), "{field}");
        }
    }

    #[test]
    fn the_table_covers_every_property_of_the_stored_schema() {
        let properties =
            eddy_api::schema::stored_spec_properties(&eddy_api::helm::helmrelease::crd());
        let rows: BTreeSet<String> = table().iter().map(|(f, _, _)| f.to_string()).collect();
        assert_eq!(rows, properties);
    }
}
