//! The `crds` field: OpenAPI definition files (a map from type name to `{Schema: ...}` or to the schema
//! itself) whose `x-kubernetes-object-ref-kind` / `-api-version` extensions declare that a property of a
//! custom kind refers to another object by `name`. Each one becomes a nameReference fieldspec
//! `<property path>/name` on the custom kind.

use crate::config::{NameBackReference, TransformerConfig};
use crate::error::Error;
use crate::fieldspec::FieldSpec;
use crate::loader::Loader;
use crate::yaml::{self, Mapping, Value};

/// Deep enough for real schemas, small enough to stop reference cycles.
const MAX_DEPTH: usize = 16;

pub fn config_from_crd_file(loader: &Loader, entry: &str) -> Result<TransformerConfig, Error> {
    let (path, text) = loader.read_text("crds", entry)?;
    let document = yaml::parse_one(&text).map_err(|message| Error::invalid(&path, message))?;
    let mut config = TransformerConfig::default();
    let Value::Map(definitions) = document else {
        return Ok(config);
    };
    for (type_name, definition) in &definitions {
        let schema = schema_of(definition);
        let is_kind = schema.get_path(&["properties", "kind"]).is_some()
            && schema.get_path(&["properties", "apiVersion"]).is_some();
        if !is_kind {
            continue;
        }
        let kind = type_name
            .rsplit('.')
            .next()
            .unwrap_or(type_name)
            .to_string();
        let mut path = Vec::new();
        collect_refs(&definitions, schema, &kind, &mut path, &mut config, 0);
    }
    Ok(config)
}

/// A definition is either `{Schema: <schema>, Dependencies: [...]}` or the schema itself.
fn schema_of(definition: &Value) -> &Value {
    definition.get("Schema").unwrap_or(definition)
}

fn resolve<'a>(definitions: &'a Mapping, schema: &'a Value) -> &'a Value {
    match schema.str_at(&["$ref"]) {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/definitions/")
                .unwrap_or(reference);
            definitions.get(name).map(schema_of).unwrap_or(schema)
        }
        None => schema,
    }
}

fn collect_refs(
    definitions: &Mapping,
    schema: &Value,
    referrer_kind: &str,
    path: &mut Vec<String>,
    config: &mut TransformerConfig,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = resolve(definitions, schema);
    let Some(properties) = schema.get("properties").and_then(Value::as_map) else {
        return;
    };
    for (field, property) in properties {
        path.push(field.clone());
        if let Some(target_kind) = property.str_at(&["x-kubernetes-object-ref-kind"]) {
            let spec = FieldSpec::new(referrer_kind, &format!("{}/name", path.join("/")), false);
            config.name_reference.push(NameBackReference {
                kind: target_kind.to_string(),
                version: property
                    .str_at(&["x-kubernetes-object-ref-api-version"])
                    .unwrap_or("")
                    .to_string(),
                field_specs: vec![spec],
                ..NameBackReference::default()
            });
        } else {
            collect_refs(
                definitions,
                property,
                referrer_kind,
                path,
                config,
                depth + 1,
            );
        }
        path.pop();
    }
}
