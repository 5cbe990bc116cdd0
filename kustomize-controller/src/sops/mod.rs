//! SOPS: decrypting Secrets encrypted in Git, in memory, just before they are applied.

use eddy_api::kustomize::Kustomization;
use serde_json::Value;

/// The per-object opt-out of decryption.
pub const DECRYPT_KEY: &str = "kustomize.toolkit.fluxcd.io/decrypt";

/// Whether `object` is a Secret carrying SOPS metadata.
pub fn is_encrypted_secret(object: &Value) -> bool {
    object["kind"] == "Secret" && object["apiVersion"] == "v1" && object.get("sops").is_some()
}

/// Decrypts the SOPS-encrypted Secrets in `objects` with the keys the Kustomization names.
/// An encrypted Secret without `spec.decryption` is an error: applying it would store
/// ciphertext as if it were the secret.
pub async fn decrypt_objects(
    _client: &kube::Client,
    ks: &Kustomization,
    objects: &mut [Value],
) -> Result<(), String> {
    for object in objects.iter() {
        if !is_encrypted_secret(object) {
            continue;
        }
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if ks.spec.decryption.is_none() {
            return Err(format!(
                "Secret/{name} is SOPS-encrypted, configuring decryption is required for this secret to be reconciled"
            ));
        }
        return Err(format!(
            "Secret/{name}: SOPS decryption is not implemented yet"
        ));
    }
    Ok(())
}
