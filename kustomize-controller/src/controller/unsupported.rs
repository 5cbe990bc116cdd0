//! The Kustomization fields Eddy accepts but cannot act on yet.
//!
//! A field the reconciler ignored would do something else than the user asked: a
//! `kubeConfig.configMapRef` would apply a remote cluster's objects to the local one. So a
//! Kustomization setting one is refused before anything is read or applied: `Stalled=True`,
//! `Ready=False`, a message naming the field, and no retry until its spec changes.

use eddy_api::{kustomize::KustomizationSpec, meta::reason::FEATURE_GATE_DISABLED};
use eddy_runtime::unsupported::NOT_SUPPORTED;

/// A field set on a Kustomization that Eddy does not act on yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsupportedField {
    /// The field's path as the user writes it (`spec.kubeConfig`).
    pub path: &'static str,
    /// The Ready reason: Flux's own where Flux refuses the field the same way by default.
    pub reason: &'static str,
}

impl UnsupportedField {
    const fn not_supported(path: &'static str) -> Self {
        Self {
            path,
            reason: NOT_SUPPORTED,
        }
    }
}

/// Every field of `spec` that is set and that Eddy does not act on yet, in spec order.
pub fn unsupported_fields(spec: &KustomizationSpec) -> Vec<UnsupportedField> {
    let mut fields = Vec::new();
    if spec
        .kube_config
        .as_ref()
        .is_some_and(|k| k.config_map_ref.is_some())
    {
        fields.push(UnsupportedField::not_supported(
            "spec.kubeConfig.configMapRef",
        ));
    }
    if spec
        .health_check_exprs
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        fields.push(UnsupportedField::not_supported("spec.healthCheckExprs"));
    }
    let ready_expr_set = spec.depends_on.iter().flatten().any(|dependency| {
        dependency
            .ready_expr
            .as_deref()
            .is_some_and(|e| !e.is_empty())
    });
    if ready_expr_set {
        fields.push(UnsupportedField::not_supported(
            "spec.dependsOn[].readyExpr",
        ));
    }
    if spec.ignore.as_ref().is_some_and(|rules| !rules.is_empty()) {
        fields.push(UnsupportedField::not_supported("spec.ignore"));
    }
    let decryption_account = spec
        .decryption
        .as_ref()
        .and_then(|d| d.service_account_name.as_deref())
        .is_some_and(|name| !name.is_empty());
    if decryption_account {
        // Flux refuses it the same way unless its ObjectLevelWorkloadIdentity gate is on.
        fields.push(UnsupportedField {
            path: "spec.decryption.serviceAccountName",
            reason: FEATURE_GATE_DISABLED,
        });
    }
    fields
}

