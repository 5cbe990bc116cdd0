//! `ImageRepository` (image.toolkit.fluxcd.io/v1): a container image repository whose tags the
//! image reflector scans periodically, so that ImagePolicies can pick the latest one.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{AccessFrom, LocalObjectReference};

/// Tags excluded when `exclusionList` is not set: cosign signature tags.
pub const DEFAULT_EXCLUSION_LIST: &[&str] = &[r"^.*\.sig$"];

/// Desired state of an image repository scan.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImageRepository",
    namespaced,
    status = "ImageRepositoryStatus",
    derive = "PartialEq",
    shortname = "imgrepo",
    shortname = "imagerepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    printcolumn = r#"{"name": "Image", "type": "string", "jsonPath": ".spec.image"}"#,
    printcolumn = r#"{"name": "Tags", "type": "string", "jsonPath": ".status.lastScanResult.tagCount"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Status", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name": "Last scan", "type": "string", "jsonPath": ".status.lastScanResult.scanTime", "priority": 1}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
    doc = "A container image repository whose tags are scanned periodically."
)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositorySpec {
    /// Image name without tag, e.g. `ghcr.io/org/app` or `alpine` (Docker Hub names are
    /// expanded to their canonical form).
    pub image: String,

    /// How often the tags are scanned.
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub interval: String,

    /// Limit for one scan; the interval is used when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::schema::TIMEOUT_PATTERN))]
    pub timeout: Option<String>,

    /// Secret of type `kubernetes.io/dockerconfigjson` with registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,

    /// Secret with the proxy's `address` and optional `username`/`password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,

    /// Service account whose image pull secrets are used as registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub service_account_name: Option<String>,

    /// Secret with TLS material for the registry (`ca.crt`, `tls.crt`, `tls.key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,

    /// Namespaces (by label) whose ImagePolicies may reference this repository; policies in the
    /// same namespace are always allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,

    /// When true, scanning stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,

    /// Cloud provider whose credentials are used to log in to its registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<RegistryProvider>,

    /// Regular expressions; matching tags are dropped before they are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 25), extend("default" = [r"^.*\.sig$"]))]
    pub exclusion_list: Option<Vec<String>>,

    /// Allow plain HTTP and self-signed registries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
}

impl ImageRepositorySpec {
    /// The exclusion list in effect (the default when the field is unset).
    pub fn effective_exclusion_list(&self) -> Vec<String> {
        match &self.exclusion_list {
            Some(list) => list.clone(),
            None => DEFAULT_EXCLUSION_LIST
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

/// Where registry credentials come from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegistryProvider {
    /// Only `secretRef` / service account pull secrets.
    #[default]
    Generic,
    /// Amazon ECR via the controller's AWS identity.
    Aws,
    /// Azure Container Registry via the controller's Azure identity.
    Azure,
    /// Google Artifact/Container Registry via the controller's GCP identity.
    Gcp,
}

/// Observed state of an ImageRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositoryStatus {
    /// Ready / Reconciling / Stalled conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Option<Vec<Condition>>,

    /// Generation of the spec the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Fully qualified image name actually scanned (e.g. `docker.io/library/alpine`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_image_name: Option<String>,

    /// Summary of the most recent successful scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan_result: Option<ScanResult>,

    /// Exclusion list used by the last scan; a change forces a rescan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_exclusion_list: Option<Vec<String>>,

    /// Last `reconcile.fluxcd.io/requestedAt` annotation value that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// What one tag scan found.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    /// Stable hash of the stored tag list; changes whenever the tags do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,

    /// Number of tags stored.
    #[schemars(schema_with = "crate::schema::plain_integer")]
    pub tag_count: i64,

    /// When the scan finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_time: Option<Time>,

    /// A few of the newest tags, for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_tags: Option<Vec<String>>,
}

/// The CustomResourceDefinition Eddy installs for ImageRepository at its current version.
pub fn crd() -> CustomResourceDefinition {
    let options = crate::schema::FinalizeOptions {
        status_default: true,
        substitute_annotation: false,
    };
    crate::schema::finalize(<ImageRepository as kube::CustomResourceExt>::crd(), options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_image_repository_uses_defaults() {
        let repo: ImageRepository = serde_yaml_ng::from_str(
            "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app\nspec:\n  image: ghcr.io/org/app\n  interval: 5m\n",
        )
        .unwrap();
        assert_eq!(repo.spec.image, "ghcr.io/org/app");
        assert_eq!(
            repo.spec.effective_exclusion_list(),
            vec![r"^.*\.sig$".to_owned()]
        );
        assert!(repo.spec.provider.is_none());
    }

    #[test]
    fn status_round_trips_scan_result() {
        let status: ImageRepositoryStatus = serde_json::from_value(serde_json::json!({
            "observedGeneration": 2,
            "canonicalImageName": "docker.io/library/alpine",
            "lastScanResult": {"tagCount": 3, "scanTime": "2026-01-02T03:04:05Z", "latestTags": ["3.20"]}
        }))
        .unwrap();
        let scan = status.last_scan_result.as_ref().unwrap();
        assert_eq!(scan.tag_count, 3);
        let back = serde_json::to_value(&status).unwrap();
        assert_eq!(back["lastScanResult"]["scanTime"], "2026-01-02T03:04:05Z");
    }

    #[test]
    fn crd_has_no_substitute_annotation_and_plain_tag_count() {
        let crd = serde_json::to_value(crd()).unwrap();
        assert!(
            crd["metadata"]["annotations"]
                .get("kustomize.toolkit.fluxcd.io/substitute")
                .is_none()
        );
        let status =
            &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
        let tag_count = &status["properties"]["lastScanResult"]["properties"]["tagCount"];
        assert_eq!(tag_count["type"], "integer");
        assert!(tag_count.get("format").is_none());
        assert_eq!(status["default"]["observedGeneration"], -1);
        let columns = crd["spec"]["versions"][0]["additionalPrinterColumns"]
            .as_array()
            .unwrap();
        let last_scan = columns.iter().find(|c| c["name"] == "Last scan").unwrap();
        assert_eq!(last_scan["priority"], 1);
    }
}
