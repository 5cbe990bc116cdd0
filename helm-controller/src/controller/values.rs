//! Composing a HelmRelease's values: `valuesFrom` in order, then the inline `values` deep-merged
//! over them, then the `targetPath` entries (which take precedence over everything), and the
//! config digest Flux records for the result.

use std::collections::BTreeMap;

use eddy_api::helm::{
    HelmReleaseSpec,
    helmrelease::{ValuesReference, ValuesSourceKind},
};
use eddy_helm::Table;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};
use sha2::{Digest, Sha256};

/// What one `valuesFrom` entry found: the data of the ConfigMap or Secret, or `None` when the
/// object does not exist.
pub type ReferencedData = Option<BTreeMap<String, String>>;

fn kind_name(kind: ValuesSourceKind) -> &'static str {
    match kind {
        ValuesSourceKind::ConfigMap => "ConfigMap",
        ValuesSourceKind::Secret => "Secret",
    }
}

/// Reads the data of every `valuesFrom` object, in order.
pub async fn fetch_references(
    client: &Client,
    namespace: &str,
    references: &[ValuesReference],
) -> Result<Vec<ReferencedData>, String> {
    let mut found = Vec::with_capacity(references.len());
    for reference in references {
        let data = match reference.kind {
            ValuesSourceKind::ConfigMap => {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
                api.get_opt(&reference.name).await.map(|object| {
                    object.map(|cm| {
                        let mut data = cm.data.unwrap_or_default();
                        for (key, bytes) in cm.binary_data.unwrap_or_default() {
                            data.insert(key, String::from_utf8_lossy(&bytes.0).into_owned());
                        }
                        data
                    })
                })
            }
            ValuesSourceKind::Secret => {
                let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
                api.get_opt(&reference.name).await.map(|object| {
                    object.map(|secret| {
                        secret
                            .data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                            .collect()
                    })
                })
            }
        };
        let data = data.map_err(|error| {
            format!(
                "could not get {} '{namespace}/{}': {error}",
                kind_name(reference.kind),
                reference.name
            )
        })?;
        found.push(data);
    }
    Ok(found)
}

/// The composed values: pure, given what each reference found.
pub fn compose(
    namespace: &str,
    spec: &HelmReleaseSpec,
    found: &[ReferencedData],
) -> Result<Table, String> {
    let mut values = Table::new();
    let mut at_paths: Vec<(&ValuesReference, String)> = Vec::new();
    for (reference, data) in spec.values_from.iter().flatten().zip(found) {
        let subject = format!(
            "{} '{namespace}/{}'",
            kind_name(reference.kind),
            reference.name
        );
        let optional = reference.optional == Some(true);
        let Some(data) = data else {
            if optional {
                continue;
            }
            return Err(format!("could not find {subject}"));
        };
        let Some(text) = data.get(reference.key()) else {
            if optional {
                continue;
            }
            return Err(format!("missing key '{}' in {subject}", reference.key()));
        };
        match reference.target_path.as_deref().filter(|p| !p.is_empty()) {
            Some(_) => at_paths.push((reference, text.clone())),
            None => {
                let table = eddy_helm::parse_values(text).map_err(|error| {
                    format!(
                        "unable to read values from key '{}' in {subject}: {error}",
                        reference.key()
                    )
                })?;
                values = eddy_helm::merge_maps(values, table);
            }
        }
    }
    if let Some(serde_json::Value::Object(inline)) = &spec.values {
        values = eddy_helm::merge_maps(values, inline.clone());
    }
    for (reference, text) in at_paths {
        set_at_path(&mut values, reference, &text)?;
    }
    Ok(values)
}

/// Sets `text` at the reference's `targetPath` as `helm --set` (or `--set-string` for
/// `literal`) would.
fn set_at_path(values: &mut Table, reference: &ValuesReference, text: &str) -> Result<(), String> {
    let path = reference.target_path.as_deref().unwrap_or_default();
    // Helm's `--set` reads a trailing newline as part of the value; a value file written by an
    // editor ends with one, so it is trimmed as Flux does.
    let expression = format!("{path}={}", text.trim_end_matches('\n'));
    let parsed = if reference.literal == Some(true) {
        eddy_helm::parse_set_string_into(&expression, values)
    } else {
        eddy_helm::parse_set_into(&expression, values)
    };
    parsed.map_err(|error| format!("unable to set value at targetPath '{path}': {error}"))
}

