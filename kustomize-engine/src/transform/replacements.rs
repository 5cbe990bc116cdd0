//! `replacements`: copying a field of one object into fields of others.

use std::path::Path;

use crate::error::Error;
use crate::loader::Loader;
use crate::resmap::ResMap;

pub fn apply(
    _loader: &Loader,
    kustomization_path: &Path,
    replacements: &[serde_yaml_ng::Value],
    _resources: &mut ResMap,
) -> Result<(), Error> {
    if replacements.is_empty() {
        return Ok(());
    }
    Err(Error::Unsupported {
        path: kustomization_path.to_path_buf(),
        feature: "replacements".to_string(),
    })
}
