//! `configMapGenerator` and `secretGenerator`: building ConfigMaps and Secrets from literals, files and
//! env files, with generator options and merge/replace behaviour.

use std::path::Path;

use base64::Engine;

use crate::error::Error;
use crate::kustomization::{GeneratorArgs, GeneratorOptions, Kustomization};
use crate::loader::Loader;
use crate::resource::{GeneratorBehavior, Origin, Resource};
use crate::yaml::{Mapping, Value};

#[derive(Clone, Copy, PartialEq)]
enum GeneratedKind {
    ConfigMap,
    Secret,
}

/// Generates the objects of a kustomization's ConfigMap and Secret generators, in that order.
pub fn generate(
    loader: &Loader,
    kustomization_path: &Path,
    kustomization: &Kustomization,
) -> Result<Vec<Resource>, Error> {
    let global = kustomization.generator_options.as_ref();
    let mut out = Vec::new();
    for args in &kustomization.config_map_generator {
        out.push(generate_one(
            loader,
            kustomization_path,
            args,
            global,
            GeneratedKind::ConfigMap,
        )?);
    }
    for args in &kustomization.secret_generator {
        out.push(generate_one(
            loader,
            kustomization_path,
            args,
            global,
            GeneratedKind::Secret,
        )?);
    }
    Ok(out)
}

/// Generates one object from builtin-plugin style arguments (used by `generators:` configs too).
pub fn generate_from_args(
    loader: &Loader,
    kustomization_path: &Path,
    args: &GeneratorArgs,
    is_secret: bool,
) -> Result<Resource, Error> {
    let kind = if is_secret {
        GeneratedKind::Secret
    } else {
        GeneratedKind::ConfigMap
    };
    generate_one(loader, kustomization_path, args, None, kind)
}

fn generate_one(
    loader: &Loader,
    kustomization_path: &Path,
    args: &GeneratorArgs,
    global: Option<&GeneratorOptions>,
    kind: GeneratedKind,
) -> Result<Resource, Error> {
    let name = args.name.clone().unwrap_or_default();
    if name.is_empty() {
        return Err(Error::invalid(
            kustomization_path,
            "a generator needs a 'name'",
        ));
    }
    // kustomize reads any other spelling (`Merge`, a typo) as unspecified, which creates.
    let behavior = match args.behavior.as_deref() {
        Some("merge") => GeneratorBehavior::Merge,
        Some("replace") => GeneratorBehavior::Replace,
        _ => GeneratorBehavior::Create,
    };
    let field = match kind {
        GeneratedKind::ConfigMap => "configMapGenerator",
        GeneratedKind::Secret => "secretGenerator",
    };
    let pairs = collect_pairs(loader, field, args)?;

    let mut metadata = Mapping::new();
    metadata.insert("name".to_string(), Value::String(name.clone()));
    if let Some(namespace) = args.namespace.as_deref().filter(|n| !n.is_empty()) {
        metadata.insert(
            "namespace".to_string(),
            Value::String(namespace.to_string()),
        );
    }
    let options = merged_options(args.options.as_ref(), global);
    if !options.labels.is_empty() {
        metadata.insert("labels".to_string(), string_map(&options.labels));
    }
    if !options.annotations.is_empty() {
        metadata.insert("annotations".to_string(), string_map(&options.annotations));
    }

    let mut object = Mapping::new();
    object.insert("apiVersion".to_string(), Value::from("v1"));
    let kind_name = match kind {
        GeneratedKind::ConfigMap => "ConfigMap",
        GeneratedKind::Secret => "Secret",
    };
    object.insert("kind".to_string(), Value::from(kind_name));
    object.insert("metadata".to_string(), Value::Map(metadata));

    let mut data = Mapping::new();
    let mut binary_data = Mapping::new();
    for (key, bytes) in pairs {
        match kind {
            GeneratedKind::Secret => {
                data.insert(key, Value::String(encode_base64(&bytes)));
            }
            GeneratedKind::ConfigMap => match String::from_utf8(bytes) {
                Ok(text) => {
                    data.insert(key, Value::String(text));
                }
                Err(invalid) => {
                    binary_data.insert(key, Value::String(encode_base64(invalid.as_bytes())));
                }
            },
        }
    }
    data.sort_keys();
    binary_data.sort_keys();
    // kustomize makes a Secret's `data` whatever it holds, and a ConfigMap's only when it has keys.
    if !data.is_empty() || kind == GeneratedKind::Secret {
        object.insert("data".to_string(), Value::Map(data));
    }
    if !binary_data.is_empty() {
        object.insert("binaryData".to_string(), Value::Map(binary_data));
    }
    if kind == GeneratedKind::Secret {
        let secret_type = args
            .secret_type
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Opaque".to_string());
        object.insert("type".to_string(), Value::String(secret_type));
    }
    if options.immutable == Some(true) {
        object.insert("immutable".to_string(), Value::Bool(true));
    }

    let mut resource = Resource::new(Value::Map(object));
    resource.behavior = behavior;
    resource.generated = true;
    resource.needs_hash = options.disable_name_suffix_hash != Some(true);
    resource.origin = Some(Origin::Generator {
        configured_in: kustomization_path.to_path_buf(),
        kind: format!("{kind_name}Generator"),
        name: None,
    });
    Ok(resource)
}

