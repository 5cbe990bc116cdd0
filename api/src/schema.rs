//! Schema conventions shared by every kind, and the single place where derived CRDs are
//! post-processed so they match the shape of Flux's published CRDs.
//!
//! `#[derive(CustomResource, JsonSchema)]` gets most of a CRD right; what it does differently
//! from Flux's generator (controller-gen) is fixed here once instead of per field:
//! optional fields are marked `nullable`, the root requires `spec`, and the status has no
//! default. Flux defaults a missing status to `{observedGeneration: -1}`, which kstatus-aware
//! tools read as "not reconciled yet".

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use serde_json::{Map, Value, json};

use crate::meta::SUBSTITUTE_ANNOTATION;

/// Go duration string that may use hours (`1h30m`), as accepted for intervals.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";
/// Go duration string without hours, as accepted for timeouts.
pub const TIMEOUT_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$";
/// `<algorithm>:<checksum>` as used in artifact digests.
pub const DIGEST_PATTERN: &str = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$";

/// Options for [`finalize`] that differ between kinds.
#[derive(Clone, Copy, Debug)]
pub struct FinalizeOptions {
    /// Whether the kind has a status whose missing value defaults to `{observedGeneration: -1}`.
    pub status_default: bool,
    /// Whether the CRD carries `kustomize.toolkit.fluxcd.io/substitute: disabled` (Flux omits it
    /// on the image reflector's kinds).
    pub substitute_annotation: bool,
}

impl Default for FinalizeOptions {
    fn default() -> Self {
        Self {
            status_default: true,
            substitute_annotation: true,
        }
    }
}

/// Brings a derived CRD to Flux's shape (see the module docs). Every kind's `crd()` calls this.
pub fn finalize(
    mut crd: CustomResourceDefinition,
    options: FinalizeOptions,
) -> CustomResourceDefinition {
    if options.substitute_annotation {
        crd.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(SUBSTITUTE_ANNOTATION.to_owned(), "disabled".to_owned());
    }
    if crd.spec.names.list_kind.is_none() {
        crd.spec.names.list_kind = Some(format!("{}List", crd.spec.names.kind));
    }
    for version in &mut crd.spec.versions {
        // Flux writes an empty `subresources` object for kinds without status.
        version.subresources.get_or_insert_with(Default::default);
        let Some(validation) = version.schema.as_mut() else {
            continue;
        };
        let Some(root) = validation.open_api_v3_schema.take() else {
            continue;
        };
        validation.open_api_v3_schema = Some(finalize_root(root, options));
    }
    crd
}

fn finalize_root(root: JSONSchemaProps, options: FinalizeOptions) -> JSONSchemaProps {
    let Ok(mut value) = serde_json::to_value(&root) else {
        return root;
    };
    strip_nullable(&mut value);
    if let Some(object) = value.as_object_mut() {
        // Flux's root schema does not require `spec` (a bare object is accepted and defaulted).
        object.remove("required");
        object.remove("title");
        if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
            properties.insert("metadata".to_owned(), json!({ "type": "object" }));
            properties.insert(
                "apiVersion".to_owned(),
                json!({ "type": "string", "description": "Versioned schema of this object, `<group>/<version>`." }),
            );
            properties.insert(
                "kind".to_owned(),
                json!({ "type": "string", "description": "REST resource kind of this object, in CamelCase." }),
            );
            if options.status_default
                && let Some(status) = properties.get_mut("status").and_then(Value::as_object_mut)
            {
                status.insert("default".to_owned(), json!({ "observedGeneration": -1 }));
            }
        }
    }
    serde_json::from_value(value).unwrap_or(root)
}

/// Removes `nullable: true` from a schema node and its children: Flux's schemas never allow
/// explicit nulls, and an absent optional field is what our types serialize anyway. Only schema
/// keywords are touched, so a field that happens to be called `nullable` survives.
fn strip_nullable(node: &mut Value) {
    let Some(object) = node.as_object_mut() else {
        return;
    };
    object.remove("nullable");
    drop_null_default(object);
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        properties.values_mut().for_each(strip_nullable);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = object.get_mut(key) {
            strip_nullable(child);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(children) = object.get_mut(key).and_then(Value::as_array_mut) {
            children.iter_mut().for_each(strip_nullable);
        }
    }
}

