//! One SOPS value: the `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` string and its decryption.
//!
//! Every encrypted leaf of a SOPS document is sealed on its own with AES-256-GCM under the
//! document's data key. The nonce is 32 bytes (not GCM's usual 12) and the additional
//! authenticated data is the leaf's path of mapping keys, each followed by `:` (`data:password:`
//! for `data.password`), so a value moved to another key no longer authenticates. The MAC is
//! sealed the same way with the document's `lastmodified` string as additional data.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// AES-256-GCM with the 32-byte nonce SOPS uses.
type SopsAesGcm = AesGcm<Aes256, U32>;

/// The data key length: AES-256.
pub const DATA_KEY_LEN: usize = 32;

/// Why a single value could not be decrypted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CipherError {
    #[error("value is not in SOPS' ENC[AES256_GCM,...] format")]
    NotEncrypted,
    #[error("invalid base64 in the {0} field of an encrypted value")]
    Base64(&'static str),
    #[error("the {0} field of an encrypted value has the wrong length")]
    Length(&'static str),
    #[error(
        "AES-GCM authentication failed (the value was altered, moved to another key, or the data key is wrong)"
    )]
    Authentication,
    #[error("unknown value type '{0}'")]
    UnknownType(String),
    #[error("decrypted value is not a valid {kind}: {value:?}")]
    BadPlaintext { kind: &'static str, value: String },
}

/// The fields of an `ENC[...]` string, still encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedValue<'a> {
    pub data: &'a str,
    pub iv: &'a str,
    pub tag: &'a str,
    pub value_type: &'a str,
}

impl<'a> EncryptedValue<'a> {
    /// Splits `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<name>]`. Base64 never
    /// contains `,`, so splitting on it is exact.
    pub fn parse(text: &'a str) -> Result<Self, CipherError> {
        let inner = text
            .strip_prefix("ENC[AES256_GCM,")
            .and_then(|rest| rest.strip_suffix(']'))
            .ok_or(CipherError::NotEncrypted)?;
        let mut fields = inner.splitn(4, ',');
        let mut field = |name: &str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .and_then(|f| f.strip_prefix(':'))
                .ok_or(CipherError::NotEncrypted)
        };
        Ok(Self {
            data: field("data")?,
            iv: field("iv")?,
            tag: field("tag")?,
            value_type: field("type")?,
        })
    }
}

/// Whether `text` looks like an encrypted SOPS value.
pub fn is_encrypted_value(text: &str) -> bool {
    EncryptedValue::parse(text).is_ok()
}

/// A decrypted leaf, typed as SOPS recorded it.
#[derive(Debug, Clone, PartialEq)]
pub enum Plain {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `bytes` values: raw bytes that need not be UTF-8.
    Bytes(Vec<u8>),
    /// `time` values keep the text SOPS encrypted (RFC 3339), which is also what its MAC hashed.
    Time(String),
    /// An encrypted YAML comment: dropped from the output and not part of the MAC.
    Comment(String),
}

/// Decrypts one `ENC[...]` string with the data key; `additional_data` is the leaf's key path
/// (see the module docs).
pub fn decrypt_value(
    text: &str,
    data_key: &[u8; DATA_KEY_LEN],
    additional_data: &str,
) -> Result<Plain, CipherError> {
    let bytes = open(text, data_key, additional_data)?;
    let parsed = EncryptedValue::parse(text)?;
    let as_text = |kind: &'static str| {
        String::from_utf8(bytes.clone()).map_err(|e| CipherError::BadPlaintext {
            kind,
            value: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    };
    let bad = |kind: &'static str, value: &str| CipherError::BadPlaintext {
        kind,
        value: value.to_owned(),
    };
    Ok(match parsed.value_type {
        "str" => Plain::Str(as_text("string")?),
        "int" => {
            let text = as_text("integer")?;
            Plain::Int(text.parse().map_err(|_| bad("integer", &text))?)
        }
        "float" => {
            let text = as_text("float")?;
            Plain::Float(text.parse().map_err(|_| bad("float", &text))?)
        }
        "bool" => {
            let text = as_text("boolean")?;
            Plain::Bool(parse_go_bool(&text).ok_or_else(|| bad("boolean", &text))?)
        }
        "bytes" => Plain::Bytes(bytes),
        "time" => Plain::Time(as_text("timestamp")?),
        "comment" => Plain::Comment(as_text("comment")?),
        other => return Err(CipherError::UnknownType(other.to_owned())),
    })
}