/// `sha256:<hex>` of the values as Go's JSON encoder writes them (sorted keys, newline), the
/// config digest of `status.history` and `lastAttemptedConfigDigest`.
pub fn config_digest(values: &Table) -> String {
    let mut json = eddy_helm_release::to_go_json(values).unwrap_or_default();
    json.push(b'\n');
    format!("sha256:{}", hex::encode(Sha256::digest(&json)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(extra: serde_json::Value) -> HelmReleaseSpec {
        let mut object = json!({"interval": "5m", "chartRef": {"kind": "HelmChart", "name": "c"}});
        if let (Some(target), Some(extra)) = (object.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        serde_json::from_value(object).unwrap()
    }

    fn data(pairs: &[(&str, &str)]) -> ReferencedData {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        )
    }

    #[test]
    fn references_merge_in_order_then_inline_then_target_paths() {
        let spec = spec(json!({
            "valuesFrom": [
                {"kind": "ConfigMap", "name": "base"},
                {"kind": "Secret", "name": "creds", "valuesKey": "token", "targetPath": "auth.token"},
                {"kind": "ConfigMap", "name": "over", "valuesKey": "v.yaml"},
            ],
            "values": {"image": {"tag": "inline"}, "auth": {"token": "inline"}},
        }));
        let found = [
            data(&[(
                "values.yaml",
                "replicaCount: 1\nimage:\n  repository: r\n  tag: base\n",
            )]),
            data(&[("token", "s3cret\n")]),
            data(&[("v.yaml", "replicaCount: 2\n")]),
        ];
        let values = compose("apps", &spec, &found).unwrap();
        assert_eq!(
            serde_json::Value::Object(values),
            // Helm reads numbers in values files as float64.
            json!({"replicaCount": 2.0, "image": {"repository": "r", "tag": "inline"},
                   "auth": {"token": "s3cret"}})
        );
    }

    #[test]
    fn missing_objects_and_keys_fail_unless_optional() {
        let references = json!([{"kind": "ConfigMap", "name": "gone"}]);
        let error = compose("apps", &spec(json!({"valuesFrom": references})), &[None]).unwrap_err();
        assert_eq!(error, "could not find ConfigMap 'apps/gone'");
        let references = json!([{"kind": "Secret", "name": "s", "valuesKey": "k"}]);
        let error = compose(
            "apps",
            &spec(json!({"valuesFrom": references})),
            &[data(&[])],
        )
        .unwrap_err();
        assert_eq!(error, "missing key 'k' in Secret 'apps/s'");
        let references = json!([{"kind": "Secret", "name": "s", "optional": true}]);
        let values = compose("apps", &spec(json!({"valuesFrom": references})), &[None]).unwrap();
        assert!(values.is_empty());
    }

    #[test]
    fn bad_yaml_names_the_key_and_object() {
        let references = json!([{"kind": "ConfigMap", "name": "cm"}]);
        let error = compose(
            "apps",
            &spec(json!({"valuesFrom": references})),
            &[data(&[("values.yaml", "- a list\n")])],
        )
        .unwrap_err();
        assert!(
            error
                .starts_with("unable to read values from key 'values.yaml' in ConfigMap 'apps/cm'"),
            "{error}"
        );
    }

    #[test]
    fn the_digest_is_of_go_json_with_a_newline() {
        let values = compose("apps", &spec(json!({"values": {"b": 1, "a": "<x>"}})), &[]).unwrap();
        let expected = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(b"{\"a\":\"\\u003cx\\u003e\",\"b\":1}\n"))
        );
        assert_eq!(config_digest(&values), expected);
        assert_eq!(
            config_digest(&Table::new()),
            format!("sha256:{}", hex::encode(Sha256::digest(b"{}\n")))
        );
    }
}
