//! Webhook receivers: request verification per sender type, and the reconcile requests a
//! verified call turns into.

pub mod annotate;
pub mod verify;

use sha2::{Digest, Sha256};

/// `/hook/<hex sha256(token + name + namespace)>`: unguessable without the token, stable for the
/// life of the Receiver, and different for two Receivers sharing a token.
pub fn webhook_path(token: &str, name: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{token}{name}{namespace}").as_bytes());
    format!("/hook/{}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_path_is_the_sha256_of_token_name_and_namespace() {
        // sha256("tokenappflux-system"), computed independently with coreutils.
        assert_eq!(
            webhook_path("token", "app", "flux-system"),
            "/hook/3abdcd363ade7e61ed68975052bd1a75d8eeb1efa71fc6201901c8b575c159b9"
        );
        assert_ne!(webhook_path("t", "a", "b"), webhook_path("t", "b", "a"));
        assert_eq!(webhook_path("t", "a", "b").len(), "/hook/".len() + 64);
    }
}
