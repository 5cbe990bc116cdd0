//! Tag listing against a real registry (Debian's docker-registry started on loopback).

use std::time::Duration;

use eddy_image_automation::reflector::image::ImageName;
use eddy_image_automation::reflector::registry::{
    BasicCredentials, ScanError, ScanOptions, list_tags, manifest_digest,
};
use eddy_test_support::registry::Registry;

fn options(credentials: Option<BasicCredentials>) -> ScanOptions {
    ScanOptions {
        plain_http: true,
        timeout: Duration::from_secs(10),
        credentials,
    }
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

#[tokio::test]
async fn lists_2500_tags_from_a_real_registry() -> anyhow::Result<()> {
    let registry = Registry::start().await?;
    let tags: Vec<String> = (0..2500).map(|n| format!("1.0.{n}")).collect();
    registry.push_tags("team/many", &tags).await?;
    let image = ImageName::parse(&registry.image("team/many"))?;
    assert!(image.is_private_registry());
    let mut listed = list_tags(&http(), &image, &options(None)).await?;
    listed.sort();
    let mut expected = tags.clone();
    expected.sort();
    assert_eq!(listed, expected);
    Ok(())
}

#[tokio::test]
async fn basic_auth_with_right_and_wrong_credentials() -> anyhow::Result<()> {
    let registry = Registry::start_with_htpasswd("eddy", "s3cret").await?;
    registry.push_tags("team/app", &["1.0.0", "1.1.0"]).await?;
    let image = ImageName::parse(&registry.image("team/app"))?;
    let right = BasicCredentials {
        username: "eddy".into(),
        password: "s3cret".into(),
    };
    let mut listed = list_tags(&http(), &image, &options(Some(right))).await?;
    listed.sort();
    assert_eq!(listed, vec!["1.0.0".to_owned(), "1.1.0".to_owned()]);

    let wrong = BasicCredentials {
        username: "eddy".into(),
        password: "wrong".into(),
    };
    let error = list_tags(&http(), &image, &options(Some(wrong))).await;
    assert!(
        matches!(error, Err(ScanError::Authentication { .. })),
        "{error:?}"
    );
    let error = list_tags(&http(), &image, &options(None)).await;
    assert!(
        matches!(&error, Err(ScanError::Authentication { detail, .. }) if detail.contains("no secretRef")),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn missing_repository_and_registry_down_are_read_errors() -> anyhow::Result<()> {
    let mut registry = Registry::start().await?;
    let missing = ImageName::parse(&registry.image("team/absent"))?;
    let error = list_tags(&http(), &missing, &options(None)).await;
    assert!(
        matches!(&error, Err(ScanError::Read { detail, .. }) if detail.contains("does not exist")),
        "{error:?}"
    );
    registry.stop().await?;
    let error = list_tags(&http(), &missing, &options(None)).await;
    assert!(matches!(error, Err(ScanError::Read { .. })), "{error:?}");
    Ok(())
}

/// A tag's digest by manifest HEAD: a Docker manifest, the same tag moved to another image,
/// an OCI index (the index's own digest, not a platform's), behind basic auth, and a tag that
/// does not exist.
#[tokio::test]
async fn manifest_digest_follows_moved_tags_and_indexes() -> anyhow::Result<()> {
    let registry = Registry::start_with_htpasswd("eddy", "s3cret").await?;
    let first = registry
        .push_tags_labelled("team/app", &["1.0.0"], "first")
        .await?;
    let image = ImageName::parse(&registry.image("team/app"))?;
    let options = options(Some(BasicCredentials {
        username: "eddy".into(),
        password: "s3cret".into(),
    }));
    assert_eq!(
        manifest_digest(&http(), &image, "1.0.0", &options).await?,
        first
    );
    let second = registry
        .push_tags_labelled("team/app", &["1.0.0"], "second")
        .await?;
    assert_ne!(first, second);
    assert_eq!(
        manifest_digest(&http(), &image, "1.0.0", &options).await?,
        second
    );
    let index = registry
        .push_index("team/app", "multi", &[&first, &second])
        .await?;
    assert_eq!(
        manifest_digest(&http(), &image, "multi", &options).await?,
        index
    );
    let error = manifest_digest(&http(), &image, "9.9.9", &options).await;
    assert!(
        matches!(&error, Err(ScanError::Read { detail, .. }) if detail.contains("tag '9.9.9' does not exist")),
        "{error:?}"
    );
    Ok(())
}

/// The benchmark's shortcut: tags linked in the registry's storage are listed and resolved by
/// the registry as if they had been pushed.
#[tokio::test]
async fn tags_linked_in_storage_are_listed_and_resolved() -> anyhow::Result<()> {
    let registry = Registry::start().await?;
    let digest = registry.push_tags("team/linked", &["0.0.0"]).await?;
    let linked: Vec<String> = (1..=1500).map(|n| format!("1.0.{n}")).collect();
    registry.link_tags_in_storage("team/linked", "0.0.0", &linked)?;
    let image = ImageName::parse(&registry.image("team/linked"))?;
    let listed = list_tags(&http(), &image, &options(None)).await?;
    assert_eq!(listed.len(), 1501);
    assert_eq!(
        manifest_digest(&http(), &image, "1.0.1500", &options(None)).await?,
        digest
    );
    // distribution 2.8 answers the whole list at once, whatever `n` asks for.
    assert_eq!(registry.requests_matching("/tags/list")?, 1);
    Ok(())
}
