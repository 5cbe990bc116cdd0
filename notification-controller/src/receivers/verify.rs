//! Deciding whether a webhook call is genuine, per sender type, before anything else happens.

use eddy_api::notification::{ReceiverSpec, ReceiverType};
use hmac::{Hmac, Mac};
use http::HeaderMap;

/// What to do with a verified call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Annotate the Receiver's resources.
    Reconcile,
    /// A connectivity check (GitHub `ping`, Bitbucket `diagnostics:ping`): answer, do nothing.
    Pong,
}

/// Why a call was refused (answered with 400). Never includes the token.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("invalid signature in {0}")]
    BadSignature(&'static str),
    #[error("unsupported signature algorithm in {0}")]
    UnsupportedAlgorithm(&'static str),
    #[error("invalid token in {0}")]
    BadToken(&'static str),
    #[error("event type '{0}' is not in the receiver's events list")]
    EventNotAllowed(String),
    #[error("the payload is not valid JSON: {0}")]
    Payload(String),
    #[error("receiver type '{0}' is not supported by Eddy")]
    UnsupportedType(&'static str),
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

/// Verifies a call to a Receiver of `spec` whose secret token is `token`.
pub fn verify(
    spec: &ReceiverSpec,
    token: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verdict, VerifyError> {
    use ReceiverType as T;
    match spec.type_ {
        T::Generic => Ok(Verdict::Reconcile),
        T::GenericHmac => {
            verify_prefixed_hmac(headers, "X-Signature", token, body)?;
            Ok(Verdict::Reconcile)
        }
        T::Github => {
            if header(headers, "X-Hub-Signature-256").is_some() {
                verify_prefixed_hmac(headers, "X-Hub-Signature-256", token, body)?;
            } else {
                verify_prefixed_hmac(headers, "X-Hub-Signature", token, body)?;
            }
            let event = header(headers, "X-GitHub-Event")
                .ok_or(VerifyError::MissingHeader("X-GitHub-Event"))?;
            if event == "ping" {
                return Ok(Verdict::Pong);
            }
            allowed(spec, event)
        }
        T::Gitlab => {
            let given = header(headers, "X-Gitlab-Token")
                .ok_or(VerifyError::MissingHeader("X-Gitlab-Token"))?;
            if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
                return Err(VerifyError::BadToken("X-Gitlab-Token"));
            }
            allowed(spec, header(headers, "X-Gitlab-Event").unwrap_or_default())
        }
        T::Bitbucket => {
            verify_prefixed_hmac(headers, "X-Hub-Signature", token, body)?;
            let event =
                header(headers, "X-Event-Key").ok_or(VerifyError::MissingHeader("X-Event-Key"))?;
            if event == "diagnostics:ping" {
                return Ok(Verdict::Pong);
            }
            allowed(spec, event)
        }
        T::Harbor => {
            let given = header(headers, "Authorization")
                .ok_or(VerifyError::MissingHeader("Authorization"))?;
            if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
                return Err(VerifyError::BadToken("Authorization"));
            }
            Ok(Verdict::Reconcile)
        }
        T::Nexus => {
            let given = header(headers, "X-Nexus-Webhook-Signature")
                .ok_or(VerifyError::MissingHeader("X-Nexus-Webhook-Signature"))?;
            if !hmac_matches(HmacAlgorithm::Sha1, token, body, given) {
                return Err(VerifyError::BadSignature("X-Nexus-Webhook-Signature"));
            }
            Ok(Verdict::Reconcile)
        }
        // The path is the only secret for these senders; the payload must at least parse.
        T::Dockerhub | T::Quay | T::Acr => {
            serde_json::from_slice::<serde_json::Value>(body)
                .map_err(|e| VerifyError::Payload(e.to_string()))?;
            Ok(Verdict::Reconcile)
        }
        T::Cdevents => {
            serde_json::from_slice::<serde_json::Value>(body)
                .map_err(|e| VerifyError::Payload(e.to_string()))?;
            allowed(spec, header(headers, "Ce-Type").unwrap_or_default())
        }
        T::Gcr => Err(VerifyError::UnsupportedType("gcr")),
        T::GenericOidc => Err(VerifyError::UnsupportedType("generic-oidc")),
    }
}

fn allowed(spec: &ReceiverSpec, event: &str) -> Result<Verdict, VerifyError> {
    if spec.accepts_event(event) {
        Ok(Verdict::Reconcile)
    } else {
        Err(VerifyError::EventNotAllowed(event.to_owned()))
    }
}

/// GitHub-style `<algorithm>=<hex HMAC of the body>` with `sha1`, `sha256` or `sha512`.
fn verify_prefixed_hmac(
    headers: &HeaderMap,
    name: &'static str,
    token: &str,
    body: &[u8],
) -> Result<(), VerifyError> {
    let value = header(headers, name).ok_or(VerifyError::MissingHeader(name))?;
    let (algorithm, signature) = value
        .split_once('=')
        .ok_or(VerifyError::BadSignature(name))?;
    let valid = match algorithm {
        "sha1" => hmac_matches(HmacAlgorithm::Sha1, token, body, signature),
        "sha256" => hmac_matches(HmacAlgorithm::Sha256, token, body, signature),
        "sha512" => hmac_matches(HmacAlgorithm::Sha512, token, body, signature),
        _ => return Err(VerifyError::UnsupportedAlgorithm(name)),
    };
    if valid {
        Ok(())
    } else {
        Err(VerifyError::BadSignature(name))
    }
}

/// Constant-time check of a hex HMAC (`verify_slice` compares in constant time).
macro_rules! hmac_check {
    ($digest:ty, $token:expr, $body:expr, $hex:expr) => {{
        match (
            hex::decode($hex),
            Hmac::<$digest>::new_from_slice($token.as_bytes()),
        ) {
            (Ok(expected), Ok(mut mac)) => {
                mac.update($body);
                mac.verify_slice(&expected).is_ok()
            }
            _ => false,
        }
    }};
}

#[derive(Clone, Copy)]
enum HmacAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

fn hmac_matches(algorithm: HmacAlgorithm, token: &str, body: &[u8], hex_signature: &str) -> bool {
    match algorithm {
        HmacAlgorithm::Sha1 => hmac_check!(sha1::Sha1, token, body, hex_signature),
        HmacAlgorithm::Sha256 => hmac_check!(sha2::Sha256, token, body, hex_signature),
        HmacAlgorithm::Sha512 => hmac_check!(sha2::Sha512, token, body, hex_signature),
    }
}

/// Compares secrets without an early exit that would leak how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::generic::hmac_sha256_hex;

    fn spec(type_: &str, events: &[&str]) -> ReceiverSpec {
        serde_json::from_value(serde_json::json!({
            "type": type_, "events": events, "resources": [], "secretRef": {"name": "s"}
        }))
        .unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn github_signatures_events_and_ping() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let good = format!("sha256={}", hmac_sha256_hex(b"tok", body));
        let spec = spec("github", &["push"]);
        let call = |signature: &str, event: &str| {
            verify(
                &spec,
                "tok",
                &headers(&[
                    ("X-Hub-Signature-256", signature),
                    ("X-GitHub-Event", event),
                ]),
                body,
            )
        };
        assert_eq!(call(&good, "push"), Ok(Verdict::Reconcile));
        assert_eq!(
            call(&good, "PUSH"),
            Ok(Verdict::Reconcile),
            "event names are case-insensitive"
        );
        assert_eq!(call(&good, "ping"), Ok(Verdict::Pong));
        assert_eq!(
            call(&good, "issues"),
            Err(VerifyError::EventNotAllowed("issues".into()))
        );
        let bad = format!("sha256={}", hmac_sha256_hex(b"wrong", body));
        assert_eq!(
            call(&bad, "push"),
            Err(VerifyError::BadSignature("X-Hub-Signature-256"))
        );
        assert_eq!(
            call("md5=00", "push"),
            Err(VerifyError::UnsupportedAlgorithm("X-Hub-Signature-256"))
        );
        assert_eq!(
            verify(&spec, "tok", &headers(&[("X-GitHub-Event", "push")]), body),
            Err(VerifyError::MissingHeader("X-Hub-Signature"))
        );
        // The body is what is signed: a changed body fails.
        assert!(
            verify(
                &spec,
                "tok",
                &headers(&[("X-Hub-Signature-256", &good), ("X-GitHub-Event", "push")]),
                b"{}"
            )
            .is_err()
        );
    }

    #[test]
    fn gitlab_harbor_and_nexus() {
        let gitlab = spec("gitlab", &[]);
        assert_eq!(
            verify(
                &gitlab,
                "tok",
                &headers(&[("X-Gitlab-Token", "tok"), ("X-Gitlab-Event", "Push Hook")]),
                b"{}"
            ),
            Ok(Verdict::Reconcile)
        );
        assert_eq!(
            verify(
                &gitlab,
                "tok",
                &headers(&[("X-Gitlab-Token", "nope")]),
                b"{}"
            ),
            Err(VerifyError::BadToken("X-Gitlab-Token"))
        );
        assert_eq!(
            verify(&gitlab, "tok", &headers(&[]), b"{}"),
            Err(VerifyError::MissingHeader("X-Gitlab-Token"))
        );
        let harbor = spec("harbor", &[]);
        assert_eq!(
            verify(&harbor, "tok", &headers(&[("Authorization", "tok")]), b"{}"),
            Ok(Verdict::Reconcile)
        );
        let nexus = spec("nexus", &[]);
        // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog") from RFC-style vectors.
        let body = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(
            verify(
                &nexus,
                "key",
                &headers(&[(
                    "X-Nexus-Webhook-Signature",
                    "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
                )]),
                body
            ),
            Ok(Verdict::Reconcile)
        );
        assert!(
            verify(
                &nexus,
                "key",
                &headers(&[("X-Nexus-Webhook-Signature", "00")]),
                body
            )
            .is_err()
        );
    }

    #[test]
    fn generic_hmac_accepts_sha1_sha256_and_sha512() {
        let hmac_spec = spec("generic-hmac", &[]);
        let body = b"payload";
        let sha256 = format!("sha256={}", hmac_sha256_hex(b"tok", body));
        assert_eq!(
            verify(
                &hmac_spec,
                "tok",
                &headers(&[("X-Signature", &sha256)]),
                body
            ),
            Ok(Verdict::Reconcile)
        );
        let mut mac = Hmac::<sha2::Sha512>::new_from_slice(b"tok").unwrap();
        mac.update(body);
        let sha512 = format!("sha512={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(
            verify(
                &hmac_spec,
                "tok",
                &headers(&[("X-Signature", &sha512)]),
                body
            ),
            Ok(Verdict::Reconcile)
        );
        assert!(verify(&hmac_spec, "tok", &headers(&[]), body).is_err());
        assert_eq!(
            verify(&spec("dockerhub", &[]), "t", &headers(&[]), b"not json").map_err(|_| ()),
            Err(())
        );
    }
}
