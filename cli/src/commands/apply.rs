//! Server-side apply of a list of manifests, resolving each kind through discovery.

use std::collections::HashMap;

use anyhow::Context;
use kube::{
    Api, Client,
    api::{DynamicObject, Patch, PatchParams},
    core::GroupVersionKind,
    discovery::{ApiCapabilities, ApiResource, Scope, pinned_kind},
};
use serde_json::Value;

/// Eddy's field manager, as `flux` is Flux's CLI's.
pub const FIELD_MANAGER: &str = "eddy";

/// Applies manifests, remembering what discovery said about each kind.
pub struct Applier {
    client: Client,
    kinds: HashMap<GroupVersionKind, (ApiResource, ApiCapabilities)>,
}

impl Applier {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            kinds: HashMap::new(),
        }
    }

    pub async fn api_for(
        &mut self,
        object: &Value,
    ) -> anyhow::Result<(Api<DynamicObject>, String)> {
        let api_version = object["apiVersion"]
            .as_str()
            .context("a manifest has no apiVersion")?;
        let kind = object["kind"].as_str().context("a manifest has no kind")?;
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .context("a manifest has no metadata.name")?;
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        if !self.kinds.contains_key(&gvk) {
            let found = pinned_kind(&self.client, &gvk)
                .await
                .with_context(|| format!("the cluster does not serve {api_version} {kind}"))?;
            self.kinds.insert(gvk.clone(), found);
        }
        let (resource, capabilities) = &self.kinds[&gvk];
        let api = match capabilities.scope {
            Scope::Cluster => Api::all_with(self.client.clone(), resource),
            Scope::Namespaced => {
                let namespace = object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default");
                Api::namespaced_with(self.client.clone(), namespace, resource)
            }
        };
        Ok((api, format!("{kind}/{name}")))
    }

    pub async fn apply(&mut self, object: &Value) -> anyhow::Result<String> {
        self.apply_with(object, false).await
    }

    /// Asks the API server to validate the object (admission included) but store nothing.
    pub async fn apply_dry_run(&mut self, object: &Value) -> anyhow::Result<String> {
        self.apply_with(object, true).await
    }

    async fn apply_with(&mut self, object: &Value, dry_run: bool) -> anyhow::Result<String> {
        let (api, id) = self.api_for(object).await?;
        let name = id
            .split_once('/')
            .map_or(id.as_str(), |(_, name)| name)
            .to_string();
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        params.dry_run = dry_run;
        api.patch(&name, &params, &Patch::Apply(object))
            .await
            .with_context(|| format!("cannot apply {id}"))?;
        Ok(id)
    }
}
