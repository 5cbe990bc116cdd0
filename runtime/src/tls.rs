//! One TLS crypto provider for the whole process.
//!
//! kube, reqwest and git2's HTTPS transport each pull in TLS code; rustls refuses to pick a provider
//! when more than one is compiled in, so every binary installs `ring` explicitly before any client
//! is built.

/// Installs `ring` as the process-wide rustls provider. Calling it twice is harmless.
pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is the state we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
