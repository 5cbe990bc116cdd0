//! `.Capabilities` from the live cluster: its version, and the group/versions (and
//! group/version/kinds) it serves, as Helm's discovery-backed capabilities list them.

use kube::Client;

pub async fn capabilities(client: &Client) -> Result<eddy_helm::Capabilities, kube::Error> {
    let version = client.apiserver_version().await?;
    // A version the engine cannot parse falls back to the engine's default Kubernetes version.
    let mut capabilities = eddy_helm::Capabilities::for_kube_version(&version.git_version)
        .or_else(|| eddy_helm::Capabilities::for_kube_version("v1.34.0"))
        .ok_or_else(|| {
            kube::Error::Discovery(kube::error::DiscoveryError::MissingResource(
                "kubernetes version".into(),
            ))
        })?;
    let discovery = kube::Discovery::new(client.clone()).run().await?;
    let mut api_versions = Vec::new();
    for group in discovery.groups() {
        for version in group.versions() {
            let group_version = if group.name().is_empty() {
                version.to_owned()
            } else {
                format!("{}/{version}", group.name())
            };
            for (resource, _) in group.versioned_resources(version) {
                api_versions.push(format!("{group_version}/{}", resource.kind));
            }
            api_versions.push(group_version);
        }
    }
    api_versions.sort();
    api_versions.dedup();
    capabilities.api_versions = api_versions;
    Ok(capabilities)
}
