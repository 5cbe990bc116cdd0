//! Sprig's hashing, random and symmetric-crypto functions. Outputs that are random by design
//! are tested for their shape only.

use base64::Engine;
use rand::Rng;
use rand::seq::SliceRandom;
use sha1::Digest;

use crate::error::FuncError;
use crate::funcs::{FuncMap, Param, int_arg, str_arg};
use crate::value::Value;

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const NUMERIC: &[u8] = b"0123456789";

/// Random strings are capped so a template cannot ask for gigabytes.
const MAX_RANDOM_LEN: i64 = 1 << 20;

fn random_from(alphabet: &[u8], count: i64) -> Result<Value, FuncError> {
    if count < 0 {
        return Err(FuncError::msg(format!(
            "Requested random string length {count} is less than 0."
        )));
    }
    if count > MAX_RANDOM_LEN {
        return Err(FuncError::msg("requested random string is too long"));
    }
    let mut rng = rand::thread_rng();
    let text: String = (0..count)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect();
    Ok(Value::string(text))
}

pub fn register(map: &mut FuncMap) {
    use Param::{Int, String as Str};
    map.add("sha1sum", &[Str], |_, a| {
        Ok(Value::string(hex::encode(sha1::Sha1::digest(str_arg(
            &a, 0,
        )))))
    });
    map.add("sha256sum", &[Str], |_, a| {
        Ok(Value::string(hex::encode(sha2::Sha256::digest(str_arg(
            &a, 0,
        )))))
    });
    map.add("sha512sum", &[Str], |_, a| {
        Ok(Value::string(hex::encode(sha2::Sha512::digest(str_arg(
            &a, 0,
        )))))
    });
    map.add("adler32sum", &[Str], |_, a| {
        Ok(Value::string(
            adler32(str_arg(&a, 0).as_bytes()).to_string(),
        ))
    });
    map.add("randAlphaNum", &[Int], |_, a| {
        random_from(ALPHANUMERIC, int_arg(&a, 0))
    });
    map.add("randAlpha", &[Int], |_, a| {
        random_from(ALPHA, int_arg(&a, 0))
    });
    map.add("randNumeric", &[Int], |_, a| {
        random_from(NUMERIC, int_arg(&a, 0))
    });
    map.add("randAscii", &[Int], |_, a| {
        let printable: Vec<u8> = (32u8..=126).collect();
        random_from(&printable, int_arg(&a, 0))
    });
    map.add("shuffle", &[Str], |_, a| {
        let mut chars: Vec<char> = str_arg(&a, 0).chars().collect();
        chars.shuffle(&mut rand::thread_rng());
        Ok(Value::string(chars.into_iter().collect::<String>()))
    });
    map.add("randBytes", &[Int], |_, a| {
        let count = int_arg(&a, 0);
        if !(0..=MAX_RANDOM_LEN).contains(&count) {
            return Err(FuncError::msg(format!(
                "runtime error: makeslice: len out of range ({count})"
            )));
        }
        let mut bytes = vec![0u8; count as usize];
        rand::thread_rng().fill(&mut bytes[..]);
        Ok(Value::string(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        ))
    });
    map.add("uuidv4", &[], |_, _| Ok(Value::string(uuid_v4())));
    map.add(
        "derivePassword",
        &[
            Param::UintOf(crate::value::UintKind::Uint32),
            Str,
            Str,
            Str,
            Str,
        ],
        |_, a| {
            let counter = match a[0] {
                Value::Uint(n, _) => n as u32,
                _ => 0,
            };
            Ok(Value::string(derive_password(
                counter,
                str_arg(&a, 1),
                str_arg(&a, 2),
                str_arg(&a, 3),
                str_arg(&a, 4),
            )))
        },
    );
    map.add("encryptAES", &[Str, Str], |_, a| {
        encrypt_aes(str_arg(&a, 0), str_arg(&a, 1)).map(Value::string)
    });
    map.add("decryptAES", &[Str, Str], |_, a| {
        decrypt_aes(str_arg(&a, 0), str_arg(&a, 1)).map(Value::string)
    });
}

const MASTER_PASSWORD_SEED: &str = "com.lyndir.masterpassword";

/// The Master Password templates per password type (Sprig's table).
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_characters(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// Sprig's `derivePassword`: the Master Password algorithm (scrypt key, HMAC-SHA256 seed).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    use hmac::Mac;
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    salt.extend((user.len() as u32).to_be_bytes());
    salt.extend(user.as_bytes());
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .map_err(|e| e.to_string())
        .and_then(|params| {
            scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key).map_err(|e| e.to_string())
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let mut message = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    message.extend((site.len() as u32).to_be_bytes());
    message.extend(site.as_bytes());
    message.extend(counter.to_be_bytes());
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return "failed to derive password".to_string();
    };
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, class)| {
            let chars = template_characters(class);
            chars[usize::from(seed[i + 1]) % chars.len()] as char
        })
        .collect()
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let bytes = password.as_bytes();
    let n = bytes.len().min(32);
    key[..n].copy_from_slice(&bytes[..n]);
    key
}

/// AES-256-CBC with PKCS#7 padding and a random IV in front, base64-encoded (Sprig's format).
fn encrypt_aes(password: &str, plaintext: &str) -> Result<String, FuncError> {
    use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
    if plaintext.is_empty() {
        return Ok(String::new());
    }
    let cipher = aes::Aes256::new(GenericArray::from_slice(&aes_key(password)));
    let mut content = plaintext.as_bytes().to_vec();
    let padding = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(padding as u8, padding));
    let mut iv = [0u8; 16];
    rand::thread_rng().fill(&mut iv);
    let mut out = iv.to_vec();
    let mut previous = iv;
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for i in 0..16 {
            block[i] = chunk[i] ^ previous[i];
        }
        let mut ga = GenericArray::clone_from_slice(&block);
        cipher.encrypt_block(&mut ga);
        previous.copy_from_slice(&ga);
        out.extend_from_slice(&ga);
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

fn decrypt_aes(password: &str, encoded: &str) -> Result<String, FuncError> {
    use aes::cipher::{BlockDecrypt, KeyInit, generic_array::GenericArray};
    if encoded.is_empty() {
        return Ok(String::new());
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| FuncError::msg(format!("illegal base64 data: {e}")))?;
    if data.len() < 16 || data.len() % 16 != 0 {
        return Err(FuncError::msg("crypto/cipher: input not full blocks"));
    }
    let cipher = aes::Aes256::new(GenericArray::from_slice(&aes_key(password)));
    let mut previous: Vec<u8> = data[..16].to_vec();
    let mut out = Vec::new();
    for chunk in data[16..].chunks(16) {
        let mut ga = GenericArray::clone_from_slice(chunk);
        cipher.decrypt_block(&mut ga);
        for i in 0..16 {
            out.push(ga[i] ^ previous[i]);
        }
        previous = chunk.to_vec();
    }
    let padding = usize::from(*out.last().unwrap_or(&0));
    if padding == 0 || padding > out.len() {
        return Err(FuncError::msg("runtime error: slice bounds out of range"));
    }
    out.truncate(out.len() - padding);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_matches_known_value() {
        assert_eq!(adler32(b"Wikipedia"), 300_286_872);
    }

    #[test]
    fn aes_round_trips() {
        let secret = encrypt_aes("key", "hello world").unwrap();
        assert_eq!(decrypt_aes("key", &secret).unwrap(), "hello world");
    }

    #[test]
    fn uuid_has_version_four_shape() {
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        assert!(re.is_match(&uuid_v4()));
    }
}
