//! The Kubernetes API calls behind apply, prune and health checks, on untyped objects.
//!
//! Kinds are resolved through discovery once and cached; a kind that is not served yet (a CRD in
//! the same revision) is looked up again on the next call.

use std::{collections::HashMap, sync::Mutex};

use kube::{
    Client,
    api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams},
    discovery::Scope,
};
use serde_json::Value;

use crate::{apply::policy::FIELD_MANAGER, inventory::ObjectId};

/// How a kind is served.
#[derive(Clone, Debug)]
pub struct ServedKind {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// Untyped access to the cluster with a discovery cache.
pub struct Cluster {
    client: Client,
    /// Who owns what this cluster access applies (`kustomize-controller` unless told).
    field_manager: &'static str,
    kinds: Mutex<HashMap<(String, String, String), ServedKind>>,
}

impl Cluster {
    pub fn new(client: Client) -> Self {
        Self::with_field_manager(client, FIELD_MANAGER)
    }

    /// Cluster access whose server-side applies are owned by `field_manager` (helm-controller
    /// applies releases as `helm-controller`).
    pub fn with_field_manager(client: Client, field_manager: &'static str) -> Self {
        Self {
            client,
            field_manager,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How `id`'s kind is served, or `None` when the API server does not know it.
    pub async fn resolve(&self, id: &ObjectId) -> Result<Option<ServedKind>, kube::Error> {
        let key = (id.group.clone(), id.version.clone(), id.kind.clone());
        if let Some(found) = self.lock().get(&key) {
            return Ok(Some(found.clone()));
        }
        let gvk = GroupVersionKind::gvk(&id.group, &id.version, &id.kind);
        match kube::discovery::pinned_kind(&self.client, &gvk).await {
            Ok((resource, capabilities)) => {
                let served = ServedKind {
                    resource,
                    namespaced: capabilities.scope == Scope::Namespaced,
                };
                self.lock().insert(key, served.clone());
                Ok(Some(served))
            }
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
            Err(kube::Error::Discovery(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String, String), ServedKind>> {
        self.kinds.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn api(&self, kind: &ServedKind, namespace: &str) -> Api<DynamicObject> {
        if kind.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &kind.resource)
        } else {
            Api::all_with(self.client.clone(), &kind.resource)
        }
    }

    pub async fn get(
        &self,
        kind: &ServedKind,
        id: &ObjectId,
    ) -> Result<Option<Value>, kube::Error> {
        let object = self.api(kind, &id.namespace).get_opt(&id.name).await?;
        object.map(to_value).transpose()
    }

    /// Server-side apply of `object` (forced, as this access's field manager).
    pub async fn apply(
        &self,
        kind: &ServedKind,
        id: &ObjectId,
        object: &Value,
        dry_run: bool,
    ) -> Result<Value, kube::Error> {
        let mut params = PatchParams::apply(self.field_manager).force();
        params.dry_run = dry_run;
        let applied = self
            .api(kind, &id.namespace)
            .patch(&id.name, &params, &Patch::Apply(object))
            .await?;
        to_value(applied)
    }

    /// A JSON merge patch on the live object (metadata cleanup: lists are replaced, `null`
    /// removes a key).
    pub async fn merge_patch(
        &self,
        kind: &ServedKind,
        id: &ObjectId,
        patch: &Value,
    ) -> Result<(), kube::Error> {
        self.api(kind, &id.namespace)
            .patch(&id.name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
        Ok(())
    }

    /// Deletes with background propagation; a missing object counts as deleted.
    pub async fn delete(&self, kind: &ServedKind, id: &ObjectId) -> Result<(), kube::Error> {
        match self
            .api(kind, &id.namespace)
            .delete(&id.name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(error) => Err(error),
        }
    }
}

fn to_value(object: DynamicObject) -> Result<Value, kube::Error> {
    serde_json::to_value(object).map_err(kube::Error::SerdeError)
}

/// `(<Reason>): <message>` for API errors, the way change-set errors print them.
pub fn describe_api_error(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                "Unknown"
            } else {
                status.reason.as_str()
            };
            format!("({reason}): {}", status.message)
        }
        other => format!("(Unknown): {other}"),
    }
}
