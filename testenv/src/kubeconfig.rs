//! The admin kubeconfig the testenv writes for its components, the tests and the developer.

use std::path::Path;

use serde_json::json;

use crate::error::TestenvError;
use crate::pki::Pki;

/// The context (and cluster and user) name in the kubeconfig.
pub const CONTEXT: &str = "eddy-testenv";

/// Renders a kubeconfig for `https://127.0.0.1:<port>` that authenticates with the admin client
/// certificate. Files are referenced by absolute path rather than embedded, so the PEM files
/// remain the single copy and `kubectl`/`kube-rs`/client-go all read them the same way.
pub fn render(api_port: u16, pki: &Pki) -> Result<String, TestenvError> {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let document = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": CONTEXT,
            "cluster": {
                "server": format!("https://127.0.0.1:{api_port}"),
                "certificate-authority": path(&pki.ca_cert),
            },
        }],
        "users": [{
            "name": CONTEXT,
            "user": {
                "client-certificate": path(&pki.admin_cert),
                "client-key": path(&pki.admin_key),
            },
        }],
        "contexts": [{
            "name": CONTEXT,
            "context": { "cluster": CONTEXT, "user": CONTEXT, "namespace": "default" },
        }],
        "current-context": CONTEXT,
    });
    serde_yaml_ng::to_string(&document).map_err(|e| TestenvError::Kubeconfig {
        path: "<rendered>".into(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::config::Kubeconfig;

    #[test]
    fn renders_a_kubeconfig_kube_rs_understands() {
        let pki = Pki::in_dir(Path::new("/state dir/pki"));
        let text = render(6443, &pki).unwrap();
        let config = Kubeconfig::from_yaml(&text).unwrap();
        assert_eq!(config.current_context.as_deref(), Some(CONTEXT));
        let cluster = config.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!(
            cluster.certificate_authority.as_deref(),
            Some("/state dir/pki/ca.crt")
        );
        let user = config.auth_infos[0].auth_info.as_ref().unwrap();
        assert_eq!(
            user.client_certificate.as_deref(),
            Some("/state dir/pki/admin.crt")
        );
        assert_eq!(user.client_key.as_deref(), Some("/state dir/pki/admin.key"));
    }
}
