//! Sprig's key and certificate functions (`genPrivateKey`, `genCA`, `genSelfSignedCert`,
//! `genSignedCert`, their `…WithKey` forms, `buildCustomCert`) and password hashes (`bcrypt`,
//! `htpasswd`), with Sprig's key types, PEM block types, validity and key-usage settings. Their
//! output is random by design; tests check its shape and that it verifies.

use std::rc::Rc;

use base64::Engine;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509NameBuilder};

use crate::error::FuncError;
use crate::funcs::convert::strval;
use crate::funcs::{FuncMap, Param, int_arg, str_arg};
use crate::value::{HostObject, Value};

/// Sprig's `certificate` struct: `.Cert` and `.Key`, PEM-encoded.
#[derive(Debug)]
struct Certificate {
    cert: String,
    key: String,
}

impl HostObject for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::string(self.cert.as_str())),
            "Key" => Some(Value::string(self.key.as_str())),
            _ => None,
        }
    }
    fn fields(&self) -> Vec<(String, Value)> {
        vec![
            ("Cert".to_string(), Value::string(self.cert.as_str())),
            ("Key".to_string(), Value::string(self.key.as_str())),
        ]
    }
    fn display(&self) -> Option<String> {
        Some(format!("{{{} {}}}", self.cert, self.key))
    }
}

fn err(e: impl std::fmt::Display) -> FuncError {
    FuncError::msg(e.to_string())
}

fn certificate(cert: &X509, key: &PKey<Private>) -> Result<Value, FuncError> {
    let cert = String::from_utf8(cert.to_pem().map_err(err)?).map_err(err)?;
    let key = String::from_utf8(private_key_pem(key)?).map_err(err)?;
    Ok(Value::Object(Rc::new(Certificate { cert, key })))
}

/// PEM as Go's `pem.Encode` of Sprig's blocks: PKCS#1 for RSA, SEC 1 for ECDSA, PKCS#8 otherwise.
fn private_key_pem(key: &PKey<Private>) -> Result<Vec<u8>, FuncError> {
    if let Ok(rsa) = key.rsa() {
        return rsa.private_key_to_pem().map_err(err);
    }
    if let Ok(ec) = key.ec_key() {
        return ec.private_key_to_pem().map_err(err);
    }
    key.private_key_to_pem_pkcs8().map_err(err)
}

fn rsa_key(bits: u32) -> Result<PKey<Private>, FuncError> {
    PKey::from_rsa(Rsa::generate(bits).map_err(err)?).map_err(err)
}

fn parse_key(pem: &str) -> Result<PKey<Private>, FuncError> {
    PKey::private_key_from_pem(pem.as_bytes()).map_err(|_| {
        FuncError::msg("error decoding key: failed to decode PEM block containing private key")
    })
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_list()
        .map(|l| l.items.iter().map(strval).collect())
        .unwrap_or_default()
}

struct Spec<'a> {
    common_name: &'a str,
    ips: Vec<String>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

/// Builds and signs a certificate the way Sprig's templates describe it.
fn build(
    spec: &Spec<'_>,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
) -> Result<X509, FuncError> {
    let mut name = X509NameBuilder::new().map_err(err)?;
    name.append_entry_by_nid(Nid::COMMONNAME, spec.common_name)
        .map_err(err)?;
    let name = name.build();
    let mut builder = X509::builder().map_err(err)?;
    builder.set_version(2).map_err(err)?;
    let mut serial = BigNum::new().map_err(err)?;
    serial
        .rand(128, MsbOption::MAYBE_ZERO, false)
        .map_err(err)?;
    let serial = serial.to_asn1_integer().map_err(err)?;
    builder.set_serial_number(&serial).map_err(err)?;
    builder.set_subject_name(&name).map_err(err)?;
    match issuer {
        Some((ca, _)) => builder.set_issuer_name(ca.subject_name()).map_err(err)?,
        None => builder.set_issuer_name(&name).map_err(err)?,
    }
    builder.set_pubkey(key).map_err(err)?;
    let now = Asn1Time::days_from_now(0).map_err(err)?;
    let until = Asn1Time::days_from_now(u32::try_from(spec.days.max(0)).unwrap_or(u32::MAX))
        .map_err(err)?;
    builder.set_not_before(&now).map_err(err)?;
    builder.set_not_after(&until).map_err(err)?;
    let mut usage = KeyUsage::new();
    usage.critical().key_encipherment().digital_signature();
    if spec.is_ca {
        usage.key_cert_sign();
    }
    builder
        .append_extension(usage.build().map_err(err)?)
        .map_err(err)?;
    builder
        .append_extension(
            ExtendedKeyUsage::new()
                .server_auth()
                .client_auth()
                .build()
                .map_err(err)?,
        )
        .map_err(err)?;
    let mut constraints = BasicConstraints::new();
    constraints.critical();
    if spec.is_ca {
        constraints.ca();
    }
    builder
        .append_extension(constraints.build().map_err(err)?)
        .map_err(err)?;
    if !spec.ips.is_empty() || !spec.dns.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for dns in &spec.dns {
            san.dns(dns);
        }
        for ip in &spec.ips {
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(FuncError::msg(format!("error parsing ip: {ip}")));
            }
            san.ip(ip);
        }
        let context = builder.x509v3_context(issuer.map(|(ca, _)| ca.as_ref()), None);
        let extension = san.build(&context).map_err(err)?;
        builder.append_extension(extension).map_err(err)?;
    }
    let signer = issuer.map_or(key, |(_, ca_key)| ca_key);
    builder.sign(signer, MessageDigest::sha256()).map_err(err)?;
    Ok(builder.build())
}

