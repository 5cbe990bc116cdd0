//! Reading a Kustomization's source object (any source kind) and the inputs its build needs from
//! the API: postBuild variables.

use std::collections::BTreeMap;

use eddy_api::{
    kustomize::kustomization::{CrossNamespaceSourceReference, PostBuild, SubstituteKind},
    meta::Artifact,
};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind},
};

use crate::substitute;

/// What the consumer needs from a source object.
pub struct ResolvedSource {
    pub artifact: Option<Artifact>,
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("Source '{0}' not found")]
    NotFound(String),
    #[error("failed to get source '{reference}': {source}")]
    Api {
        reference: String,
        #[source]
        source: kube::Error,
    },
}

fn plural(kind: &str) -> String {
    match kind {
        "GitRepository" => "gitrepositories".to_owned(),
        other => format!("{}s", other.to_ascii_lowercase()),
    }
}

/// Reads the source named by `reference` in `namespace` and its `status.artifact`.
pub async fn resolve(
    client: &Client,
    reference: &CrossNamespaceSourceReference,
    namespace: &str,
) -> Result<ResolvedSource, SourceError> {
    let kind = serde_json::to_value(reference.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let (group, version) = match reference
        .api_version
        .as_deref()
        .and_then(|v| v.split_once('/'))
    {
        Some((group, version)) => (group.to_owned(), version.to_owned()),
        None => ("source.toolkit.fluxcd.io".to_owned(), "v1".to_owned()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, &plural(&kind));
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let name = format!("{kind}/{namespace}/{}", reference.name);
    let object = api
        .get_opt(&reference.name)
        .await
        .map_err(|source| SourceError::Api {
            reference: name.clone(),
            source,
        })?
        .ok_or_else(|| SourceError::NotFound(name.clone()))?;
    let artifact = object
        .data
        .pointer("/status/artifact")
        .cloned()
        .and_then(|value| serde_json::from_value::<Artifact>(value).ok());
    Ok(ResolvedSource { artifact })
}

/// Collects postBuild variables: `substituteFrom` in order (later wins), then inline
/// `substitute`.
pub async fn post_build_variables(
    client: &Client,
    namespace: &str,
    post_build: &PostBuild,
) -> Result<BTreeMap<String, String>, String> {
    let mut vars = BTreeMap::new();
    for reference in post_build.substitute_from.iter().flatten() {
        let values: Option<BTreeMap<String, String>> = match reference.kind {
            SubstituteKind::ConfigMap => {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
                api.get_opt(&reference.name)
                    .await
                    .map_err(|e| {
                        format!("substitute from 'ConfigMap/{}' error: {e}", reference.name)
                    })?
                    .map(|cm| cm.data.unwrap_or_default())
            }
            SubstituteKind::Secret => {
                let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
                api.get_opt(&reference.name)
                    .await
                    .map_err(|e| format!("substitute from 'Secret/{}' error: {e}", reference.name))?
                    .map(|secret| {
                        let mut out: BTreeMap<String, String> = secret
                            .data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                            .collect();
                        for (k, v) in secret.string_data.unwrap_or_default() {
                            out.insert(k, v);
                        }
                        out
                    })
            }
        };
        match values {
            Some(values) => vars.extend(values),
            None if reference.optional => {}
            None => {
                return Err(format!(
                    "substitute from '{:?}/{}' error: not found",
                    reference.kind, reference.name
                ));
            }
        }
    }
    for (key, value) in post_build.substitute.iter().flatten() {
        vars.insert(key.clone(), value.replace('\n', ""));
    }
    if let Some(bad) = vars.keys().find(|k| !substitute::is_valid_name(k)) {
        return Err(format!(
            "'{bad}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
        ));
    }
    Ok(vars)
}
