//! Reading the public half out of an OpenSSH private key.
//!
//! libssh2 cannot derive the public key of an encrypted OpenSSH key by itself, so the
//! credentials hand it over; the bootstrap also stores it as `identity.pub`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

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
