//! Schema fragments HelmRelease needs where the derived schema differs from Flux's.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An integer without `format`: Flux declares Go `int` fields that way, while schemars would
/// add `int32`/`int64`.
pub fn plain_integer(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer" })
}