fn ca_arg(v: &Value) -> Result<(X509, PKey<Private>), FuncError> {
    let Value::Object(object) = v else {
        return Err(FuncError::msg(
            "wrong type for value; expected sprig.certificate",
        ));
    };
    let cert = object
        .field("Cert")
        .and_then(|c| c.as_str().map(str::to_string))
        .unwrap_or_default();
    let key = object
        .field("Key")
        .and_then(|c| c.as_str().map(str::to_string))
        .unwrap_or_default();
    let cert = X509::from_pem(cert.as_bytes())
        .map_err(|e| FuncError::msg(format!("error parsing CA certificate: {e}")))?;
    Ok((cert, parse_key(&key)?))
}

pub fn register(map: &mut FuncMap) {
    use Param::{Any, Int, List, String as Str};
    map.add("genPrivateKey", &[Str], |_, a| {
        let key = match str_arg(&a, 0) {
            "rsa" => rsa_key(4096)?,
            "ecdsa" => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(err)?;
                PKey::from_ec_key(EcKey::generate(&group).map_err(err)?).map_err(err)?
            }
            "ed25519" => PKey::generate_ed25519().map_err(err)?,
            "dsa" => {
                PKey::from_dsa(openssl::dsa::Dsa::generate(2048).map_err(err)?).map_err(err)?
            }
            other => return Ok(Value::string(format!("Unknown type {other}"))),
        };
        Ok(Value::string(
            String::from_utf8(private_key_pem(&key)?).map_err(err)?,
        ))
    });
    map.add("genCA", &[Str, Int], |_, a| {
        let key = rsa_key(2048)?;
        let spec = Spec {
            common_name: str_arg(&a, 0),
            ips: Vec::new(),
            dns: Vec::new(),
            days: int_arg(&a, 1),
            is_ca: true,
        };
        certificate(&build(&spec, &key, None)?, &key)
    });
    map.add("genCAWithKey", &[Str, Int, Str], |_, a| {
        let key = parse_key(str_arg(&a, 2))?;
        let spec = Spec {
            common_name: str_arg(&a, 0),
            ips: Vec::new(),
            dns: Vec::new(),
            days: int_arg(&a, 1),
            is_ca: true,
        };
        certificate(&build(&spec, &key, None)?, &key)
    });
    map.add("genSelfSignedCert", &[Str, List, List, Int], |_, a| {
        let key = rsa_key(2048)?;
        let spec = Spec {
            common_name: str_arg(&a, 0),
            ips: string_list(&a[1]),
            dns: string_list(&a[2]),
            days: int_arg(&a, 3),
            is_ca: false,
        };
        certificate(&build(&spec, &key, None)?, &key)
    });
    map.add(
        "genSelfSignedCertWithKey",
        &[Str, List, List, Int, Str],
        |_, a| {
            let key = parse_key(str_arg(&a, 4))?;
            let spec = Spec {
                common_name: str_arg(&a, 0),
                ips: string_list(&a[1]),
                dns: string_list(&a[2]),
                days: int_arg(&a, 3),
                is_ca: false,
            };
            certificate(&build(&spec, &key, None)?, &key)
        },
    );
    map.add("genSignedCert", &[Str, List, List, Int, Any], |_, a| {
        let (ca, ca_key) = ca_arg(&a[4])?;
        let key = rsa_key(2048)?;
        let spec = Spec {
            common_name: str_arg(&a, 0),
            ips: string_list(&a[1]),
            dns: string_list(&a[2]),
            days: int_arg(&a, 3),
            is_ca: false,
        };
        certificate(&build(&spec, &key, Some((&ca, &ca_key)))?, &key)
    });
    map.add(
        "genSignedCertWithKey",
        &[Str, List, List, Int, Any, Str],
        |_, a| {
            let (ca, ca_key) = ca_arg(&a[4])?;
            let key = parse_key(str_arg(&a, 5))?;
            let spec = Spec {
                common_name: str_arg(&a, 0),
                ips: string_list(&a[1]),
                dns: string_list(&a[2]),
                days: int_arg(&a, 3),
                is_ca: false,
            };
            certificate(&build(&spec, &key, Some((&ca, &ca_key)))?, &key)
        },
    );
    map.add("buildCustomCert", &[Str, Str], |_, a| {
        let decode = |text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| FuncError::msg(format!("unable to decode base64 certificate: {e}")))
        };
        let cert_pem = decode(str_arg(&a, 0))?;
        let key_pem = decode(str_arg(&a, 1))?;
        let cert = X509::from_pem(&cert_pem)
            .map_err(|e| FuncError::msg(format!("error parsing certificate: {e}")))?;
        PKey::private_key_from_pem(&key_pem)
            .map_err(|e| FuncError::msg(format!("error parsing private key: {e}")))?;
        Ok(Value::Object(Rc::new(Certificate {
            cert: String::from_utf8(cert.to_pem().map_err(err)?).map_err(err)?,
            key: String::from_utf8(key_pem).map_err(err)?,
        })))
    });
    map.add("bcrypt", &[Str], |_, a| {
        Ok(Value::string(bcrypt_hash(str_arg(&a, 0))))
    });
    map.add("htpasswd", &[Str, Str], |_, a| {
        let user = str_arg(&a, 0);
        if user.contains(':') {
            return Ok(Value::string(format!("invalid username: {user}")));
        }
        Ok(Value::string(format!(
            "{user}:{}",
            bcrypt_hash(str_arg(&a, 1))
        )))
    });
}