/// Decrypts one `ENC[...]` string to its raw bytes, ignoring the recorded type.
pub fn open(
    text: &str,
    data_key: &[u8; DATA_KEY_LEN],
    additional_data: &str,
) -> Result<Vec<u8>, CipherError> {
    let parsed = EncryptedValue::parse(text)?;
    let decode = |field: &'static str, value: &str| {
        STANDARD
            .decode(value)
            .map_err(|_| CipherError::Base64(field))
    };
    let mut sealed = decode("data", parsed.data)?;
    let iv = decode("iv", parsed.iv)?;
    let tag = decode("tag", parsed.tag)?;
    if iv.len() != 32 {
        return Err(CipherError::Length("iv"));
    }
    if tag.len() != 16 {
        return Err(CipherError::Length("tag"));
    }
    // GCM implementations expect the tag appended to the ciphertext.
    sealed.extend_from_slice(&tag);
    let cipher = SopsAesGcm::new(Key::<SopsAesGcm>::from_slice(data_key));
    cipher
        .decrypt(
            Nonce::<U32>::from_slice(&iv),
            Payload {
                msg: &sealed,
                aad: additional_data.as_bytes(),
            },
        )
        .map_err(|_| CipherError::Authentication)
}

/// The spellings Go's `strconv.ParseBool` accepts, which is what SOPS uses.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The additional data of a leaf at `path` (mapping keys from the root).
pub fn additional_data(path: &[String]) -> String {
    let mut out = String::new();
    for key in path {
        out.push_str(key);
        out.push(':');
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Seals `plaintext` the way SOPS does, for tests of the decrypting side.
    pub(crate) fn seal(
        plaintext: &[u8],
        value_type: &str,
        data_key: &[u8; DATA_KEY_LEN],
        additional_data: &str,
        iv: [u8; 32],
    ) -> String {
        let cipher = SopsAesGcm::new(Key::<SopsAesGcm>::from_slice(data_key));
        let nonce = Nonce::<U32>::from_slice(&iv);
        let out = cipher
            .encrypt(
                nonce,
                Payload {
                    msg: plaintext,
                    aad: additional_data.as_bytes(),
                },
            )
            .unwrap();
        let (data, tag) = out.split_at(out.len() - 16);
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{value_type}]",
            STANDARD.encode(data),
            STANDARD.encode(iv),
            STANDARD.encode(tag)
        )
    }

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn parses_the_four_fields() {
        let parsed =
            EncryptedValue::parse("ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:str]").unwrap();
        assert_eq!(parsed.data, "YQ==");
        assert_eq!(parsed.iv, "Yg==");
        assert_eq!(parsed.tag, "Yw==");
        assert_eq!(parsed.value_type, "str");
        assert!(!is_encrypted_value("plain"));
        assert!(!is_encrypted_value("ENC[AES256_GCM,data:YQ==,iv:Yg==]"));
    }

    #[test]
    fn round_trips_each_type() {
        let cases = [
            ("hello", "str", Plain::Str("hello".into())),
            ("42", "int", Plain::Int(42)),
            ("1.5", "float", Plain::Float(1.5)),
            ("True", "bool", Plain::Bool(true)),
            ("False", "bool", Plain::Bool(false)),
            ("note", "comment", Plain::Comment("note".into())),
        ];
        for (text, value_type, expected) in cases {
            let sealed = seal(text.as_bytes(), value_type, &KEY, "a:b:", [1; 32]);
            assert_eq!(decrypt_value(&sealed, &KEY, "a:b:").unwrap(), expected);
        }
    }

    #[test]
    fn wrong_path_or_key_fails_authentication() {
        let sealed = seal(b"secret", "str", &KEY, "data:password:", [2; 32]);
        assert_eq!(
            decrypt_value(&sealed, &KEY, "data:username:"),
            Err(CipherError::Authentication)
        );
        assert_eq!(
            decrypt_value(&sealed, &[8; 32], "data:password:"),
            Err(CipherError::Authentication)
        );
    }

    #[test]
    fn additional_data_joins_keys_with_trailing_colons() {
        assert_eq!(
            additional_data(&["data".to_owned(), "password".to_owned()]),
            "data:password:"
        );
        assert_eq!(additional_data(&[]), "");
    }
}
