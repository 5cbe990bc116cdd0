//! `ImageUpdateAutomation` (image.toolkit.fluxcd.io/v1): checks out a Git repository, rewrites
//! image references marked with `# {"$imagepolicy": "<ns>:<name>"}` comments to the tags the
//! ImagePolicies selected, and commits and pushes the result.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::image::imagepolicy::ImageRef;
use crate::meta::LocalObjectReference;
use crate::source::gitrepository::GitRepositoryRef;

/// Commit message used when `messageTemplate` is not set.
pub const DEFAULT_COMMIT_MESSAGE: &str = "Update from image update automation";

/// Desired state of an image update automation.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImageUpdateAutomation",
    namespaced,
    status = "ImageUpdateAutomationStatus",
    derive = "PartialEq",
    shortname = "iua",
    shortname = "imgupd",
    shortname = "imgauto",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Status", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name": "Last run", "type": "string", "jsonPath": ".status.lastAutomationRunTime", "priority": 1}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#,
    doc = "Writes the tags chosen by ImagePolicies back into a Git repository."
)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationSpec {
    /// The GitRepository whose URL, credentials and proxy are used for cloning and pushing.
    pub source_ref: AutomationSourceReference,

    /// Checkout, commit and push settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSpec>,

    /// How often the automation runs.
    #[schemars(pattern(crate::schema::DURATION_PATTERN))]
    pub interval: String,

    /// Which ImagePolicies in this namespace are applied; all of them when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::image::schema::atomic_label_selector")]
    pub policy_selector: Option<LabelSelector>,

    /// Which files are updated and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {"strategy": "Setters"}))]
    pub update: Option<UpdateStrategy>,

    /// When true, the automation stops running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Reference to the Git source of an automation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutomationSourceReference {
    /// API version of the source object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,

    /// Kind of the source; only GitRepository is supported.
    #[schemars(extend("default" = "GitRepository"))]
    pub kind: AutomationSourceKind,

    /// Name of the source object.
    pub name: String,

    /// Namespace of the source object; the automation's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Source kinds an automation can push to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum AutomationSourceKind {
    /// source.toolkit.fluxcd.io GitRepository.
    #[default]
    GitRepository,
}

/// Git settings of an automation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct GitSpec {
    /// What to check out; the GitRepository's own ref when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<GitCheckoutSpec>,

    /// How commits are authored, signed and described.
    pub commit: CommitSpec,

    /// Where commits are pushed; back to the checked-out branch when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSpec>,
}

/// Checkout override.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct GitCheckoutSpec {
    /// The Git reference to start from (same semantics as a GitRepository's `spec.ref`).
    pub r#ref: GitRepositoryRef,
}

/// Commit settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitSpec {
    /// Author (and committer) identity.
    pub author: CommitUser,

    /// Key used to sign commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SigningKey>,

    /// Go text/template (Sprig functions available) for the commit message; it sees the
    /// automation object, the changes made (`.Changed`) and `messageTemplateValues` (`.Values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template: Option<String>,

    /// Extra values available to the template as `.Values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_values: Option<BTreeMap<String, String>>,
}

/// A Git identity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct CommitUser {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    pub email: String,
}

/// Commit signing configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// Secret with the key: `git.asc` (+ `passphrase`) for GPG, `identity` (+ `password`) for SSH.
    pub secret_ref: LocalObjectReference,

    /// Key format; GPG when unset.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<SigningKeyType>,
}

/// Kinds of commit signing keys.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SigningKeyType {
    /// OpenPGP key.
    #[default]
    Gpg,
    /// OpenSSH private key.
    Ssh,
}

/// Push settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct PushSpec {
    /// Branch to push to (created from the checkout when it differs, and force-pushed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,

    /// Additional refspec to push, e.g. `refs/heads/main:refs/heads/auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refspec: Option<String>,

    /// Git push options sent to the server (e.g. GitLab `merge_request.create`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// Which files are updated and how.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct UpdateStrategy {
    /// Update mechanism; only marker-comment setters exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Setters"))]
    pub strategy: Option<UpdateStrategyName>,

    /// Directory (relative to the repository root) searched for YAML files; the root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Update mechanisms.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum UpdateStrategyName {
    /// Rewrite scalars carrying `$imagepolicy` marker comments.
    #[default]
    Setters,
}

