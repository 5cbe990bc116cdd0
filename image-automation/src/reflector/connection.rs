//! How to reach an ImageRepository's registry, read from the cluster: credentials from
//! `secretRef` and the `serviceAccountName`'s `imagePullSecrets`, TLS material from
//! `certSecretRef`, plain HTTP or not. Both reconcilers use it: the repository to list tags, the
//! policy to look up a tag's digest.

use std::collections::BTreeMap;

use eddy_api::image::{ImageRepository, reasons};
use eddy_runtime::{outcome::Failure, time};
use k8s_openapi::{
    ByteString,
    api::core::v1::{Secret, ServiceAccount},
};
use kube::{Api, Client, ResourceExt};

use super::credentials::{CredentialsError, credentials_for};
use super::image::ImageName;
use super::imagerepository::DEFAULT_TIMEOUT;
use super::registry::{BasicCredentials, ScanOptions};

/// The HTTP client and options for one repository's registry.
pub struct Connection {
    pub http: reqwest::Client,
    pub options: ScanOptions,
}

/// Builds the connection for `repository`, using `shared` unless `certSecretRef` asks for a
/// client of its own.
pub async fn connect(
    repository: &ImageRepository,
    client: &Client,
    shared: &reqwest::Client,
    image: &ImageName,
) -> Result<Connection, Failure> {
    let namespace = repository.namespace().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let credentials = read_credentials(repository, client, &secrets, image).await?;
    let tls = match &repository.spec.cert_secret_ref {
        Some(reference) => Some(read_tls(&secrets, &namespace, &reference.name).await?),
        None => None,
    };
    // TLS material means the registry speaks HTTPS, even on a private address that would
    // otherwise be spoken to over plain HTTP.
    let plain_http =
        tls.is_none() && (repository.spec.insecure.unwrap_or(false) || image.is_private_registry());
    let http = match tls {
        Some(tls) => tls,
        None => shared.clone(),
    };
    Ok(Connection {
        http,
        options: ScanOptions {
            plain_http,
            timeout: time::timeout(repository.spec.timeout.as_deref(), DEFAULT_TIMEOUT),
            credentials,
        },
    })
}