fn drop_null_default(object: &mut Map<String, Value>) {
    if object.get("default").is_some_and(Value::is_null) {
        object.remove("default");
    }
}

/// An integer without `format`: Flux declares Go `int` fields that way, while schemars would add
/// `int32`/`int64`.
pub fn plain_integer(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "integer" })
}

/// Schema of a field holding arbitrary JSON that the API server must keep as-is.
pub fn preserve_unknown_fields(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// Schema of a list of arbitrary JSON values kept as-is.
pub fn list_of_preserved_objects(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// Marks `provider` required although it has a default, as Flux's verification settings do
/// (the API server fills the default before checking `required`). Use as a struct-level
/// `#[schemars(transform = require_provider)]`.
pub fn require_provider(schema: &mut schemars::Schema) {
    require(schema, "provider");
}

/// Adds `field` to the `required` list of an object schema.
pub fn require(schema: &mut schemars::Schema, field: &str) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let required = object.entry("required").or_insert_with(|| json!([]));
    if let Some(names) = required.as_array_mut()
        && !names.iter().any(|name| name == field)
    {
        names.push(json!(field));
    }
}

/// The top-level `spec` properties of the storage version of `crd`: what a reconciler must act
/// on or refuse by name (the controllers' unsupported-field tables are checked against it).
pub fn stored_spec_properties(
    crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
) -> std::collections::BTreeSet<String> {
    crd.spec
        .versions
        .iter()
        .filter(|version| version.storage)
        .filter_map(|version| version.schema.as_ref()?.open_api_v3_schema.as_ref())
        .filter_map(|root| root.properties.as_ref()?.get("spec")?.properties.as_ref())
        .flat_map(|properties| properties.keys().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd_with_schema(schema: Value) -> CustomResourceDefinition {
        serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": { "name": "things.example.com" },
            "spec": {
                "group": "example.com",
                "names": { "kind": "Thing", "plural": "things" },
                "scope": "Namespaced",
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "schema": { "openAPIV3Schema": schema }
                }]
            }
        }))
        .unwrap()
    }

    fn root(crd: &CustomResourceDefinition) -> Value {
        serde_json::to_value(
            &crd.spec.versions[0]
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema,
        )
        .unwrap()
    }

    #[test]
    fn finalize_brings_a_derived_crd_to_flux_shape() {
        let derived = crd_with_schema(json!({
            "type": "object",
            "title": "Thing",
            "required": ["spec"],
            "properties": {
                "spec": { "type": "object", "properties": {
                    "nullable": { "type": "string", "nullable": true },
                    "count": { "type": "integer", "nullable": true, "default": null }
                }},
                "status": { "type": "object", "nullable": true }
            }
        }));
        let crd = finalize(derived, FinalizeOptions::default());
        let schema = root(&crd);
        assert!(schema.get("required").is_none() && schema.get("title").is_none());
        let spec = &schema["properties"]["spec"]["properties"];
        assert_eq!(spec["count"], json!({ "type": "integer" }));
        assert_eq!(
            spec["nullable"],
            json!({ "type": "string" }),
            "a field may be called `nullable`"
        );
        assert_eq!(
            schema["properties"]["status"]["default"],
            json!({ "observedGeneration": -1 })
        );
        assert_eq!(
            schema["properties"]["metadata"],
            json!({ "type": "object" })
        );
        assert_eq!(schema["properties"]["kind"]["type"], "string");
        assert_eq!(crd.spec.names.list_kind.as_deref(), Some("ThingList"));
        assert_eq!(
            crd.metadata.annotations.unwrap()[SUBSTITUTE_ANNOTATION],
            "disabled"
        );
        assert!(crd.spec.versions[0].subresources.is_some());
    }

    #[test]
    fn finalize_leaves_status_alone_when_asked() {
        let derived = crd_with_schema(json!({
            "type": "object",
            "properties": { "status": { "type": "object" } }
        }));
        let crd = finalize(
            derived,
            FinalizeOptions {
                status_default: false,
                ..Default::default()
            },
        );
        assert!(root(&crd)["properties"]["status"].get("default").is_none());
    }

    #[test]
    fn require_adds_a_field_once() {
        let mut schema = schemars::json_schema!({ "type": "object" });
        require(&mut schema, "provider");
        require(&mut schema, "provider");
        assert_eq!(schema.get("required"), Some(&json!(["provider"])));
    }
}
