//! The `openapi` field: kustomize only has the Kubernetes v1.21.2 schema built in. A custom schema file
//! is accepted (it must exist) but custom merge keys from it are not applied yet.

use std::path::Path;

use indexmap::IndexMap;

use crate::error::Error;
use crate::loader::Loader;

pub fn check(
    loader: &Loader,
    kustomization_path: &Path,
    openapi: &IndexMap<String, String>,
) -> Result<(), Error> {
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
                loader.read_text(value)?;
            }
            other => {
                return Err(Error::invalid(
                    kustomization_path,
                    format!("unknown openapi field '{other}'"),
                ));
            }
        }
    }
    Ok(())
}