/// The reason and message a Kustomization with `fields` is stalled with, or `None` when every
/// field it sets is supported.
pub fn refusal(fields: &[UnsupportedField]) -> Option<(&'static str, String)> {
    let first = fields.first()?;
    let message = fields
        .iter()
        .map(|field| format!("{} is not supported yet", field.path))
        .collect::<Vec<_>>()
        .join("; ");
    Some((first.reason, message))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::*;

    /// What Eddy does with each field of the Kustomization spec: `None` when it acts on it,
    /// otherwise the path it refuses. Every property of the v1 schema (legacy fields included)
    /// must have a row, so a field added to the API without a decision here fails the test.
    fn table() -> Vec<(&'static str, Value, Option<&'static str>)> {
        vec![
            (
                "sourceRef",
                json!({"kind": "OCIRepository", "name": "o"}),
                None,
            ),
            ("path", json!("./apps"), None),
            ("interval", json!("5m"), None),
            ("retryInterval", json!("1m"), None),
            ("timeout", json!("2m"), None),
            ("prune", json!(true), None),
            ("deletionPolicy", json!("WaitForTermination"), None),
            ("wait", json!(true), None),
            (
                "healthChecks",
                json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}]),
                None,
            ),
            (
                "healthCheckExprs",
                json!([{"apiVersion": "example.com/v1", "current": "true"}]),
                Some("spec.healthCheckExprs"),
            ),
            (
                "dependsOn",
                json!([{"name": "infra", "readyExpr": "dep.status.ready"}]),
                Some("spec.dependsOn[].readyExpr"),
            ),
            ("serviceAccountName", json!("deployer"), None),
            // A Secret's kubeconfig is applied to (see `remote`); a workload-identity one is not.
            ("kubeConfig", json!({"secretRef": {"name": "remote"}}), None),
            ("targetNamespace", json!("apps"), None),
            ("namePrefix", json!("p-"), None),
            ("nameSuffix", json!("-s"), None),
            ("commonMetadata", json!({"labels": {"team": "a"}}), None),
            (
                "patches",
                json!([{"patch": "- op: remove\n  path: /x"}]),
                None,
            ),
            ("images", json!([{"name": "nginx", "newTag": "1"}]), None),
            ("components", json!(["../c"]), None),
            ("ignoreMissingComponents", json!(true), None),
            ("buildMetadata", json!(["originAnnotations"]), None),
            (
                "postBuild",
                json!({"substitute": {"a": "b"}, "substituteStrategy": "Always",
                       "substituteFrom": [{"kind": "ConfigMap", "name": "vars", "optional": true}]}),
                None,
            ),
            (
                "decryption",
                json!({"provider": "sops", "serviceAccountName": "kms"}),
                Some("spec.decryption.serviceAccountName"),
            ),
            ("force", json!(true), None),
            (
                "ignore",
                json!([{"paths": ["/spec/replicas"]}]),
                Some("spec.ignore"),
            ),
            ("suspend", json!(false), None),
            (
                "patchesStrategicMerge",
                json!([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]),
                None,
            ),
            (
                "patchesJson6902",
                json!([{"patch": [{"op": "remove", "path": "/x"}], "target": {"kind": "ConfigMap"}}]),
                None,
            ),
            // v1beta2's dry-run mode: Flux ignored it too, the server-side dry-run is the validation.
            ("validation", json!("client"), None),
        ]
    }

    fn spec_with(field: &str, value: &Value) -> KustomizationSpec {
        let mut spec = json!({
            "sourceRef": {"kind": "GitRepository", "name": "config"},
            "interval": "10m",
            "prune": false,
        });
        spec[field] = value.clone();
        serde_json::from_value(spec).unwrap_or_else(|e| panic!("{field}: {e}"))
    }

    #[test]
    fn every_spec_field_is_supported_or_refused_by_name() {
        for (field, value, refused) in table() {
            let found: Vec<&str> = unsupported_fields(&spec_with(field, &value))
                .iter()
                .map(|f| f.path)
                .collect();
            assert_eq!(found, refused.into_iter().collect::<Vec<_>>(), "{field}");
        }
    }

    #[test]
    fn the_table_covers_every_property_of_the_stored_schema() {
        let properties =
            eddy_api::schema::stored_spec_properties(&eddy_api::kustomize::kustomization::crd());
        let rows: BTreeSet<String> = table().iter().map(|(f, _, _)| f.to_string()).collect();
        assert_eq!(rows, properties);
    }

    #[test]
    fn empty_lists_and_names_ask_for_nothing() {
        for (field, value) in [
            ("healthCheckExprs", json!([])),
            ("ignore", json!([])),
            (
                "dependsOn",
                json!([{"name": "infra"}, {"name": "db", "readyExpr": ""}]),
            ),
            (
                "decryption",
                json!({"provider": "sops", "serviceAccountName": ""}),
            ),
        ] {
            assert!(
                unsupported_fields(&spec_with(field, &value)).is_empty(),
                "{field}"
            );
        }
    }

    #[test]
    fn the_refusal_names_every_field_and_takes_the_first_reason() {
        let mut spec = spec_with("kubeConfig", &json!({"configMapRef": {"name": "eks"}}));
        spec.ignore = spec_with("ignore", &json!([{"paths": ["/x"]}])).ignore;
        let (reason, message) = refusal(&unsupported_fields(&spec)).unwrap();
        assert_eq!(reason, "NotSupported");
        assert_eq!(
            message,
            "spec.kubeConfig.configMapRef is not supported yet; spec.ignore is not supported yet"
        );
        let decryption = spec_with(
            "decryption",
            &json!({"provider": "sops", "serviceAccountName": "kms"}),
        );
        let (reason, _) = refusal(&unsupported_fields(&decryption)).unwrap();
        assert_eq!(reason, "FeatureGateDisabled");
        assert_eq!(refusal(&[]), None);
    }
}
