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

/// The `authorized_keys`-style public key of an OpenSSH-format private key. The public half
/// sits unencrypted in the key's header, so this works for keys with a passphrase too.
pub fn openssh_public_key(private_key: &str) -> Option<String> {
    let body: String = private_key
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .map(str::trim)
        .collect();
    let bytes = STANDARD.decode(body).ok()?;
    let mut rest = bytes.strip_prefix(b"openssh-key-v1\0")?;
    // cipher name, KDF name, KDF options
    for _ in 0..3 {
        let (_, after) = ssh_string(rest)?;
        rest = after;
    }
    let count_bytes: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    let key_count = u32::from_be_bytes(count_bytes);
    if key_count < 1 {
        return None;
    }
    let (public_blob, _) = ssh_string(rest.get(4..)?)?;
    let (key_type, _) = ssh_string(public_blob)?;
    Some(format!(
        "{} {}",
        std::str::from_utf8(key_type).ok()?,
        STANDARD.encode(public_blob)
    ))
}

/// Splits one length-prefixed SSH wire string off `bytes`.
fn ssh_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let prefix: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    let length = u32::from_be_bytes(prefix) as usize;
    let end = 4usize.checked_add(length)?;
    Some((bytes.get(4..end)?, bytes.get(end..)?))
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

    #[test]
    fn derives_the_public_key_of_an_openssh_private_key() {
        // An ed25519 key made with ssh-keygen for this test only (never used anywhere).
        let private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
QyNTUxOQAAACAS/HNyQ20m/57kxo5H617VVCR3ZC7IbE3ybDWffmOKBAAAAJCdTYBgnU2A\n\
YAAAAAtzc2gtZWQyNTUxOQAAACAS/HNyQ20m/57kxo5H617VVCR3ZC7IbE3ybDWffmOKBA\n\
AAAEBG40/g+RFXBsXS5EyR4e2uo65YbGwTPBnaNlG6l4oCJRL8c3JDbSb/nuTGjkfrXtVU\n\
JHdkLshsTfJsNZ9+Y4oEAAAACWVkZHktdGVzdAECAwQ=\n\
-----END OPENSSH PRIVATE KEY-----\n";
        assert_eq!(
            openssh_public_key(private_key).as_deref(),
            Some(
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBL8c3JDbSb/nuTGjkfrXtVUJHdkLshsTfJsNZ9+Y4oE"
            )
        );
        assert_eq!(openssh_public_key("not a key"), None);
    }
}
