//! postBuild variables read from the API: what the controller substitutes, and what `eddy build`
//! and `eddy diff` substitute when they may read the cluster.

use std::collections::BTreeMap;

use eddy_api::kustomize::kustomization::{PostBuild, SubstituteKind};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};

use crate::substitute;

/// Why the variables could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum VariablesError {
    #[error("substitute from '{kind}/{name}' error: {source}")]
    Read {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("substitute from '{kind}/{name}' error: not found")]
    NotFound { kind: &'static str, name: String },
    #[error("'{0}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'")]
    InvalidName(String),
}

/// Collects postBuild variables: `substituteFrom` in order (later wins), then inline
/// `substitute`.
pub async fn post_build_variables(
    client: &Client,
    namespace: &str,
    post_build: &PostBuild,
) -> Result<BTreeMap<String, String>, VariablesError> {
    let mut vars = BTreeMap::new();
    for reference in post_build.substitute_from.iter().flatten() {
        let kind = match reference.kind {
            SubstituteKind::ConfigMap => "ConfigMap",
            SubstituteKind::Secret => "Secret",
        };
        let read_error = |source| VariablesError::Read {
            kind,
            name: reference.name.clone(),
            source,
        };
        let values = match reference.kind {
            SubstituteKind::ConfigMap => Api::<ConfigMap>::namespaced(client.clone(), namespace)
                .get_opt(&reference.name)
                .await
                .map_err(read_error)?
                .map(|cm| cm.data.unwrap_or_default()),
            SubstituteKind::Secret => Api::<Secret>::namespaced(client.clone(), namespace)
                .get_opt(&reference.name)
                .await
                .map_err(read_error)?
                .map(secret_values),
        };
        match values {
            Some(values) => vars.extend(values),
            None if reference.optional => {}
            None => {
                return Err(VariablesError::NotFound {
                    kind,
                    name: reference.name.clone(),
                });
            }
        }
    }
    for (key, value) in post_build.substitute.iter().flatten() {
        vars.insert(key.clone(), value.replace('\n', ""));
    }
    if let Some(bad) = vars.keys().find(|k| !substitute::is_valid_name(k)) {
        return Err(VariablesError::InvalidName(bad.clone()));
    }
    Ok(vars)
}

/// A Secret's `data` as text, with `stringData` winning.
fn secret_values(secret: Secret) -> BTreeMap<String, String> {
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
}
