//! Schema fragments the image kinds need where the derived schema differs from Flux's.

use schemars::{Schema, SchemaGenerator, json_schema};

/// A Kubernetes label selector marked atomic (replaced as a whole by server-side apply), with
/// atomic lists, as Flux declares `policySelector`.
pub fn atomic_label_selector(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Label query; an empty selector matches everything.",
        "type": "object",
        "x-kubernetes-map-type": "atomic",
        "properties": {
            "matchExpressions": {
                "description": "Requirements on label keys and values, all of which must hold.",
                "type": "array",
                "x-kubernetes-list-type": "atomic",
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": { "description": "Label key.", "type": "string" },
                        "operator": {
                            "description": "One of In, NotIn, Exists, DoesNotExist.",
                            "type": "string"
                        },
                        "values": {
                            "description": "Values for In/NotIn; empty for Exists/DoesNotExist.",
                            "type": "array",
                            "x-kubernetes-list-type": "atomic",
                            "items": { "type": "string" }
                        }
                    }
                }
            },
            "matchLabels": {
                "description": "Exact label key/value pairs, all of which must match.",
                "type": "object",
                "additionalProperties": { "type": "string" }
            }
        }
    })
}
