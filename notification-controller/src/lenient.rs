//! Reading Alerts, Providers and Receivers one object at a time, so a single object this build
//! cannot decode (say, a provider type added by a newer CRD) is reported on its own instead of
//! failing every list and silencing all notifications.

use kube::{
    Api, Client, Resource, ResourceExt,
    api::{ApiResource, DynamicObject},
};
use serde::de::DeserializeOwned;

/// Where objects are listed: every namespace, or one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    AllNamespaces,
    Namespace(String),
}

fn dynamic_api<K: Resource<DynamicType = ()>>(
    client: &Client,
    scope: &Scope,
) -> Api<DynamicObject> {
    let resource = ApiResource::erase::<K>(&());
    match scope {
        Scope::AllNamespaces => Api::all_with(client.clone(), &resource),
        Scope::Namespace(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
    }
}

/// Decodes one object, or says why it cannot be.
pub fn decode<K: DeserializeOwned>(object: DynamicObject) -> Result<K, String> {
    let value = serde_json::to_value(object).map_err(|error| error.to_string())?;
    serde_json::from_value(value).map_err(|error| error.to_string())
}

/// Every object of kind `K` in `scope` that decodes; the others are logged and skipped.
pub async fn list<K>(client: &Client, scope: &Scope) -> Result<Vec<K>, kube::Error>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    let objects = dynamic_api::<K>(client, scope)
        .list(&Default::default())
        .await?;
    Ok(objects
        .items
        .into_iter()
        .filter_map(|object| {
            let name = object.name_any();
            let namespace = object.namespace().unwrap_or_default();
            match decode::<K>(object) {
                Ok(decoded) => Some(decoded),
                Err(error) => {
                    tracing::error!(kind = %K::kind(&()), %name, %namespace, %error, "skipping an object this controller cannot read");
                    None
                }
            }
        })
        .collect())
}

/// One object of kind `K`: `None` when absent, `Some(Err)` when it cannot be decoded.
pub async fn get<K>(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Result<K, String>>, kube::Error>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    let api = dynamic_api::<K>(client, &Scope::Namespace(namespace.to_owned()));
    Ok(api.get_opt(name).await?.map(decode::<K>))
}

#[cfg(test)]
mod tests {
    use eddy_api::notification::Provider;

    use super::*;

    #[test]
    fn undecodable_objects_are_errors_not_panics() {
        let object = |type_: &str| -> DynamicObject {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
                "metadata": {"name": "p", "namespace": "n"},
                "spec": {"type": type_}
            }))
            .unwrap()
        };
        assert!(decode::<Provider>(object("slack")).is_ok());
        let error = decode::<Provider>(object("carrier-pigeon")).unwrap_err();
        assert!(error.contains("carrier-pigeon"), "{error}");
    }
}