/// Observed state of an ImageUpdateAutomation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationStatus {
    /// When the automation last ran (whether or not it pushed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_automation_run_time: Option<Time>,

    /// SHA of the last commit pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_commit: Option<String>,

    /// When the last push happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_time: Option<Time>,

    /// Generation of the spec the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready / Reconciling / Stalled conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Option<Vec<Condition>>,

    /// Images selected by each applied policy at the last run, keyed by policy name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_policies: Option<BTreeMap<String, ImageRef>>,

    /// Source revision the last run started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_source_revision: Option<String>,

    /// Last `reconcile.fluxcd.io/requestedAt` annotation value that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// Eddy: the value the automation last wrote for each marker, keyed
    /// `<file relative to update.path>#<setter>`; read when manual changes are held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_values: Option<BTreeMap<String, String>>,

    /// Eddy: markers whose value someone else changed in Git and that the automation leaves
    /// alone until its policy selects another image (annotation
    /// `image.eddy.dev/hold-manual-changes: "true"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds: Option<Vec<SetterHold>>,

    /// Eddy: the last `image.eddy.dev/release-holds` annotation value handled (a run that set
    /// every held marker to its policy's image and pushed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_hold_release: Option<String>,
}

/// A marker the automation does not overwrite because someone changed its value in Git.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetterHold {
    /// File, relative to `update.path`.
    pub file: String,
    /// The marker's policy reference (`<ns>:<policy>[:tag|:name|:digest]`).
    pub setter: String,
    /// The value in Git, kept.
    pub value: String,
    /// The value the policy selects, which the automation had already pushed once.
    pub policy_value: String,
}

/// Annotation opting an ImageUpdateAutomation into holding manually changed markers.
pub const HOLD_MANUAL_CHANGES_ANNOTATION: &str = "image.eddy.dev/hold-manual-changes";

/// Annotation asking the automation to release its holds once: the next run sets every held
/// marker to its policy's image. Its value is a token (the CLI writes the time); a new value asks
/// again. Like any annotation it takes effect at the next run; `eddy image release` sets it
/// together with a reconcile request.
pub const RELEASE_HOLDS_ANNOTATION: &str = "image.eddy.dev/release-holds";

/// The CustomResourceDefinition Eddy installs for ImageUpdateAutomation at its current version.
pub fn crd() -> CustomResourceDefinition {
    let options = crate::schema::FinalizeOptions {
        status_default: true,
        ..Default::default()
    };
    crate::schema::finalize(
        <ImageUpdateAutomation as kube::CustomResourceExt>::crd(),
        options,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_automation_deserializes() {
        let automation: ImageUpdateAutomation = serde_yaml_ng::from_str(
            r#"
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {name: apps}
spec:
  interval: 30m
  sourceRef: {kind: GitRepository, name: fleet}
  git:
    commit:
      author: {email: bot@example.com}
    push:
      branch: image-updates
      options: {merge_request.create: ""}
"#,
        )
        .unwrap();
        let git = automation.spec.git.as_ref().unwrap();
        assert_eq!(git.commit.author.email, "bot@example.com");
        assert!(git.commit.author.name.is_none());
        let push = git.push.as_ref().unwrap();
        assert_eq!(push.branch.as_deref(), Some("image-updates"));
        assert!(
            push.options
                .as_ref()
                .unwrap()
                .contains_key("merge_request.create")
        );
        assert!(automation.spec.update.is_none());
    }

    #[test]
    fn checkout_ref_uses_ref_key() {
        let checkout: GitCheckoutSpec =
            serde_json::from_value(serde_json::json!({"ref": {"branch": "main"}})).unwrap();
        assert_eq!(checkout.r#ref.branch.as_deref(), Some("main"));
        assert_eq!(
            serde_json::to_value(&checkout).unwrap(),
            serde_json::json!({"ref": {"branch": "main"}})
        );
    }

    #[test]
    fn crd_schema_defaults_and_atomic_selector() {
        let crd = serde_json::to_value(crd()).unwrap();
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(
            spec["properties"]["update"]["default"]["strategy"],
            "Setters"
        );
        assert_eq!(
            spec["properties"]["sourceRef"]["properties"]["kind"]["default"],
            "GitRepository"
        );
        let selector = &spec["properties"]["policySelector"];
        assert_eq!(selector["x-kubernetes-map-type"], "atomic");
        assert_eq!(
            selector["properties"]["matchExpressions"]["x-kubernetes-list-type"],
            "atomic"
        );
    }
}
