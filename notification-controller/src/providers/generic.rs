//! `generic` and `generic-hmac`: the event itself, POSTed as JSON to any endpoint.

use hmac::{Hmac, Mac};
use reqwest::Method;
use sha2::Sha256;

use super::{OutgoingRequest, ProviderError, ProviderSettings, require_address, require_token};
use crate::event::FluxEvent;

/// Header naming the controller that emitted the event.
pub const COMPONENT_HEADER: &str = "Gotk-Component";
/// Header carrying `sha256=<hex HMAC>` of the body for generic-hmac.
pub const SIGNATURE_HEADER: &str = "X-Signature";

/// The event JSON with `Gotk-Component` and the Secret's extra headers.
pub fn generic(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let address = require_address(settings)?;
    let body = serde_json::to_value(event).unwrap_or_default();
    let mut request = OutgoingRequest::json(Method::POST, address, &body)
        .header(COMPONENT_HEADER, event.reporting_controller.clone());
    for (name, value) in &settings.headers {
        request = request.header(name, value.clone());
    }
    if let (Some(password), false) = (&settings.password, settings.username.is_empty()) {
        request = request.header(
            "Authorization",
            format!("Basic {}", basic_credentials(&settings.username, password)),
        );
    }
    Ok(request)
}

/// [`generic`] signed with the token: `X-Signature: sha256=<hex HMAC-SHA256 of the body>`.
pub fn generic_hmac(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let token = require_token(settings)?.to_owned();
    let request = generic(settings, event)?;
    let signature = format!(
        "sha256={}",
        hmac_sha256_hex(token.as_bytes(), &request.body)
    );
    Ok(request.header(SIGNATURE_HEADER, signature))
}

/// Hex HMAC-SHA256 of `body` keyed with `key`.
pub fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so construction cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// `base64(user:password)` for HTTP basic authentication.
pub(crate) fn basic_credentials(username: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn generic_posts_the_event_with_component_and_custom_headers() {
        let mut settings = settings("http://hooks.local/flux");
        settings.headers.insert("X-Team".into(), "web".into());
        let request = generic(&settings, &event("info")).unwrap();
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.url, "http://hooks.local/flux");
        assert!(
            request
                .headers
                .contains(&("Gotk-Component".into(), "kustomize-controller".into()))
        );
        assert!(request.headers.contains(&("X-Team".into(), "web".into())));
        let json = body(&request);
        assert_eq!(json["involvedObject"]["kind"], "Kustomization");
        assert_eq!(
            json["metadata"]["revision"],
            "main@sha1:0123456789abcdef0123456789abcdef01234567"
        );
    }

    #[test]
    fn generic_hmac_signs_the_exact_body() {
        let mut settings = settings("http://hooks.local/flux");
        assert_eq!(
            generic_hmac(&settings, &event("info")).unwrap_err(),
            ProviderError::MissingToken
        );
        settings.token = Some("key".into());
        let request = generic_hmac(&settings, &event("info")).unwrap();
        let (_, signature) = request
            .headers
            .iter()
            .find(|(n, _)| n == SIGNATURE_HEADER)
            .unwrap();
        assert_eq!(
            *signature,
            format!("sha256={}", hmac_sha256_hex(b"key", &request.body))
        );
        // RFC 4231 test case 2 pins the HMAC itself.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn missing_address_is_an_error() {
        assert_eq!(
            generic(&settings(""), &event("info")).unwrap_err(),
            ProviderError::MissingAddress
        );
        assert_eq!(basic_credentials("a", "b"), "YTpi");
    }
}
