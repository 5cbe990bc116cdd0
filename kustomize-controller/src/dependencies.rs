//! `dependsOn`: whether the Kustomizations this one depends on are ready.

use eddy_api::kustomize::Kustomization;
use eddy_runtime::conditions;

/// Why a dependency is not ready, or `None` when it is.
pub fn not_ready_reason(
    dependency: &Kustomization,
    same_source_revision: Option<&str>,
) -> Option<String> {
    let name = format!(
        "{}/{}",
        dependency.metadata.namespace.as_deref().unwrap_or_default(),
        dependency.metadata.name.as_deref().unwrap_or_default()
    );
    let Some(status) = &dependency.status else {
        return Some(format!("dependency '{name}' is not ready"));
    };
    let conditions = status.conditions.as_deref().unwrap_or_default();
    if conditions.is_empty() || status.observed_generation != dependency.metadata.generation {
        return Some(format!("dependency '{name}' is not ready"));
    }
    if !conditions::is_true(conditions, conditions::READY) {
        return Some(format!("dependency '{name}' is not ready"));
    }
    if let Some(revision) = same_source_revision
        && status.last_applied_revision.as_deref() != Some(revision)
    {
        return Some(format!("dependency '{name}' revision is not up to date"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_api::kustomize::KustomizationStatus;
    use eddy_runtime::conditions::{Status, set};

    fn dependency(ready: bool, observed: i64, revision: &str) -> Kustomization {
        let mut object: Kustomization = serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "infra", "namespace": "flux", "generation": 2},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "repo"}, "interval": "1m", "prune": true}
        })).unwrap();
        let mut conditions = Vec::new();
        set(
            &mut conditions,
            "Ready",
            if ready { Status::True } else { Status::False },
            "R",
            "m",
            Some(observed),
        );
        object.status = Some(KustomizationStatus {
            observed_generation: Some(observed),
            conditions: Some(conditions),
            last_applied_revision: Some(revision.into()),
            ..Default::default()
        });
        object
    }

    #[test]
    fn readiness_rules() {
        assert_eq!(
            not_ready_reason(&dependency(true, 2, "main@sha1:a"), None),
            None
        );
        assert!(not_ready_reason(&dependency(false, 2, "main@sha1:a"), None).is_some());
        assert!(not_ready_reason(&dependency(true, 1, "main@sha1:a"), None).is_some());
        assert_eq!(
            not_ready_reason(&dependency(true, 2, "main@sha1:a"), Some("main@sha1:a")),
            None
        );
        assert!(
            not_ready_reason(&dependency(true, 2, "main@sha1:a"), Some("main@sha1:b"))
                .unwrap()
                .contains("revision")
        );
    }
}
