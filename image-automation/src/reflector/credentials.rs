//! Registry credentials from a `kubernetes.io/dockerconfigjson` Secret's `.dockerconfigjson`.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;

use super::registry::BasicCredentials;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CredentialsError {
    #[error("secret has no '.dockerconfigjson' key")]
    MissingKey,
    #[error("'.dockerconfigjson' is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the auth entry for '{0}' is not base64 'user:password'")]
    InvalidAuth(String),
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    username: Option<String>,
    password: Option<String>,
    auth: Option<String>,
}

/// The credentials for `registry` (host with port) in a dockerconfigjson document, or `None`
/// when no entry names that host. Entries may be written as a host or as a URL.
pub fn credentials_for(
    dockerconfigjson: Option<&[u8]>,
    registry: &str,
) -> Result<Option<BasicCredentials>, CredentialsError> {
    let document = dockerconfigjson.ok_or(CredentialsError::MissingKey)?;
    let config: DockerConfig = serde_json::from_slice(document)
        .map_err(|error| CredentialsError::InvalidJson(error.to_string()))?;
    let Some((key, entry)) = config
        .auths
        .iter()
        .find(|(key, _)| entry_host(key) == registry || is_hub_alias(entry_host(key), registry))
    else {
        return Ok(None);
    };
    if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
        return Ok(Some(BasicCredentials {
            username: username.clone(),
            password: password.clone(),
        }));
    }
    let invalid = || CredentialsError::InvalidAuth(key.clone());
    let Some(auth) = &entry.auth else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (username, password) = decoded.split_once(':').ok_or_else(invalid)?;
    Ok(Some(BasicCredentials {
        username: username.to_owned(),
        password: password.to_owned(),
    }))
}

fn entry_host(key: &str) -> &str {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    without_scheme.split('/').next().unwrap_or(without_scheme)
}

fn is_hub_alias(host: &str, registry: &str) -> bool {
    let hub = ["docker.io", "index.docker.io", "registry-1.docker.io"];
    hub.contains(&host) && hub.contains(&registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_username_password_and_auth_entries() {
        let json = br#"{"auths":{"127.0.0.1:5000":{"username":"u","password":"p"},
            "https://index.docker.io/v1/":{"auth":"aHViOnNlY3JldA=="}}}"#;
        let local = credentials_for(Some(json), "127.0.0.1:5000").unwrap();
        assert_eq!(
            local,
            Some(BasicCredentials {
                username: "u".into(),
                password: "p".into()
            })
        );
        let hub = credentials_for(Some(json), "docker.io").unwrap();
        assert_eq!(
            hub,
            Some(BasicCredentials {
                username: "hub".into(),
                password: "secret".into()
            })
        );
        assert_eq!(credentials_for(Some(json), "ghcr.io").unwrap(), None);
    }

    #[test]
    fn bad_documents_name_the_cause() {
        assert_eq!(
            credentials_for(None, "x"),
            Err(CredentialsError::MissingKey)
        );
        assert!(matches!(
            credentials_for(Some(b"{"), "x"),
            Err(CredentialsError::InvalidJson(_))
        ));
        let json = br#"{"auths":{"x":{"auth":"!!!"}}}"#;
        assert_eq!(
            credentials_for(Some(json), "x"),
            Err(CredentialsError::InvalidAuth("x".into()))
        );
    }
}
