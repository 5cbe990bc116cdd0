//! eddy-oci against Debian's real `docker-registry` on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use eddy_oci::{ClientOptions, Credentials, OciError, RefSelector, RegistryClient, RepositoryUrl};
use eddy_test_support::registry::Registry;

fn options() -> ClientOptions {
    ClientOptions {
        insecure: true,
        ca_pem: None,
        timeout: Duration::from_secs(20),
    }
}

fn client(
    registry: &Registry,
    repository: &str,
    credentials: Option<&Credentials>,
) -> RegistryClient {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = RepositoryUrl::parse(&format!("oci://{}/{repository}", registry.address())).unwrap();
    RegistryClient::new(url, credentials, options()).unwrap()
}

fn tag(name: &str) -> RefSelector {
    RefSelector::from_fields(None, None, None, Some(name)).unwrap()
}

#[tokio::test]
async fn resolves_tags_semver_and_digests_and_downloads_verified_layers() {
    let registry = Registry::start().await.unwrap();
    let many: Vec<String> = (0..1100).map(|i| format!("0.0.{i}")).collect();
    registry.push_tags("team/app", &many).await.unwrap();
    let newest = registry
        .push_tags_labelled("team/app", &["1.2.0", "latest"], "new")
        .await
        .unwrap();
    let client = client(&registry, "team/app", None);

    let tags = client.list_tags().await.unwrap();
    assert_eq!(tags.len(), 1102, "pagination collects every page");

    let latest = client.resolve(&tag("latest")).await.unwrap();
    assert_eq!(latest.digest, newest);
    assert_eq!(latest.revision(), format!("latest@{newest}"));
    let semver = RefSelector::from_fields(None, Some(">=0.0.1"), None, None).unwrap();
    let resolved = client.resolve(&semver).await.unwrap();
    assert_eq!(resolved.tag.as_deref(), Some("1.2.0"));
    let filtered =
        RefSelector::from_fields(None, Some(">=0.0.1"), Some("^0\\.0\\."), None).unwrap();
    assert_eq!(
        client.resolve(&filtered).await.unwrap().tag.as_deref(),
        Some("0.0.1099")
    );
    let pinned = RefSelector::from_fields(Some(&newest), None, None, None).unwrap();
    assert_eq!(client.resolve(&pinned).await.unwrap().revision(), newest);

    let manifest = client.manifest(&newest).await.unwrap();
    assert_eq!(manifest.layers.len(), 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("layer");
    let size = client
        .download_layer(&manifest.layers[0], &file, 1 << 20)
        .await
        .unwrap();
    assert_eq!(size, manifest.layers[0].size);
    assert_eq!(std::fs::read(&file).unwrap(), b"eddy test layer");

    let too_small = client.download_layer(&manifest.layers[0], &file, 4).await;
    assert!(
        matches!(too_small, Err(OciError::TooLarge { .. })),
        "{too_small:?}"
    );
    let mut lying = manifest.layers[0].clone();
    lying.size -= 1;
    let cut = client.download_layer(&lying, &file, 1 << 20).await;
    assert!(
        matches!(cut, Err(OciError::DigestMismatch { .. })),
        "{cut:?}"
    );
}

#[tokio::test]
async fn missing_tags_digests_and_repositories_are_not_found() {
    let registry = Registry::start().await.unwrap();
    registry.push_tags("team/app", &["1.0.0"]).await.unwrap();
    let client = client(&registry, "team/app", None);
    let missing = client.resolve(&tag("9.9.9")).await.unwrap_err();
    assert!(matches!(missing, OciError::NotFound { .. }), "{missing:?}");
    assert!(missing.to_string().contains("9.9.9"), "{missing}");
    let digest = format!("sha256:{}", "0".repeat(64));
    let pinned = RefSelector::from_fields(Some(&digest), None, None, None).unwrap();
    let missing = client.resolve(&pinned).await.unwrap_err();
    assert!(matches!(missing, OciError::NotFound { .. }), "{missing:?}");
    let semver = RefSelector::from_fields(None, Some(">=2.0.0"), None, None).unwrap();
    let none = client.resolve(&semver).await.unwrap_err();
    assert!(matches!(none, OciError::NoMatchingTag { .. }), "{none:?}");
}

#[tokio::test]
async fn credentials_are_required_and_checked() {
    let registry = Registry::start_with_htpasswd("flux", "right")
        .await
        .unwrap();
    registry.push_tags("team/app", &["latest"]).await.unwrap();
    let good = Credentials::Basic {
        username: "flux".into(),
        password: "right".into(),
    };
    let bad = Credentials::Basic {
        username: "flux".into(),
        password: "wrong".into(),
    };
    assert!(
        client(&registry, "team/app", Some(&good))
            .resolve(&tag("latest"))
            .await
            .is_ok()
    );
    for credentials in [Some(&bad), None] {
        let error = client(&registry, "team/app", credentials)
            .resolve(&tag("latest"))
            .await
            .unwrap_err();
        assert!(matches!(error, OciError::Unauthorized { .. }), "{error:?}");
    }
}

#[tokio::test]
async fn a_registry_that_is_down_is_unreachable() {
    let mut registry = Registry::start().await.unwrap();
    let client = client(&registry, "team/app", None);
    registry.stop().await.unwrap();
    let error = client.resolve(&tag("latest")).await.unwrap_err();
    assert!(matches!(error, OciError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains(registry.address()), "{error}");
}

#[tokio::test]
async fn https_registries_are_trusted_through_the_given_ca_only() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let registry = Registry::start_tls().await.unwrap();
    let digest = registry.push_tags("team/app", &["latest"]).await.unwrap();
    let url = RepositoryUrl::parse(&format!("oci://{}/team/app", registry.address())).unwrap();
    let https = |ca_pem: Option<Vec<u8>>| ClientOptions {
        insecure: false,
        ca_pem,
        timeout: Duration::from_secs(20),
    };
    let untrusted = RegistryClient::new(url.clone(), None, https(None)).unwrap();
    let error = untrusted.resolve(&tag("latest")).await.unwrap_err();
    assert!(error.to_string().contains("certificate"), "{error}");
    let ca = registry.ca_pem().unwrap().as_bytes().to_vec();
    let trusted = RegistryClient::new(url, None, https(Some(ca))).unwrap();
    assert_eq!(
        trusted.resolve(&tag("latest")).await.unwrap().digest,
        digest
    );
}