fn string_map(pairs: &indexmap::IndexMap<String, crate::kustomization::ScalarString>) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.0.clone())))
            .collect(),
    )
}

/// Local options win; global `generatorOptions` fill what the local ones lack.
fn merged_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut merged = global.cloned().unwrap_or_default();
    if let Some(local) = local {
        for (k, v) in &local.labels {
            merged.labels.insert(k.clone(), v.clone());
        }
        for (k, v) in &local.annotations {
            merged.annotations.insert(k.clone(), v.clone());
        }
        if local.disable_name_suffix_hash.is_some() {
            merged.disable_name_suffix_hash = local.disable_name_suffix_hash;
        }
        if local.immutable.is_some() {
            merged.immutable = local.immutable;
        }
    }
    merged
}

/// Reads all key/value sources of a generator: env files, then literals, then files. `field` is
/// the generator's field name, for messages.
fn collect_pairs(
    loader: &Loader,
    field: &str,
    args: &GeneratorArgs,
) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut push = |key: String, value: Vec<u8>, origin: &str| -> Result<(), Error> {
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(Error::build(
                origin.to_string(),
                format!("cannot add key '{key}', another key by that name already exists"),
            ));
        }
        pairs.push((key, value));
        Ok(())
    };
    let generator = args.name.clone().unwrap_or_default();
    for env in &args.envs {
        let (path, text) = loader.read_text(&format!("{field} envs"), env)?;
        for (key, value) in parse_env_file(&path, &text)? {
            push(key, value.into_bytes(), &path.display().to_string())?;
        }
    }
    for literal in &args.literals {
        let (key, value) = literal.split_once('=').ok_or_else(|| {
            Error::build(
                format!("generator '{generator}'"),
                format!("literal '{literal}' must be of the form key=value"),
            )
        })?;
        push(
            key.to_string(),
            strip_quotes(value).as_bytes().to_vec(),
            &generator,
        )?;
    }
    for file in &args.files {
        let (key, path) = match file.split_once('=') {
            Some((key, path)) if !key.is_empty() => (key.to_string(), path.to_string()),
            _ => {
                let key = Path::new(file)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| file.clone());
                (key, file.clone())
            }
        };
        let (resolved, bytes) = loader.read_bytes(&format!("{field} files"), &path)?;
        if resolved.is_dir() {
            return Err(Error::invalid(
                resolved,
                "generator file sources must be files",
            ));
        }
        push(key, bytes, &generator)?;
    }
    Ok(pairs)
}

/// Base64 as kustomize stores it: text longer than 70 characters is broken into 70-character lines,
/// each ending in a newline.
fn encode_base64(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() <= 70 {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 70 + 1);
    for chunk in encoded.as_bytes().chunks(70) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// Removes one pair of matching surrounding quotes.
fn strip_quotes(value: &str) -> &str {
    if value.len() >= 2 {
        for quote in ['"', '\''] {
            if value.starts_with(quote) && value.ends_with(quote) {
                return &value[1..value.len() - 1];
            }
        }
    }
    value
}

/// Parses an env file: `KEY=VALUE` lines, `#` comments and blank lines skipped, a leading BOM removed.
/// A bare `KEY` takes its value from the process environment, as kustomize does.
fn parse_env_file(path: &Path, text: &str) -> Result<Vec<(String, String)>, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut pairs = Vec::new();
    for (number, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim_end_matches('\r').trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (line.to_string(), std::env::var(line).unwrap_or_default()),
        };
        if key.is_empty() {
            return Err(Error::invalid(
                path,
                format!(
                    "line {}: invalid environment variable name {key:?}",
                    number + 1
                ),
            ));
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}
