//! postBuild variables read from the API: what the controller substitutes, and what `eddy build`
//! and `eddy diff` substitute when they may read the cluster.

use std::collections::BTreeMap;

use eddy_api::kustomize::kustomization::{PostBuild, SubstituteKind};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};

use crate::substitute;

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
