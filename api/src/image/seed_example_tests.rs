//! The image automation seed example (written at v1beta1) must load into the current types
//! without losing a setting.

use serde::Deserialize;
use serde_json::Value;

use super::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use crate::image::imagepolicy::SelectedPolicy;
use crate::image::imageupdateautomation::UpdateStrategyName;

fn seed_documents() -> Vec<Value> {
    let path = format!(
        "{}/../../shared/seed/examples/image-automation-v1beta1.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {path}: {err}"));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).unwrap())
        .collect()
}

/// Deserializes `document` as `T` and checks that serializing it again yields the same spec
/// and metadata, i.e. that no field was dropped or invented.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(document: &Value) -> T {
    let typed: T = serde_json::from_value(document.clone()).unwrap();
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(back["spec"], document["spec"]);
    assert_eq!(back["metadata"], document["metadata"]);
    typed
}

#[test]
fn seed_image_automation_example_keeps_every_setting() {
    let documents = seed_documents();
    assert_eq!(documents.len(), 3);

    let repository: ImageRepository = round_trip(&documents[0]);
    assert_eq!(repository.spec.image, "registry.example.com/myapp");
    assert_eq!(repository.spec.interval, "1m");

    let policy: ImagePolicy = round_trip(&documents[1]);
    assert_eq!(policy.spec.image_repository_ref.name, "myapp");
    match policy.spec.policy.selected() {
        Some(SelectedPolicy::SemVer(semver)) => assert_eq!(semver.range, ">=1.0.0"),
        other => panic!("expected a semver policy, got {other:?}"),
    }

    let automation: ImageUpdateAutomation = round_trip(&documents[2]);
    assert_eq!(automation.spec.source_ref.name, "flux-config");
    let git = automation.spec.git.as_ref().unwrap();
    let checkout = git.checkout.as_ref().unwrap();
    assert_eq!(checkout.r#ref.branch.as_deref(), Some("main"));
    assert_eq!(git.commit.author.name.as_deref(), Some("Flux"));
    assert!(
        git.commit
            .message_template
            .as_ref()
            .unwrap()
            .contains("range $filename")
    );
    let update = automation.spec.update.as_ref().unwrap();
    assert_eq!(update.strategy, Some(UpdateStrategyName::Setters));
    assert_eq!(update.path.as_deref(), Some("./apps/myapp"));
}
