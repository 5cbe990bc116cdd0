//! The `openapi` field: kustomize only has the Kubernetes v1.21.2 schema built in; a custom schema file
//! (OpenAPI v2 `definitions`) adds merge keys for the kinds it describes (used by strategic merge).

use std::path::Path;

use indexmap::IndexMap;

use crate::error::Error;
use crate::loader::Loader;
use crate::yaml::{self, Value};

/// Validates the `openapi` field and loads a custom schema when one is named.
pub fn load(
    loader: &Loader,
    kustomization_path: &Path,
    openapi: &IndexMap<String, String>,
) -> Result<Option<Value>, Error> {
    let mut schema = None;
    for (key, value) in openapi {
        match key.as_str() {
            "version" => {
                if value != "v1.21.2" {
                    return Err(Error::invalid(
                        kustomization_path,
                        format!("the specified OpenAPI version '{value}' is not built in"),
                    ));
                }
            }
            "path" => {
                let (path, text) = loader.read_text("openapi path", value)?;
                schema = Some(yaml::parse_one(&text).map_err(|m| Error::invalid(&path, m))?);
            }
            other => {
                return Err(Error::invalid(
                    kustomization_path,
                    format!("unknown openapi field '{other}'"),
                ));
            }
        }
    }
    Ok(schema)
}
