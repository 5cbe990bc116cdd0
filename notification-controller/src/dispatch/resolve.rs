//! Reading a Provider's Secrets into [`ProviderSettings`] and a [`Transport`].

use std::{collections::BTreeMap, time::Duration};

use eddy_api::notification::{Provider, ProviderSpec};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};

use crate::providers::{
    ProviderSettings,
    sender::{ProxySettings, Transport},
};

/// A Provider's delivery timeout when `spec.timeout` is unset.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a Provider's settings could not be read. Never carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("secret '{namespace}/{name}' not found")]
    SecretNotFound { namespace: String, name: String },
    #[error("cannot read secret '{namespace}/{name}': {source}")]
    SecretRead {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("secret '{name}': key '{key}' is not valid UTF-8")]
    NotText { name: String, key: String },
    #[error("secret '{name}': key 'headers' is not a YAML map of strings: {reason}")]
    Headers { name: String, reason: String },
    #[error("secret '{name}' has no '{key}' key")]
    MissingKey { name: String, key: String },
    #[error("invalid spec.timeout: {0}")]
    Timeout(String),
    /// A field Eddy cannot honour yet: sending without it would authenticate differently
    /// than the Provider asks, so nothing is sent.
    #[error("{0} is not supported yet")]
    NotSupported(&'static str),
}

/// Refuses a Provider setting a field Eddy does not act on yet (`serviceAccountName`: cloud
/// workload identity).
pub fn refuse_unsupported(spec: &ProviderSpec) -> Result<(), ResolveError> {
    if spec
        .service_account_name
        .as_deref()
        .is_some_and(|name| !name.is_empty())
    {
        return Err(ResolveError::NotSupported("spec.serviceAccountName"));
    }
    Ok(())
}

/// The string values of a Secret's `data` (and `stringData`, for objects not yet defaulted).
type SecretValues = BTreeMap<String, String>;

async fn read_secret(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<SecretValues, ResolveError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = match api.get_opt(name).await {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            return Err(ResolveError::SecretNotFound {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            });
        }
        Err(source) => {
            return Err(ResolveError::SecretRead {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                source,
            });
        }
    };
    let mut values = SecretValues::new();
    for (key, bytes) in secret.data.unwrap_or_default() {
        let text = String::from_utf8(bytes.0).map_err(|_| ResolveError::NotText {
            name: name.to_owned(),
            key: key.clone(),
        })?;
        values.insert(key, text);
    }
    for (key, text) in secret.string_data.unwrap_or_default() {
        values.entry(key).or_insert(text);
    }
    Ok(values)
}

/// Everything needed to deliver through `provider`.
pub async fn resolve(
    client: &Client,
    provider: &Provider,
) -> Result<(ProviderSettings, Transport), ResolveError> {
    let namespace = provider.namespace().unwrap_or_default();
    let spec = &provider.spec;
    refuse_unsupported(spec)?;
    let mut settings = ProviderSettings {
        name: provider.name_any(),
        namespace: namespace.clone(),
        uid: provider.metadata.uid.clone().unwrap_or_default(),
        address: spec.address.clone().unwrap_or_default(),
        channel: spec.channel.clone().unwrap_or_default(),
        username: spec.username.clone().unwrap_or_default(),
        ..ProviderSettings::default()
    };
    let timeout = match spec.timeout.as_deref() {
        Some(text) if !text.is_empty() => {
            eddy_runtime::cli::parse_duration(text).map_err(ResolveError::Timeout)?
        }
        _ => DEFAULT_TIMEOUT,
    };
    let mut transport = Transport {
        timeout,
        ..Transport::default()
    };
    if let Some(proxy) = spec.proxy.as_deref().filter(|p| !p.is_empty()) {
        transport.proxy = Some(ProxySettings {
            address: proxy.to_owned(),
            ..ProxySettings::default()
        });
    }
    if let Some(reference) = &spec.secret_ref {
        let values = read_secret(client, &namespace, &reference.name).await?;
        if let Some(address) = values.get("address").filter(|a| !a.trim().is_empty()) {
            settings.address = address.trim().to_owned();
        }
        settings.token = values.get("token").map(|t| t.trim().to_owned());
        if let Some(username) = values.get("username") {
            settings.username = username.clone();
        }
        settings.password = values.get("password").cloned();
        if let Some(headers) = values.get("headers") {
            settings.headers = parse_headers(&reference.name, headers)?;
        }
        if let Some(proxy) = values.get("proxy").filter(|p| !p.trim().is_empty()) {
            transport.proxy = Some(ProxySettings {
                address: proxy.trim().to_owned(),
                ..ProxySettings::default()
            });
        }
    }
    if let Some(reference) = &spec.proxy_secret_ref {
        let values = read_secret(client, &namespace, &reference.name).await?;
        let address = values
            .get("address")
            .filter(|a| !a.trim().is_empty())
            .ok_or_else(|| ResolveError::MissingKey {
                name: reference.name.clone(),
                key: "address".into(),
            })?;
        transport.proxy = Some(ProxySettings {
            address: address.trim().to_owned(),
            username: values.get("username").cloned(),
            password: values.get("password").cloned(),
        });
    }
    if let Some(reference) = &spec.cert_secret_ref {
        let values = read_secret(client, &namespace, &reference.name).await?;
        transport.ca_pem = values.get("ca.crt").map(|ca| ca.clone().into_bytes());
        if let (Some(cert), Some(key)) = (values.get("tls.crt"), values.get("tls.key")) {
            transport.client_identity_pem = Some(format!("{cert}\n{key}").into_bytes());
        }
    }
    Ok((settings, transport))
}

