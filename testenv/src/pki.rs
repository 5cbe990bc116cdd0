//! The certificates and keys of one environment, generated fresh by every `up`.
//!
//! One CA signs the API server's serving certificate and one admin client certificate
//! (`O=system:masters`), which every component and every test uses: the testenv is a single-user
//! sandbox, so per-component identities would add nothing but start-up work.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::error::TestenvError;

/// The first address of the service range: the in-cluster `kubernetes` Service.
pub const KUBERNETES_SERVICE_IP: &str = "10.0.0.1";

/// Names the API server answers to, from the host and from (simulated) pods.
const APISERVER_NAMES: &[&str] = &[
    "127.0.0.1",
    "localhost",
    KUBERNETES_SERVICE_IP,
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// The files [`generate`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pki {
    pub ca_cert: PathBuf,
    pub apiserver_cert: PathBuf,
    pub apiserver_key: PathBuf,
    pub admin_cert: PathBuf,
    pub admin_key: PathBuf,
    /// Signs service-account tokens (API server and controller-manager).
    pub service_account_key: PathBuf,
    /// Verifies them: the API server reads only public keys (or PKCS#1/SEC1 private keys) there.
    pub service_account_public_key: PathBuf,
}

impl Pki {
    /// Where the files live in `dir` (whether or not they exist yet).
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            ca_cert: dir.join("ca.crt"),
            apiserver_cert: dir.join("apiserver.crt"),
            apiserver_key: dir.join("apiserver.key"),
            admin_cert: dir.join("admin.crt"),
            admin_key: dir.join("admin.key"),
            service_account_key: dir.join("service-account.key"),
            service_account_public_key: dir.join("service-account.pub"),
        }
    }
}

/// Generates a CA, the serving and admin certificates and the service-account key into `dir`.
pub fn generate(dir: &Path) -> Result<Pki, TestenvError> {
    fs::create_dir_all(dir).map_err(|e| TestenvError::io("cannot create", dir, e))?;
    let pki = Pki::in_dir(dir);

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = name("eddy-testenv-ca", None);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    write(&pki.ca_cert, &ca_cert.pem(), false)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let serving_key = KeyPair::generate()?;
    let mut serving = CertificateParams::new(
        APISERVER_NAMES
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>(),
    )?;
    serving.distinguished_name = name("kube-apiserver", None);
    serving.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving_cert = serving.signed_by(&serving_key, &issuer)?;
    write(&pki.apiserver_cert, &serving_cert.pem(), false)?;
    write(&pki.apiserver_key, &serving_key.serialize_pem(), true)?;

    let admin_key = KeyPair::generate()?;
    let mut admin = CertificateParams::default();
    // Kubernetes reads the user from CN and the groups from O.
    admin.distinguished_name = name("eddy-testenv-admin", Some("system:masters"));
    admin.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin_cert = admin.signed_by(&admin_key, &issuer)?;
    write(&pki.admin_cert, &admin_cert.pem(), false)?;
    write(&pki.admin_key, &admin_key.serialize_pem(), true)?;

    let service_account_key = KeyPair::generate()?;
    write(
        &pki.service_account_key,
        &service_account_key.serialize_pem(),
        true,
    )?;
    write(
        &pki.service_account_public_key,
        &service_account_key.public_key_pem(),
        false,
    )?;
    Ok(pki)
}

fn name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    if let Some(organization) = organization {
        name.push(DnType::OrganizationName, organization);
    }
    name
}

fn write(path: &Path, contents: &str, secret: bool) -> Result<(), TestenvError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if secret {
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| TestenvError::io("cannot create", path, e))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| TestenvError::io("cannot write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generates_pem_files_with_private_keys_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let pki = generate(dir.path()).unwrap();
        let public = fs::read_to_string(&pki.service_account_public_key).unwrap();
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
        for cert in [&pki.ca_cert, &pki.apiserver_cert, &pki.admin_cert] {
            assert!(
                fs::read_to_string(cert)
                    .unwrap()
                    .starts_with("-----BEGIN CERTIFICATE-----")
            );
        }
        for key in [&pki.apiserver_key, &pki.admin_key, &pki.service_account_key] {
            assert!(
                fs::read_to_string(key)
                    .unwrap()
                    .contains("PRIVATE KEY-----")
            );
            let mode = fs::metadata(key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", key.display());
        }
    }

    #[test]
    fn certificates_chain_to_the_ca_with_the_expected_names() {
        let dir = tempfile::tempdir().unwrap();
        let pki = generate(dir.path()).unwrap();
        // `openssl` is on the development machines; when present, let it verify the chain and
        // the subject fields independently of rcgen.
        let openssl = |args: &[&str]| std::process::Command::new("openssl").args(args).output();
        let Ok(verify) = openssl(&[
            "verify",
            "-CAfile",
            pki.ca_cert.to_str().unwrap(),
            pki.apiserver_cert.to_str().unwrap(),
            pki.admin_cert.to_str().unwrap(),
        ]) else {
            return;
        };
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stdout)
        );
        let admin = openssl(&[
            "x509",
            "-noout",
            "-subject",
            "-in",
            pki.admin_cert.to_str().unwrap(),
        ])
        .unwrap();
        let subject = String::from_utf8_lossy(&admin.stdout);
        assert!(subject.contains("O = system:masters"), "{subject}");
        let serving = openssl(&[
            "x509",
            "-noout",
            "-ext",
            "subjectAltName",
            "-in",
            pki.apiserver_cert.to_str().unwrap(),
        ])
        .unwrap();
        let names = String::from_utf8_lossy(&serving.stdout);
        assert!(names.contains("IP Address:127.0.0.1"), "{names}");
        assert!(names.contains("DNS:localhost"), "{names}");
    }
}
