//! Which ImagePolicies an automation applies: those in its namespace matching `policySelector`
//! (all when unset) that have selected an image (`status.latestRef`).

use std::collections::BTreeMap;

use eddy_api::image::{ImagePolicy, ImageRef, reasons};
use eddy_runtime::outcome::Failure;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{
    Api, Client, ResourceExt,
    core::{Selector, SelectorExt},
};

use super::setters::PolicyImages;

/// The applied policies: images keyed `<namespace>:<name>` for the setters, and by name for
/// `status.observedPolicies`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppliedPolicies {
    pub images: PolicyImages,
    pub observed: BTreeMap<String, ImageRef>,
}

/// Parses `policySelector`; an invalid one stalls the automation (`InvalidPolicySelector`).
pub fn selector(policy_selector: Option<&LabelSelector>) -> Result<Selector, Failure> {
    let Some(policy_selector) = policy_selector else {
        return Ok(Selector::default());
    };
    Selector::try_from(policy_selector.clone()).map_err(|error| {
        Failure::stalled(
            reasons::INVALID_POLICY_SELECTOR,
            format!("spec.policySelector is invalid: {}", error.0),
        )
    })
}

/// The policies of `namespace` that `selector` matches and that have a `latestRef`.
pub fn applied(policies: &[ImagePolicy], namespace: &str, selector: &Selector) -> AppliedPolicies {
    let mut applied = AppliedPolicies::default();
    for policy in policies {
        let policy_namespace = policy.namespace().unwrap_or_default();
        if policy_namespace != namespace || !selector.matches(policy.labels()) {
            continue;
        }
        let Some(latest) = policy.status.as_ref().and_then(|s| s.latest_ref.clone()) else {
            continue;
        };
        let name = policy.name_any();
        applied
            .images
            .insert(format!("{policy_namespace}:{name}"), latest.clone());
        applied.observed.insert(name, latest);
    }
    applied
}

/// Lists the namespace's policies and applies the selector.
pub async fn list_applied(
    client: &Client,
    namespace: &str,
    selector: &Selector,
) -> Result<AppliedPolicies, Failure> {
    let api: Api<ImagePolicy> = Api::namespaced(client.clone(), namespace);
    let policies = api.list(&Default::default()).await.map_err(|error| {
        Failure::backoff(
            reasons::UPDATE_FAILED,
            format!("cannot list ImagePolicies in '{namespace}': {error}"),
        )
    })?;
    Ok(applied(&policies.items, namespace, selector))
}

#[cfg(test)]
mod tests {
    use eddy_api::image::{ImagePolicyStatus, imagepolicy::ImagePolicySpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    use super::*;

    fn policy(namespace: &str, name: &str, team: &str, tag: Option<&str>) -> ImagePolicy {
        let spec: ImagePolicySpec = serde_json::from_value(serde_json::json!({
            "imageRepositoryRef": {"name": "repo"},
            "policy": {"semver": {"range": ">=1.0.0"}},
        }))
        .unwrap();
        let mut policy = ImagePolicy::new(name, spec);
        policy.metadata.namespace = Some(namespace.into());
        policy.metadata.labels = Some(BTreeMap::from([("team".to_owned(), team.to_owned())]));
        policy.status = tag.map(|tag| ImagePolicyStatus {
            latest_ref: Some(ImageRef {
                name: "app".into(),
                tag: tag.into(),
                digest: None,
            }),
            ..Default::default()
        });
        policy
    }

    #[test]
    fn selects_matching_policies_with_a_latest_ref_in_the_namespace() {
        let policies = [
            policy("apps", "a", "web", Some("1.0.0")),
            policy("apps", "b", "db", Some("2.0.0")),
            policy("apps", "c", "web", None),
            policy("other", "d", "web", Some("3.0.0")),
        ];
        let all = applied(&policies, "apps", &selector(None).unwrap());
        assert_eq!(
            all.images.keys().collect::<Vec<_>>(),
            vec!["apps:a", "apps:b"]
        );
        let web = LabelSelector {
            match_labels: Some(BTreeMap::from([("team".to_owned(), "web".to_owned())])),
            ..Default::default()
        };
        let only_web = applied(&policies, "apps", &selector(Some(&web)).unwrap());
        assert_eq!(only_web.observed.keys().collect::<Vec<_>>(), vec!["a"]);
    }

    #[test]
    fn an_invalid_selector_stalls() {
        let invalid = LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "team".into(),
                operator: "Sometimes".into(),
                values: None,
            }]),
            ..Default::default()
        };
        let failure = selector(Some(&invalid)).unwrap_err();
        assert_eq!(failure.reason, "InvalidPolicySelector");
        assert_eq!(failure.retry, eddy_runtime::outcome::Retry::Never);
    }
}