/// The Secret's `headers` value: a YAML map of header names to values.
fn parse_headers(secret_name: &str, text: &str) -> Result<BTreeMap<String, String>, ResolveError> {
    serde_yaml_ng::from_str::<Option<BTreeMap<String, String>>>(text)
        .map(Option::unwrap_or_default)
        .map_err(|error| ResolveError::Headers {
            name: secret_name.to_owned(),
            // Only the position: the parser's message may quote header values.
            reason: error.location().map_or_else(
                || "unreadable".to_owned(),
                |at| format!("error at line {} column {}", at.line(), at.column()),
            ),
        })
}

/// The values that must never appear in a log line, event or status.
pub fn secrets_of(settings: &ProviderSettings, transport: &Transport) -> Vec<String> {
    let mut secrets: Vec<String> = settings
        .token
        .iter()
        .chain(settings.password.iter())
        .cloned()
        .collect();
    secrets.extend(settings.headers.values().cloned());
    // Webhook URLs (Slack, Discord, Teams) are secrets in themselves.
    if !settings.address.is_empty() {
        secrets.push(settings.address.clone());
    }
    if let Some(proxy) = &transport.proxy {
        secrets.extend(proxy.password.iter().cloned());
    }
    secrets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: serde_json::Value) -> ProviderSpec {
        let mut spec = serde_json::json!({"type": "generic", "address": "http://hook"});
        for (key, value) in extra.as_object().unwrap() {
            spec[key] = value.clone();
        }
        serde_json::from_value(spec).unwrap()
    }

    #[test]
    fn a_service_account_is_refused_by_name_and_nothing_else_is() {
        let error = refuse_unsupported(&spec(serde_json::json!({"serviceAccountName": "pubsub"})))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "spec.serviceAccountName is not supported yet"
        );
        assert!(refuse_unsupported(&spec(serde_json::json!({"serviceAccountName": ""}))).is_ok());
        let every_other_field = serde_json::json!({
            "interval": "5m", "channel": "c", "username": "u", "timeout": "10s",
            "proxy": "http://proxy", "proxySecretRef": {"name": "p"}, "secretRef": {"name": "s"},
            "certSecretRef": {"name": "c"}, "suspend": false, "commitStatusExpr": "event.reason",
        });
        assert!(refuse_unsupported(&spec(every_other_field)).is_ok());
    }

    #[test]
    fn headers_parse_and_errors_do_not_quote_values() {
        let headers = parse_headers("s", "X-Team: web\nAuthorization: Bearer abc\n").unwrap();
        assert_eq!(headers["Authorization"], "Bearer abc");
        assert!(parse_headers("s", "").unwrap().is_empty());
        let error = parse_headers("s", "Authorization: [Bearer supersecret\n")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("supersecret"), "{error}");
        assert!(error.contains("secret 's'"), "{error}");
    }
}
