//! `generators:` and `transformers:` entries. Only kustomize's built-in plugin kinds are supported
//! (`apiVersion: builtin`), configured inline, in a file, or as the objects a kustomization directory
//! builds; anything else (exec, container or Go plugins) is refused.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::build::{Accumulated, Builder, resources_from_text};
use crate::error::Error;
use crate::fieldspec::{FieldSpec, split_path, visit_path};
use crate::kustomization::{GeneratorArgs, Image, Patch, Replica, ScalarString, Selector};
use crate::loader::Loader;
use crate::resource::{Origin, Resource};
use crate::transform::{
    generators, images, metadata, patches, replacements, selector::CompiledSelector,
};
use crate::yaml::Value;

/// Loads the plugin configuration objects an entry names.
fn load_configs(
    builder: &mut Builder,
    loader: &Loader,
    kustomization_path: &Path,
    field: &str,
    entry: &str,
) -> Result<Vec<(Value, PathBuf)>, Error> {
    let with_origin = |resources: Vec<Resource>, origin: &Path| -> Vec<(Value, PathBuf)> {
        resources
            .into_iter()
            .map(|r| (r.value, origin.to_path_buf()))
            .collect()
    };
    if entry.contains('\n') {
        return Ok(with_origin(
            resources_from_text(kustomization_path, entry)?,
            kustomization_path,
        ));
    }
    let path = loader.resolve(field, entry)?;
    if path.is_dir() {
        let built = builder.accumulate_plugin_dir(&path)?;
        return Ok(with_origin(built.resources, &path));
    }
    let (path, text) = loader.read_text(field, entry)?;
    Ok(with_origin(resources_from_text(&path, &text)?, &path))
}

fn decode<T: for<'de> Deserialize<'de>>(config: &Value, origin: &Path) -> Result<T, Error> {
    let mut json = config.to_json();
    if let Some(map) = json.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    serde_json::from_value(json)
        .map_err(|e| Error::invalid(origin, format!("invalid plugin configuration: {e}")))
}

