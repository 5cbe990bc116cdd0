//! The `crds` field: OpenAPI definition files whose `x-kubernetes-object-ref-*` extensions declare name
//! references inside custom resources.

use crate::config::{NameBackReference, TransformerConfig};
use crate::error::Error;
use crate::fieldspec::FieldSpec;
use crate::loader::Loader;
use crate::yaml::{self, Value};

/// Reads a definitions file and turns its object-reference annotations into nameReference fieldspecs.
pub fn config_from_crd_file(loader: &Loader, entry: &str) -> Result<TransformerConfig, Error> {
    let (path, text) = loader.read_text(entry)?;
    let document = yaml::parse_one(&text).map_err(|message| Error::invalid(&path, message))?;
    let mut config = TransformerConfig::default();
    let Value::Map(definitions) = document else {
        return Ok(config);
    };
    for (type_name, schema) in &definitions {
        let Some(kind) = schema
            .get_path(&["x-kubernetes-group-version-kind"])
            .and_then(Value::as_seq)
            .and_then(|gvks| gvks.first())
            .and_then(|gvk| gvk.str_at(&["kind"]))
            .map(str::to_string)
            .or_else(|| type_name.rsplit('.').next().map(str::to_string))
        else {
            continue;
        };
        collect_refs(schema, &kind, &mut Vec::new(), &mut config);
    }
    Ok(config)
}

fn collect_refs(
    schema: &Value,
    referrer_kind: &str,
    path: &mut Vec<String>,
    config: &mut TransformerConfig,
) {
    let Some(properties) = schema.get("properties").and_then(Value::as_map) else {
        return;
    };
    for (field, property) in properties {
        path.push(field.clone());
        if let Some(target_kind) = property.str_at(&["x-kubernetes-object-ref-kind"]) {
            let spec = FieldSpec::new(referrer_kind, &path.join("/"), false);
            config.name_reference.push(NameBackReference {
                kind: target_kind.to_string(),
                version: property
                    .str_at(&["x-kubernetes-object-ref-api-version"])
                    .unwrap_or("")
                    .to_string(),
                field_specs: vec![spec],
                ..NameBackReference::default()
            });
        }
        collect_refs(property, referrer_kind, path, config);
        path.pop();
    }
}
