//! The `flux-system` Secret source-controller reads to pull the repository, with the keys Flux
//! writes: `username`/`password` (and `ca.crt`) for HTTP(S); `identity`, `identity.pub`,
//! `known_hosts` (and the key's `password`) for SSH.

use std::collections::BTreeMap;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

/// The Secret's keys and values (plain text; encoded when the object is built).
pub type SecretData = BTreeMap<&'static str, String>;

pub fn secret_object(name: &str, namespace: &str, data: &SecretData) -> Value {
    let encoded: serde_json::Map<String, Value> = data
        .iter()
        .map(|(key, value)| ((*key).to_string(), json!(STANDARD.encode(value))))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "data": encoded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_base64_encoded_under_flux_key_names() {
        let data = SecretData::from([
            ("username", "git".to_string()),
            ("password", "s3cret".into()),
        ]);
        let secret = secret_object("flux-system", "flux-system", &data);
        assert_eq!(secret["data"]["username"], "Z2l0");
        assert_eq!(secret["data"]["password"], "czNjcmV0");
        assert_eq!(secret["metadata"]["namespace"], "flux-system");
    }
}
