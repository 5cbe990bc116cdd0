//! Talking to the freshly started API server: readiness, the kwok Node, and the checks that the
//! controllers are really working before `up` reports success.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::TestenvError;

/// The Node kwok simulates; pods of every test are scheduled onto it.
pub const NODE_NAME: &str = "kwok-node-0";

/// The annotation kwok is told to select its nodes by.
pub const KWOK_NODE_ANNOTATION: (&str, &str) = ("kwok.x-k8s.io/node", "fake");

/// A kube client for the kubeconfig at `path`.
pub async fn client(path: &Path) -> Result<kube::Client, TestenvError> {
    let kubeconfig_error = |reason: String| TestenvError::Kubeconfig {
        path: path.to_path_buf(),
        reason,
    };
    let kubeconfig = Kubeconfig::read_from(path).map_err(|e| kubeconfig_error(e.to_string()))?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| kubeconfig_error(e.to_string()))?;
    // A wedged API server must surface as an error within the caller's deadline, not a hang.
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(30));
    kube::Client::try_from(config).map_err(|e| TestenvError::kube("build a client", e))
}

/// Whether `/readyz` answers `ok`.
pub async fn is_ready(client: &kube::Client) -> bool {
    let request = match http::Request::get("/readyz").body(Vec::new()) {
        Ok(request) => request,
        Err(_) => return false,
    };
    matches!(client.request_text(request).await, Ok(body) if body.trim() == "ok")
}

/// The Node object kwok manages: annotated for kwok's selector, with the capacity the scheduler
/// needs to place pods (kwok fills in conditions and heartbeats, not capacity).
pub fn kwok_node() -> Result<Node, TestenvError> {
    let (key, value) = KWOK_NODE_ANNOTATION;
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "annotations": { key: value, "node.alpha.kubernetes.io/ttl": "0" },
            "labels": {
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": { "cpu": "32", "memory": "256Gi", "pods": "110" },
            "capacity": { "cpu": "32", "memory": "256Gi", "pods": "110" },
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
            },
        },
    }))
    .map_err(|source| TestenvError::Encode {
        what: "the kwok Node",
        source,
    })
}

/// Creates the kwok Node unless it exists.
pub async fn ensure_kwok_node(client: &kube::Client) -> Result<(), TestenvError> {
    let nodes: Api<Node> = Api::all(client.clone());
    match nodes.create(&PostParams::default(), &kwok_node()?).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(TestenvError::kube("create the kwok Node", e)),
    }
}

/// Whether the kwok Node reports `Ready=True` (kwok took it over).
pub async fn node_is_ready(client: &kube::Client) -> bool {
    let nodes: Api<Node> = Api::all(client.clone());
    let Ok(Some(node)) = nodes.get_opt(NODE_NAME).await else {
        return false;
    };
    node.status
        .and_then(|status| status.conditions)
        .unwrap_or_default()
        .iter()
        .any(|condition| condition.type_ == "Ready" && condition.status == "True")
}

/// Whether the `default` ServiceAccount exists in `default`: the controller-manager creates it,
/// and pods cannot be admitted in a namespace before it does.
pub async fn default_service_account_exists(client: &kube::Client) -> bool {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    matches!(accounts.get_opt("default").await, Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kwok_node_carries_the_selector_annotation_and_capacity() {
        let node = kwok_node().unwrap();
        let annotations = node.metadata.annotations.unwrap();
        assert_eq!(
            annotations.get("kwok.x-k8s.io/node").map(String::as_str),
            Some("fake")
        );
        let allocatable = node.status.unwrap().allocatable.unwrap();
        assert_eq!(allocatable["pods"].0, "110");
    }
}
