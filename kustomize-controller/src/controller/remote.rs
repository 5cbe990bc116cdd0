//! `spec.kubeConfig`: applying, pruning and health-checking on a remote cluster whose kubeconfig
//! is in a Secret next to the Kustomization. A Kustomization that names a kubeconfig is never
//! served by the local cluster: when the remote client cannot be built, the reconcile fails.

use std::sync::Arc;

use eddy_api::{kustomize::Kustomization, meta::KubeConfigReference};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, ResourceExt,
    config::{KubeConfigOptions, Kubeconfig},
};

use super::Context;
use crate::apply::cluster::Cluster;

/// The Secret keys a kubeconfig is read from when `secretRef.key` is not given (Flux's order).
const DEFAULT_KEYS: [&str; 2] = ["value", "value.yaml"];

/// Why no client for the remote cluster could be built.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("spec.kubeConfig.secretRef is required (configMapRef is not supported yet)")]
    NoSecretRef,
    #[error("kubeconfig secret '{namespace}/{name}' not found")]
    SecretNotFound { namespace: String, name: String },
    #[error("cannot read kubeconfig secret '{namespace}/{name}': {source}")]
    SecretRead {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("kubeconfig secret '{name}' has no key {keys}")]
    MissingKey { name: String, keys: String },
    #[error("kubeconfig in secret '{name}' is not a valid kubeconfig: {reason}")]
    Invalid { name: String, reason: String },
    #[error("kubeconfig in secret '{name}' {what}, which is not allowed")]
    Refused { name: String, what: &'static str },
}

/// The cluster a Kustomization's objects live in: the remote one its `kubeConfig` names, else
/// the local one (impersonating its service account when it names one).
pub async fn cluster_of(ctx: &Context, ks: &Kustomization) -> Result<Arc<Cluster>, String> {
    let namespace = ks.namespace().unwrap_or_default();
    let account = ks.spec.service_account_name.as_deref();
    match &ks.spec.kube_config {
        None => ctx.cluster_for(&namespace, account),
        Some(reference) => remote_cluster(&ctx.client, &namespace, reference, account)
            .await
            .map(Arc::new)
            .map_err(|error| error.to_string()),
    }
}

/// A client for the cluster `reference` describes, impersonating `service_account` (of
/// `namespace`, on the remote cluster) when set.
pub async fn remote_cluster(
    client: &Client,
    namespace: &str,
    reference: &KubeConfigReference,
    service_account: Option<&str>,
) -> Result<Cluster, RemoteError> {
    let secret_ref = reference
        .secret_ref
        .as_ref()
        .ok_or(RemoteError::NoSecretRef)?;
    let name = secret_ref.name.clone();
    let text = read_kubeconfig(client, namespace, &name, secret_ref.key.as_deref()).await?;
    let kubeconfig = parse(&name, &text)?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| RemoteError::Invalid {
                name: name.clone(),
                reason: e.to_string(),
            })?;
    if let Some(account) = service_account.filter(|a| !a.is_empty()) {
        config.auth_info.impersonate = Some(format!("system:serviceaccount:{namespace}:{account}"));
    }
    let client = Client::try_from(config).map_err(|e| RemoteError::Invalid {
        name,
        reason: e.to_string(),
    })?;
    Ok(Cluster::new(client))
}

async fn read_kubeconfig(
    client: &Client,
    namespace: &str,
    name: &str,
    key: Option<&str>,
) -> Result<String, RemoteError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|source| RemoteError::SecretRead {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source,
        })?
        .ok_or_else(|| RemoteError::SecretNotFound {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })?;
    let keys: Vec<&str> = match key {
        Some(key) if !key.is_empty() => vec![key],
        _ => DEFAULT_KEYS.to_vec(),
    };
    let data = secret.data.unwrap_or_default();
    keys.iter()
        .find_map(|key| data.get(*key))
        .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
        .ok_or_else(|| RemoteError::MissingKey {
            name: name.to_owned(),
            keys: keys
                .iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(" or "),
        })
}

/// Parses a kubeconfig and refuses what a tenant could use against the controller itself:
/// credential plugins run as the controller (Flux refuses them unless
/// `--insecure-kubeconfig-exec`), skipped TLS verification (unless `--insecure-kubeconfig-tls`;
/// Eddy refuses both flags, so always), and file references, which would read the controller's
/// own files (its service-account token among them).
pub fn parse(name: &str, text: &str) -> Result<Kubeconfig, RemoteError> {
    let kubeconfig = Kubeconfig::from_yaml(text).map_err(|e| RemoteError::Invalid {
        name: name.to_owned(),
        reason: e.to_string(),
    })?;
    let refused = |what| {
        Err(RemoteError::Refused {
            name: name.to_owned(),
            what,
        })
    };
    for cluster in kubeconfig
        .clusters
        .iter()
        .filter_map(|c| c.cluster.as_ref())
    {
        if cluster.insecure_skip_tls_verify == Some(true) {
            return refused("skips TLS verification");
        }
        if cluster.certificate_authority.is_some() {
            return refused("reads the certificate authority from a file");
        }
    }
    for user in kubeconfig
        .auth_infos
        .iter()
        .filter_map(|u| u.auth_info.as_ref())
    {
        if user.exec.is_some() || user.auth_provider.is_some() {
            return refused("runs a credential plugin");
        }
        if user.client_certificate.is_some()
            || user.client_key.is_some()
            || user.token_file.is_some()
        {
            return refused("reads credentials from a file");
        }
    }
    Ok(kubeconfig)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(cluster: &str, user: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: remote\n\
             clusters:\n- name: remote\n  cluster:\n    server: https://remote:6443\n{cluster}\
             users:\n- name: remote\n  user:\n{user}\
             contexts:\n- name: remote\n  context: {{cluster: remote, user: remote}}\n"
        )
    }

    #[test]
    fn embedded_credentials_are_accepted() {
        let text = kubeconfig("    certificate-authority-data: Y2E=\n", "    token: abc\n");
        let parsed = parse("remote", &text).unwrap();
        assert_eq!(parsed.current_context.as_deref(), Some("remote"));
    }

    #[test]
    fn what_would_act_as_the_controller_is_refused() {
        let cases = [
            (
                "    insecure-skip-tls-verify: true\n",
                "    token: abc\n",
                "skips TLS verification",
            ),
            (
                "    certificate-authority: /etc/ca.crt\n",
                "    token: abc\n",
                "certificate authority from a file",
            ),
            (
                "",
                "    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n",
                "credentials from a file",
            ),
            (
                "",
                "    client-certificate: /c.crt\n    client-key: /c.key\n",
                "credentials from a file",
            ),
            (
                "",
                "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n",
                "credential plugin",
            ),
        ];
        for (cluster, user, expected) in cases {
            let error = parse("remote", &kubeconfig(cluster, user))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(expected) && error.contains("secret 'remote'"),
                "{cluster}{user}: {error}"
            );
        }
        assert!(matches!(
            parse("remote", "clusters: [").unwrap_err(),
            RemoteError::Invalid { .. }
        ));
    }
}
