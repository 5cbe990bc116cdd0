//! The built-in generators and transformers, and the fixed order in which a kustomization runs them.

pub mod crds;
pub mod generators;
pub mod hash;
pub mod images;
pub mod jsonpatch;
pub mod merge;
pub mod metadata;
pub mod nameref;
pub mod openapi;
pub mod patches;
pub mod plugins;
pub mod replacements;
pub mod selector;
pub mod sort;
pub mod vars;

use std::path::Path;

use crate::build::Accumulated;
use crate::error::Error;
use crate::kustomization::Kustomization;
use crate::loader::Loader;

/// Runs the kustomization's own transformers, in kustomize's order: strategic merge patches, patches,
/// namespace, prefix/suffix, labels, annotations, JSON 6902 patches, replicas, images, replacements.
pub fn run_builtin_transformers(
    loader: &Loader,
    kustomization_path: &Path,
    kustomization: &Kustomization,
    acc: &mut Accumulated,
) -> Result<(), Error> {
    let context = || kustomization_path.display().to_string();
    let resources = &mut acc.resources;
    let schema = acc.schema.as_ref();
    patches::apply_strategic_merge_entries(
        loader,
        kustomization_path,
        &kustomization.patches_strategic_merge,
        resources,
        schema,
    )?;
    patches::apply_patches(
        loader,
        kustomization_path,
        "patches path",
        &kustomization.patches,
        resources,
        schema,
    )?;
    if let Some(namespace) = kustomization.namespace.as_deref().filter(|n| !n.is_empty()) {
        metadata::set_namespace(resources, namespace, &acc.config)
            .map_err(|m| Error::build(context(), m))?;
        record_transformation(resources, kustomization_path, "NamespaceTransformer");
    }
    let prefix = kustomization.name_prefix.as_deref().unwrap_or("");
    let suffix = kustomization.name_suffix.as_deref().unwrap_or("");
    metadata::add_name_affixes(resources, prefix, suffix, &acc.config)
        .map_err(|m| Error::build(context(), m))?;
    if !prefix.is_empty() {
        record_transformation(resources, kustomization_path, "PrefixTransformer");
    }
    if !suffix.is_empty() {
        record_transformation(resources, kustomization_path, "SuffixTransformer");
    }
    for entry in &kustomization.labels {
        metadata::add_labels(resources, entry, &acc.config)
            .map_err(|m| Error::build(context(), m))?;
    }
    let annotations: Vec<(String, String)> = kustomization
        .common_annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    metadata::add_annotations(resources, &annotations, &acc.config)
        .map_err(|m| Error::build(context(), m))?;
    patches::apply_json6902_entries(
        loader,
        kustomization_path,
        &kustomization.patches_json6902,
        resources,
    )?;
    metadata::set_replicas(resources, &kustomization.replicas, &acc.config)
        .map_err(|m| Error::build(context(), m))?;
    images::update_images(resources, &kustomization.images, &acc.config)
        .map_err(|m| Error::build(context(), m))?;
    replacements::apply(
        loader,
        kustomization_path,
        &kustomization.replacements,
        resources,
    )?;
    Ok(())
}

/// Notes a builtin transformer run on every object, for `buildMetadata: [transformerAnnotations]`.
fn record_transformation(resources: &mut crate::resmap::ResMap, configured_in: &Path, kind: &str) {
    for resource in &mut resources.resources {
        resource
            .transformations
            .push((configured_in.to_path_buf(), kind.to_string()));
    }
}