/// The secrets whose docker configs are searched for the registry, in order: `secretRef` first
/// (the object's own, explicit choice), then the ServiceAccount's `imagePullSecrets` in the order
/// listed. The first that has an entry for the registry host gives the credentials.
async fn read_credentials(
    repository: &ImageRepository,
    client: &Client,
    secrets: &Api<Secret>,
    image: &ImageName,
) -> Result<Option<BasicCredentials>, Failure> {
    let namespace = repository.namespace().unwrap_or_default();
    let mut names: Vec<String> = repository
        .spec
        .secret_ref
        .iter()
        .map(|reference| reference.name.clone())
        .collect();
    if let Some(account) = &repository.spec.service_account_name {
        names.extend(pull_secret_names(client, &namespace, account).await?);
    }
    for name in names {
        let unreadable = |detail: String| {
            Failure::backoff(
                reasons::AUTHENTICATION_FAILED,
                format!("secret '{namespace}/{name}': {detail}"),
            )
        };
        let secret = secrets
            .get_opt(&name)
            .await
            .map_err(|error| unreadable(error.to_string()))?
            .ok_or_else(|| unreadable("not found".to_owned()))?;
        let data = secret.data.unwrap_or_default();
        let found = credentials_in(&data, &image.registry)
            .map_err(|error| unreadable(error.to_string()))?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// The registry's entry in a pull secret: `.dockerconfigjson`, or the older `.dockercfg`
/// (the same entries without the `auths` wrapper).
fn credentials_in(
    data: &BTreeMap<String, ByteString>,
    registry: &str,
) -> Result<Option<BasicCredentials>, CredentialsError> {
    if let Some(config) = data.get(".dockerconfigjson") {
        return credentials_for(Some(&config.0), registry);
    }
    let Some(legacy) = data.get(".dockercfg") else {
        return credentials_for(None, registry);
    };
    let entries: serde_json::Value = serde_json::from_slice(&legacy.0)
        .map_err(|error| CredentialsError::InvalidJson(error.to_string()))?;
    let wrapped = serde_json::json!({ "auths": entries }).to_string();
    credentials_for(Some(wrapped.as_bytes()), registry)
}

async fn pull_secret_names(
    client: &Client,
    namespace: &str,
    account: &str,
) -> Result<Vec<String>, Failure> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let unreadable = |detail: String| {
        Failure::backoff(
            reasons::AUTHENTICATION_FAILED,
            format!("service account '{namespace}/{account}': {detail}"),
        )
    };
    let account = accounts
        .get_opt(account)
        .await
        .map_err(|error| unreadable(error.to_string()))?
        .ok_or_else(|| unreadable("not found".to_owned()))?;
    Ok(account
        .image_pull_secrets
        .unwrap_or_default()
        .into_iter()
        .map(|reference| reference.name)
        .filter(|name| !name.is_empty())
        .collect())
}

/// A client trusting `ca.crt` and presenting `tls.crt`/`tls.key` (the older `caFile`,
/// `certFile`, `keyFile` keys are read too).
async fn read_tls(
    secrets: &Api<Secret>,
    namespace: &str,
    name: &str,
) -> Result<reqwest::Client, Failure> {
    let invalid = |detail: String| {
        Failure::backoff(
            reasons::AUTHENTICATION_FAILED,
            format!("certSecretRef '{namespace}/{name}': {detail}"),
        )
    };
    let secret = secrets
        .get_opt(name)
        .await
        .map_err(|error| invalid(error.to_string()))?
        .ok_or_else(|| invalid("not found".to_owned()))?;
    let data = secret.data.unwrap_or_default();
    let key = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|name| data.get(*name))
            .map(|bytes| bytes.0.clone())
    };
    let ca = key(["ca.crt", "caFile"]);
    let certificate = key(["tls.crt", "certFile"]);
    let private_key = key(["tls.key", "keyFile"]);
    tls_client(ca, certificate, private_key).map_err(invalid)
}

fn tls_client(
    ca: Option<Vec<u8>>,
    certificate: Option<Vec<u8>>,
    private_key: Option<Vec<u8>>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder();
    if ca.is_none() && certificate.is_none() {
        return Err("has neither 'ca.crt' nor 'tls.crt'/'tls.key'".to_owned());
    }
    if let Some(ca) = ca {
        let certificates = reqwest::Certificate::from_pem_bundle(&ca)
            .map_err(|error| format!("'ca.crt' is not PEM certificates: {error}"))?;
        if certificates.is_empty() {
            return Err("'ca.crt' holds no PEM certificate".to_owned());
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    match (certificate, private_key) {
        (Some(mut certificate), Some(private_key)) => {
            certificate.push(b'\n');
            certificate.extend_from_slice(&private_key);
            let identity = reqwest::Identity::from_pem(&certificate)
                .map_err(|error| format!("'tls.crt'/'tls.key' are not a PEM key pair: {error}"))?;
            builder = builder.identity(identity);
        }
        (None, None) => {}
        _ => return Err("'tls.crt' and 'tls.key' must be given together".to_owned()),
    }
    builder
        .build()
        .map_err(|error| format!("cannot build a TLS client: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_dockercfg_entries_are_read() {
        let mut data = BTreeMap::new();
        data.insert(
            ".dockercfg".to_owned(),
            ByteString(br#"{"r.example":{"username":"u","password":"p"}}"#.to_vec()),
        );
        let found = credentials_in(&data, "r.example").unwrap();
        assert_eq!(found.map(|c| c.username), Some("u".to_owned()));
        assert_eq!(
            credentials_in(&BTreeMap::new(), "r.example"),
            Err(CredentialsError::MissingKey)
        );
    }

    #[test]
    fn tls_material_must_be_complete_and_pem() {
        assert!(tls_client(None, None, None).is_err());
        let half = tls_client(None, Some(b"x".to_vec()), None).unwrap_err();
        assert!(half.contains("together"), "{half}");
        let garbage = tls_client(Some(b"not pem".to_vec()), None, None);
        assert!(garbage.is_err());
    }
}