fn plugin_kind(config: &Value, origin: &Path) -> Result<String, Error> {
    let api_version = config.str_at(&["apiVersion"]).unwrap_or("");
    let kind = config.str_at(&["kind"]).unwrap_or("").to_string();
    if api_version != "builtin" {
        return Err(Error::Unsupported {
            path: origin.to_path_buf(),
            feature: format!(
                "plugin {api_version}/{kind} (only apiVersion: builtin plugins are supported)"
            ),
        });
    }
    Ok(kind)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeneratorPluginConfig {
    metadata: Option<Value>,
    #[serde(flatten)]
    args: GeneratorArgs,
}

/// Runs a `generators:` entry.
pub fn run_generator(
    builder: &mut Builder,
    loader: &Loader,
    kustomization_path: &Path,
    entry: &str,
) -> Result<Vec<Resource>, Error> {
    let mut out = Vec::new();
    for (config, configured_in) in
        load_configs(builder, loader, kustomization_path, "generators", entry)?
    {
        let kind = plugin_kind(&config, kustomization_path)?;
        let is_secret = match kind.as_str() {
            "ConfigMapGenerator" => false,
            "SecretGenerator" => true,
            other => {
                return Err(Error::Unsupported {
                    path: kustomization_path.to_path_buf(),
                    feature: format!("builtin generator kind '{other}'"),
                });
            }
        };
        let mut parsed: GeneratorPluginConfig = decode(&config, kustomization_path)?;
        if let Some(metadata) = &parsed.metadata {
            if parsed.args.name.is_none() {
                parsed.args.name = metadata.str_at(&["name"]).map(str::to_string);
            }
            if parsed.args.namespace.is_none() {
                parsed.args.namespace = metadata.str_at(&["namespace"]).map(str::to_string);
            }
        }
        let mut generated =
            generators::generate_from_args(loader, kustomization_path, &parsed.args, is_secret)?;
        generated.origin = Some(Origin::Generator {
            configured_in,
            kind,
            name: config.str_at(&["metadata", "name"]).map(str::to_string),
        });
        out.push(generated);
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AffixConfig {
    prefix: String,
    suffix: String,
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PairsConfig {
    labels: indexmap::IndexMap<String, ScalarString>,
    annotations: indexmap::IndexMap<String, ScalarString>,
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ValueAddConfig {
    value: Option<String>,
    targets: Vec<ValueAddTarget>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ValueAddTarget {
    selector: Option<Selector>,
    field_path: String,
    file_path_position: usize,
}

/// Runs a `transformers:` entry over everything accumulated so far.
pub fn run_transformer(
    builder: &mut Builder,
    loader: &Loader,
    kustomization_path: &Path,
    entry: &str,
    acc: &mut Accumulated,
) -> Result<(), Error> {
    let context = || kustomization_path.display().to_string();
    for (config, _) in load_configs(builder, loader, kustomization_path, "transformers", entry)? {
        let kind = plugin_kind(&config, kustomization_path)?;
        let resources = &mut acc.resources;
        match kind.as_str() {
            "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
                let parsed: AffixConfig = decode(&config, kustomization_path)?;
                let specs = if parsed.field_specs.is_empty() {
                    vec![FieldSpec::new("", "metadata/name", false)]
                } else {
                    parsed.field_specs.clone()
                };
                metadata::add_name_affixes_with(resources, &parsed.prefix, &parsed.suffix, &specs)
                    .map_err(|m| Error::build(context(), m))?;
            }
            "LabelTransformer" => {
                let parsed: PairsConfig = decode(&config, kustomization_path)?;
                let pairs: Vec<(String, String)> = parsed
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.0.clone()))
                    .collect();
                set_pairs_at(resources, &pairs, &parsed.field_specs)
                    .map_err(|m| Error::build(context(), m))?;
            }
            "AnnotationsTransformer" => {
                let parsed: PairsConfig = decode(&config, kustomization_path)?;
                let pairs: Vec<(String, String)> = parsed
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.0.clone()))
                    .collect();
                set_pairs_at(resources, &pairs, &parsed.field_specs)
                    .map_err(|m| Error::build(context(), m))?;
            }
            "NamespaceTransformer" => {
                let namespace = config
                    .str_at(&["metadata", "namespace"])
                    .unwrap_or("")
                    .to_string();
                if !namespace.is_empty() {
                    metadata::set_namespace(resources, &namespace, &acc.config)
                        .map_err(|m| Error::build(context(), m))?;
                }
            }
            "ImageTagTransformer" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct ImageConfig {
                    image_tag: Image,
                }
                let parsed: ImageConfig = decode(&config, kustomization_path)?;
                images::update_images(resources, &[parsed.image_tag], &acc.config)
                    .map_err(|m| Error::build(context(), m))?;
            }
            "ReplicaCountTransformer" => {
                #[derive(Deserialize)]
                struct ReplicaConfig {
                    replica: Replica,
                }
                let parsed: ReplicaConfig = decode(&config, kustomization_path)?;
                metadata::set_replicas(resources, &[parsed.replica], &acc.config)
                    .map_err(|m| Error::build(context(), m))?;
            }
            "PatchTransformer" => {
                #[derive(Deserialize)]
                struct PatchConfig {
                    path: Option<String>,
                    patch: Option<String>,
                    target: Option<Selector>,
                }
                let parsed: PatchConfig = decode(&config, kustomization_path)?;
                let patch = Patch {
                    path: parsed.path,
                    patch: parsed.patch,
                    target: parsed.target,
                    ..Patch::default()
                };
                patches::apply_patches(
                    loader,
                    kustomization_path,
                    "PatchTransformer path",
                    &[patch],
                    resources,
                    acc.schema.as_ref(),
                )?;
            }
            "PatchStrategicMergeTransformer" => {
                #[derive(Deserialize)]
                struct SmpConfig {
                    #[serde(default)]
                    paths: Vec<String>,
                    patches: Option<String>,
                }
                let parsed: SmpConfig = decode(&config, kustomization_path)?;
                let mut entries = parsed.paths;
                entries.extend(parsed.patches);
                patches::apply_strategic_merge_entries(
                    loader,
                    kustomization_path,
                    &entries,
                    resources,
                    acc.schema.as_ref(),
                )?;
            }
            "PatchJson6902Transformer" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct JsonPatchConfig {
                    target: Option<Selector>,
                    path: Option<String>,
                    json_op: Option<String>,
                }
                let parsed: JsonPatchConfig = decode(&config, kustomization_path)?;
                let patch = Patch {
                    path: parsed.path,
                    patch: parsed.json_op,
                    target: parsed.target,
                    ..Patch::default()
                };
                patches::apply_json6902_entries(loader, kustomization_path, &[patch], resources)?;
            }
            "ReplacementTransformer" => {
                let list = config
                    .get("replacements")
                    .cloned()
                    .unwrap_or(Value::Seq(Vec::new()));
                let Value::Seq(items) = list else {
                    return Err(Error::invalid(
                        kustomization_path,
                        "replacements must be a list",
                    ));
                };
                replacements::apply(loader, kustomization_path, &items, resources)?;
            }
            "ValueAddTransformer" => {
                let parsed: ValueAddConfig = decode(&config, kustomization_path)?;
                let value = parsed.value.clone().unwrap_or_else(|| {
                    loader
                        .root
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                });
                value_add(resources, &value, &parsed.targets)
                    .map_err(|m| Error::build(context(), m))?;
            }
            other => {
                return Err(Error::Unsupported {
                    path: kustomization_path.to_path_buf(),
                    feature: format!("builtin transformer kind '{other}'"),
                });
            }
        }
    }
    Ok(())
}

fn set_pairs_at(
    resources: &mut crate::resmap::ResMap,
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<(), String> {
    for resource in &mut resources.resources {
        crate::shared::set_entries(resource, pairs, specs)?;
    }
    Ok(())
}

fn value_add(
    resources: &mut crate::resmap::ResMap,
    value: &str,
    targets: &[ValueAddTarget],
) -> Result<(), String> {
    for target in targets {
        let selector = target
            .selector
            .as_ref()
            .map(CompiledSelector::new)
            .transpose()?;
        let segments = split_path(&target.field_path);
        for resource in &mut resources.resources {
            if selector.as_ref().is_some_and(|s| !s.matches(resource)) {
                continue;
            }
            visit_path(&mut resource.value, &segments, true, &mut |field| {
                if target.file_path_position == 0 {
                    *field = Value::String(value.to_string());
                    return Ok(());
                }
                let current = field.scalar_text().unwrap_or_default();
                let mut parts: Vec<&str> = current.split('/').filter(|p| !p.is_empty()).collect();
                let index = (target.file_path_position - 1).min(parts.len());
                parts.insert(index, value);
                *field = Value::String(parts.join("/"));
                Ok(())
            })?;
        }
    }
    Ok(())
}
