//! SecretStorage against a real API server: create/update/delete semantics, pruning and
//! unreadable records.

mod common;

use std::collections::BTreeMap;

use common::release_secrets;
use eddy_helm_release::{Release, SecretStorage, Status, StorageError};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, PostParams};

fn release(namespace: &str, version: u32, status: Status) -> Release {
    let mut r = Release {
        name: "app".into(),
        namespace: namespace.into(),
        version,
        manifest: format!("---\n# Source: app/templates/cm.yaml\nrevision: {version}\n"),
        ..Release::default()
    };
    r.info.status = status;
    r.info.description = format!("revision {version}");
    r
}

#[tokio::test]
async fn create_update_delete_and_prune() {
    let client = eddy_test_support::client().await.unwrap();
    let ns = eddy_test_support::TestNamespace::new(&client, "helmstore-ops")
        .await
        .unwrap();
    let storage = SecretStorage::new(client.clone(), ns.name());
    assert!(storage.last("app").await.unwrap().is_none());
    assert!(storage.deployed("app").await.unwrap().is_none());

    for (version, status) in [
        (1, Status::Superseded),
        (2, Status::Deployed),
        (3, Status::Failed),
        (4, Status::Failed),
    ] {
        storage
            .create(&release(ns.name(), version, status))
            .await
            .unwrap();
    }
    let again = storage
        .create(&release(ns.name(), 2, Status::Deployed))
        .await;
    assert!(
        matches!(again, Err(StorageError::AlreadyExists { version: 2, .. })),
        "{again:?}"
    );
    let missing = storage.update(&release(ns.name(), 9, Status::Failed)).await;
    assert!(
        matches!(missing, Err(StorageError::NotFound { version: 9, .. })),
        "{missing:?}"
    );
    // A release whose objects live elsewhere is stored here all the same (Flux's
    // storageNamespace apart from targetNamespace).
    let mut elsewhere = release("elsewhere", 1, Status::Deployed);
    elsewhere.name = "targeted".into();
    storage.create(&elsewhere).await.unwrap();
    let stored = storage.deployed("targeted").await.unwrap().unwrap();
    assert_eq!(stored.namespace, "elsewhere");

    assert_eq!(storage.last("app").await.unwrap().unwrap().version, 4);
    assert_eq!(storage.deployed("app").await.unwrap().unwrap().version, 2);

    // An update rewrites status, label and data, and stamps modifiedAt.
    let mut fourth = release(ns.name(), 4, Status::Deployed);
    fourth.info.description = "Upgrade complete".into();
    storage.update(&fourth).await.unwrap();
    let mut second = release(ns.name(), 2, Status::Superseded);
    second.info.description = "revision 2".into();
    storage.update(&second).await.unwrap();
    assert_eq!(storage.get("app", 4).await.unwrap().unwrap(), fourth);
    assert_eq!(storage.deployed("app").await.unwrap().unwrap().version, 4);
    let secrets = release_secrets(&client, ns.name(), "app").await;
    let labels = secrets[3].metadata.labels.clone().unwrap();
    assert_eq!(labels["status"], "deployed");
    assert!(labels.contains_key("modifiedAt") && !labels.contains_key("createdAt"));

    // Keep two: 3 and 4 remain (4 is deployed and newest).
    storage.prune("app", 2).await.unwrap();
    let left: Vec<u32> = storage
        .history("app")
        .await
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(left, [3, 4]);
    storage.delete("app", 3).await.unwrap();
    storage.delete("app", 3).await.unwrap(); // already gone: still fine
    let left: Vec<u32> = storage
        .history("app")
        .await
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(left, [4]);
    ns.cleanup().await.unwrap();
}

#[tokio::test]
async fn an_unreadable_record_fails_history_naming_its_secret() {
    let client = eddy_test_support::client().await.unwrap();
    let ns = eddy_test_support::TestNamespace::new(&client, "helmstore-corrupt")
        .await
        .unwrap();
    let storage = SecretStorage::new(client.clone(), ns.name());
    storage
        .create(&release(ns.name(), 1, Status::Deployed))
        .await
        .unwrap();
    let bad = Secret {
        metadata: ObjectMeta {
            name: Some("sh.helm.release.v1.app.v2".into()),
            labels: Some(BTreeMap::from([
                ("name".to_owned(), "app".to_owned()),
                ("owner".to_owned(), "helm".to_owned()),
                ("status".to_owned(), "deployed".to_owned()),
                ("version".to_owned(), "2".to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        type_: Some("helm.sh/release.v1".into()),
        data: Some(BTreeMap::from([(
            "release".to_owned(),
            ByteString(b"H4sIAAAA".to_vec()),
        )])),
        ..Secret::default()
    };
    Api::<Secret>::namespaced(client.clone(), ns.name())
        .create(&PostParams::default(), &bad)
        .await
        .unwrap();
    let err = storage.history("app").await.unwrap_err();
    assert!(matches!(err, StorageError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("{}/sh.helm.release.v1.app.v2", ns.name())),
        "{message}"
    );
    assert!(storage.get("app", 2).await.is_err());
    assert_eq!(storage.get("app", 1).await.unwrap().unwrap().version, 1);
    ns.cleanup().await.unwrap();
}
