//! Delivering a rendered request: an HTTP client per provider (timeout, CA, client certificate,
//! proxy), retries on server errors and timeouts, and error texts with secrets masked.

use std::time::Duration;

use super::OutgoingRequest;

/// How many times a request is tried before the failure is reported.
pub const ATTEMPTS: u32 = 3;
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
/// How much of an error response body is quoted in the failure message.
const BODY_QUOTE_LIMIT: usize = 300;

/// A proxy from the Provider's `proxySecretRef` (or the deprecated `spec.proxy`).
#[derive(Clone, Default)]
pub struct ProxySettings {
    pub address: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Connection settings of one Provider.
#[derive(Clone, Default)]
pub struct Transport {
    pub timeout: Duration,
    /// PEM CA bundle (`ca.crt`) trusted in addition to the system roots.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate and key (`tls.crt` + `tls.key`) for mutual TLS.
    pub client_identity_pem: Option<Vec<u8>>,
    pub proxy: Option<ProxySettings>,
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("invalid TLS or proxy settings: {0}")]
    Client(String),
    #[error("{method} {endpoint} failed: {reason}")]
    Transport {
        method: String,
        endpoint: String,
        reason: String,
    },
    #[error("{method} {endpoint} answered {status}: {body}")]
    Status {
        method: String,
        endpoint: String,
        status: u16,
        body: String,
    },
}

/// Builds the HTTP client for a Provider.
pub fn build_client(transport: &Transport) -> Result<reqwest::Client, SendError> {
    let mut builder = reqwest::Client::builder().timeout(transport.timeout);
    if let Some(ca) = &transport.ca_pem {
        for certificate in reqwest::Certificate::from_pem_bundle(ca)
            .map_err(|error| SendError::Client(format!("ca.crt: {error}")))?
        {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if let Some(identity) = &transport.client_identity_pem {
        let identity = reqwest::Identity::from_pem(identity)
            .map_err(|error| SendError::Client(format!("tls.crt/tls.key: {error}")))?;
        builder = builder.identity(identity);
    }
    if let Some(proxy) = &transport.proxy {
        let mut settings = reqwest::Proxy::all(&proxy.address).map_err(|error| {
            SendError::Client(format!("proxy address: {}", error.without_url()))
        })?;
        if let (Some(username), Some(password)) = (&proxy.username, &proxy.password) {
            settings = settings.basic_auth(username, password);
        }
        builder = builder.proxy(settings);
    }
    builder
        .build()
        .map_err(|error| SendError::Client(error.to_string()))
}

/// Sends `request`, retrying transport errors and 5xx answers; 4xx answers fail at once.
/// `secrets` are masked in the retry log lines.
pub async fn send(
    client: &reqwest::Client,
    request: &OutgoingRequest,
    secrets: &[&str],
) -> Result<(), SendError> {
    let mut delay = FIRST_RETRY_DELAY;
    let mut attempt = 1;
    loop {
        match send_once(client, request).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                let retryable = match &error {
                    SendError::Transport { .. } => true,
                    SendError::Status { status, .. } => *status >= 500 || *status == 429,
                    SendError::Client(_) => false,
                };
                if !retryable || attempt >= ATTEMPTS {
                    return Err(error);
                }
                let error = mask(&error.to_string(), secrets);
                tracing::debug!(attempt, %error, "notification delivery failed; retrying");
            }
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
        attempt += 1;
    }
}

async fn send_once(client: &reqwest::Client, request: &OutgoingRequest) -> Result<(), SendError> {
    let endpoint = endpoint_for_messages(&request.url);
    let method = request.method.to_string();
    let mut builder = client
        .request(request.method.clone(), &request.url)
        .body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.map_err(|error| SendError::Transport {
        method: method.clone(),
        endpoint: endpoint.clone(),
        reason: describe(&error),
    })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(SendError::Status {
            method,
            endpoint,
            status: status.as_u16(),
            body: quote(&text),
        });
    }
    // Slack's and Telegram's APIs answer 200 with `{"ok": false, ...}` on errors.
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
        && json.get("ok") == Some(&serde_json::Value::Bool(false))
    {
        return Err(SendError::Status {
            method,
            endpoint,
            status: status.as_u16(),
            body: quote(&text),
        });
    }
    Ok(())
}

/// Only scheme, host and port: webhook URLs often carry their secret in the path or query.
fn endpoint_for_messages(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default(),
            parsed
                .port()
                .map(|port| format!(":{port}"))
                .unwrap_or_default()
        ),
        Err(_) => "<invalid URL>".to_owned(),
    }
}

fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn quote(text: &str) -> String {
    let mut end = text.len().min(BODY_QUOTE_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim().to_owned()
}

/// Replaces every occurrence of each non-empty secret with `*****`.
pub fn mask(text: &str, secrets: &[&str]) -> String {
    let mut masked = text.to_owned();
    for secret in secrets.iter().map(|secret| secret.trim()) {
        if secret.len() >= 3 {
            masked = masked.replace(secret, "*****");
        }
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_in_messages_hide_paths_and_queries() {
        assert_eq!(
            endpoint_for_messages("https://hooks.slack.com/services/T/B/secret?x=1"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            endpoint_for_messages("http://127.0.0.1:8080/x"),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn masking_replaces_every_secret() {
        assert_eq!(
            mask(
                "token abc123 and abc123 again, pw hunter2",
                &["abc123", "hunter2", ""]
            ),
            "token ***** and ***** again, pw *****"
        );
    }
}
