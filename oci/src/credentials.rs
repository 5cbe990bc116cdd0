//! Registry credentials from the JSON of a `kubernetes.io/dockerconfigjson` Secret
//! (`.dockerconfigjson`), the format `docker login` and `kubectl create secret docker-registry`
//! write. The caller reads the Secret (or a ServiceAccount's `imagePullSecrets`) and hands the
//! decoded bytes here.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde::Deserialize;

use crate::error::CredentialsError;

/// What to present to one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Basic {
        username: String,
        password: String,
    },
    /// An `identitytoken`/`registrytoken`, sent as a bearer token.
    Token(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

/// The `auths` of one or more docker configs, by normalised registry host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerConfig {
    auths: BTreeMap<String, Credentials>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    auths: BTreeMap<String, RawEntry>,
}

#[derive(Deserialize, Default)]
struct RawEntry {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

impl DockerConfig {
    /// Parses one docker config JSON. Entries with nothing usable in them are skipped.
    pub fn parse(json: &[u8]) -> Result<DockerConfig, CredentialsError> {
        let raw: RawConfig = serde_json::from_slice(json).map_err(CredentialsError::Json)?;
        let mut auths = BTreeMap::new();
        for (key, entry) in raw.auths {
            let registry = normalise_host(&key);
            if let Some(credentials) = entry_credentials(&registry, entry)? {
                auths.insert(registry, credentials);
            }
        }
        Ok(DockerConfig { auths })
    }

    /// Adds the entries of `other` that this config does not have: the first Secret naming a
    /// registry wins, as with a pod's `imagePullSecrets`.
    pub fn merge(&mut self, other: DockerConfig) {
        for (registry, credentials) in other.auths {
            self.auths.entry(registry).or_insert(credentials);
        }
    }

    /// The credentials for `registry` (`host[:port]`), if any entry names it.
    pub fn credentials_for(&self, registry: &str) -> Option<&Credentials> {
        let registry = normalise_host(registry);
        self.auths.get(&registry).or_else(|| {
            is_docker_hub(&registry)
                .then(|| self.auths.iter().find(|(key, _)| is_docker_hub(key)))
                .flatten()
                .map(|(_, credentials)| credentials)
        })
    }

    pub fn is_empty(&self) -> bool {
        self.auths.is_empty()
    }
}

fn entry_credentials(
    registry: &str,
    entry: RawEntry,
) -> Result<Option<Credentials>, CredentialsError> {
    if let Some(token) = entry
        .identitytoken
        .or(entry.registrytoken)
        .filter(|t| !t.is_empty())
    {
        return Ok(Some(Credentials::Token(token)));
    }
    if let (Some(username), Some(password)) = (&entry.username, &entry.password)
        && !username.is_empty()
    {
        return Ok(Some(Credentials::Basic {
            username: username.clone(),
            password: password.clone(),
        }));
    }
    let Some(auth) = entry.auth.filter(|auth| !auth.is_empty()) else {
        return Ok(None);
    };
    let invalid = || CredentialsError::InvalidAuth {
        registry: registry.to_owned(),
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (username, password) = decoded.split_once(':').ok_or_else(invalid)?;
    Ok(Some(Credentials::Basic {
        username: username.to_owned(),
        password: password.to_owned(),
    }))
}

/// `https://index.docker.io/v1/` → `index.docker.io`: docker configs key entries by URL or host.
fn normalise_host(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(username: &str, password: &str) -> Credentials {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    #[test]
    fn reads_auth_username_password_and_tokens_keyed_by_host_or_url() {
        let config = DockerConfig::parse(
            br#"{"auths":{
                "https://Registry.example.com:5000/v1/":{"auth":"Zmx1eDpzM2NyM3Q6eA=="},
                "ghcr.io":{"username":"bot","password":"pat"},
                "quay.io":{"identitytoken":"tok"},
                "empty.io":{}
            }}"#,
        )
        .unwrap();
        assert_eq!(
            config.credentials_for("registry.example.com:5000"),
            Some(&basic("flux", "s3cr3t:x")),
            "the password is everything after the first colon"
        );
        assert_eq!(
            config.credentials_for("ghcr.io"),
            Some(&basic("bot", "pat"))
        );
        assert_eq!(
            config.credentials_for("quay.io"),
            Some(&Credentials::Token("tok".into()))
        );
        assert_eq!(config.credentials_for("empty.io"), None);
        assert_eq!(config.credentials_for("registry.example.com"), None);
        assert!(!format!("{:?}", config).contains("s3cr3t"));
    }

    #[test]
    fn docker_hub_aliases_and_merging_keep_the_first_secret() {
        let mut config = DockerConfig::parse(
            br#"{"auths":{"https://index.docker.io/v1/":{"username":"a","password":"1"}}}"#,
        )
        .unwrap();
        config.merge(
            DockerConfig::parse(
                br#"{"auths":{"index.docker.io":{"username":"b","password":"2"},"ghcr.io":{"username":"c","password":"3"}}}"#,
            )
            .unwrap(),
        );
        assert_eq!(config.credentials_for("docker.io"), Some(&basic("a", "1")));
        assert_eq!(config.credentials_for("ghcr.io"), Some(&basic("c", "3")));
    }

    #[test]
    fn broken_configs_name_the_problem() {
        assert!(matches!(
            DockerConfig::parse(b"not json"),
            Err(CredentialsError::Json(_))
        ));
        let error =
            DockerConfig::parse(br#"{"auths":{"ghcr.io":{"auth":"bm8tY29sb24="}}}"#).unwrap_err();
        assert!(error.to_string().contains("'ghcr.io'"), "{error}");
    }
}
