//! Verification of an HTTPS server certificate against the CA bundle from `ca.crt`.
//!
//! libgit2 verifies against the system roots only; when that fails it hands the leaf
//! certificate to the certificate callback, which accepts it if the user's CA signed it for the
//! host being contacted. Only the leaf is available there, so `ca.crt` must contain the issuing
//! certificate (root or intermediate).

use std::net::IpAddr;

use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509, X509StoreContext};

/// Whether the DER certificate `leaf_der` chains to a certificate in `ca_pem` and is valid for
/// `host` (a DNS name or an IP address).
pub fn leaf_trusted_by(leaf_der: &[u8], ca_pem: &[u8], host: &str) -> bool {
    verify(leaf_der, ca_pem, host).unwrap_or(false)
}

fn verify(leaf_der: &[u8], ca_pem: &[u8], host: &str) -> Result<bool, openssl::error::ErrorStack> {
    let leaf = X509::from_der(leaf_der)?;
    let mut store = X509StoreBuilder::new()?;
    for ca in X509::stack_from_pem(ca_pem)? {
        store.add_cert(ca)?;
    }
    let mut param = X509VerifyParam::new()?;
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    match bare_host.parse::<IpAddr>() {
        Ok(ip) => param.set_ip(ip)?,
        Err(_) => param.set_host(bare_host)?,
    }
    store.set_param(&param)?;
    let store = store.build();
    let intermediates = Stack::new()?;
    let mut context = X509StoreContext::new()?;
    context.init(&store, &leaf, &intermediates, |ctx| ctx.verify_cert())
}