/// `bcrypt.GenerateFromPassword(password, DefaultCost)`: a `$2a$10$` hash.
fn bcrypt_hash(password: &str) -> String {
    match bcrypt::hash_with_result(password, 10) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TemplateSet;

    fn render(text: &str) -> String {
        let mut set = TemplateSet::new("gotpl", FuncMap::helm());
        set.parse("t", text).unwrap();
        set.execute("t", Value::Nil).unwrap()
    }

    #[test]
    fn signed_certificates_verify_against_their_ca() {
        let out = render(
            r#"{{ $ca := genCA "my-ca" 365 }}{{ $c := genSignedCert "svc" (list "10.0.0.1") (list "svc.ns.svc") 30 $ca }}{{ $ca.Cert }}|{{ $c.Cert }}|{{ $c.Key }}"#,
        );
        let parts: Vec<&str> = out.split('|').collect();
        let ca = X509::from_pem(parts[0].as_bytes()).unwrap();
        let cert = X509::from_pem(parts[1].as_bytes()).unwrap();
        assert!(cert.verify(&ca.public_key().unwrap()).unwrap());
        assert!(parts[2].starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let names: Vec<String> = cert
            .subject_alt_names()
            .unwrap()
            .iter()
            .filter_map(|n| n.dnsname().map(str::to_string))
            .collect();
        assert_eq!(names, ["svc.ns.svc"]);
    }

    #[test]
    fn private_keys_have_sprig_block_types() {
        assert!(
            render(r#"{{ genPrivateKey "ecdsa" }}"#).starts_with("-----BEGIN EC PRIVATE KEY-----")
        );
        assert!(
            render(r#"{{ genPrivateKey "ed25519" }}"#).starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert_eq!(render(r#"{{ genPrivateKey "x" }}"#), "Unknown type x");
    }

    #[test]
    fn htpasswd_has_bcrypt_shape() {
        let out = render(r#"{{ htpasswd "user" "pw" }}|{{ htpasswd "a:b" "pw" }}"#);
        let (line, invalid) = out.split_once('|').unwrap();
        assert!(
            line.starts_with("user:$2a$10$") && line.len() == "user:".len() + 60,
            "{line}"
        );
        assert_eq!(invalid, "invalid username: a:b");
    }
}
