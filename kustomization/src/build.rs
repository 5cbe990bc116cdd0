//! Turning an unpacked artifact into the list of objects to apply.
//!
//! Like Flux, spec fields (`targetNamespace`, `namePrefix`, `patches`, …) are injected by editing
//! the kustomization file in the temporary copy of the artifact so the Kustomize engine does the
//! work; a directory of plain manifests first gets a generated kustomization listing them.
//! Everything here is file-system only: no API calls.

use std::path::{Component, Path, PathBuf};

use eddy_api::kustomize::KustomizationSpec;
use serde_json::{Map, Value, json};

use crate::origin;

/// The kustomization file names Kustomize recognises, in its order of preference.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Why the manifests could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("kustomization path not found: {0}")]
    PathNotFound(String),
    #[error("kustomization path '{0}' points outside the artifact")]
    PathEscapes(String),
    #[error("failed to generate kustomization.yaml: {0}")]
    Generate(String),
    #[error("failed to read {file}: {message}")]
    ReadKustomization { file: String, message: String },
    #[error("kustomize build failed: {0}")]
    Kustomize(String),
    #[error("{0}")]
    InvalidObject(String),
}

/// Resolves `spec.path` inside the artifact root without letting it escape.
pub fn resolve_path(root: &Path, spec_path: Option<&str>) -> Result<PathBuf, BuildError> {
    let relative = spec_path.unwrap_or("").trim_start_matches('/');
    let mut resolved = root.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => resolved.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if resolved == root {
                    return Err(BuildError::PathEscapes(relative.to_owned()));
                }
                resolved.pop();
            }
            Component::RootDir | Component::Prefix(_) => {}
        }
    }
    if !resolved.is_dir() {
        return Err(BuildError::PathNotFound(
            spec_path.unwrap_or("./").to_owned(),
        ));
    }
    Ok(resolved)
}

fn existing_kustomization(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

fn load_ignore(dir: &Path) -> Option<ignore::gitignore::Gitignore> {
    let file = dir.join(".sourceignore");
    if !file.is_file() {
        return None;
    }
    let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
    builder.add(file);
    builder.build().ok()
}

fn collect_manifests(
    root: &Path,
    dir: &Path,
    ignore: &Option<ignore::gitignore::Gitignore>,
    out: &mut Vec<String>,
) -> Result<(), BuildError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| BuildError::Generate(e.to_string()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    for path in entries {
        let is_dir = path.is_dir();
        if ignore
            .as_ref()
            .is_some_and(|rules| rules.matched(&path, is_dir).is_ignore())
        {
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .map_err(|e| BuildError::Generate(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        if is_dir {
            if existing_kustomization(&path).is_some() {
                out.push(relative);
            } else {
                collect_manifests(root, &path, ignore, out)?;
            }
            continue;
        }
        let is_manifest = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        let is_empty = std::fs::metadata(&path)
            .map(|m| m.len() == 0)
            .unwrap_or(true);
        if is_manifest && !is_empty {
            out.push(relative);
        }
    }
    Ok(())
}

/// Writes the kustomization that is actually built: a wrapper in `wrapper_dir` whose resources are
/// the Kustomization's `path` (reached as `path_from_wrapper`, a relative path, because
/// Kustomize refuses absolute roots) and which carries the spec fields (`targetNamespace`,
/// `namePrefix`, `patches`, …). A plain directory without a kustomization is listed file by file
/// (sub-directories with their own kustomization as a whole), honouring `.sourceignore`.
///
/// The unpacked artifact is never written to, so one copy serves every Kustomization using the
/// same revision.
pub fn write_wrapper(
    wrapper_dir: &Path,
    path_from_wrapper: &str,
    path: &Path,
    spec: &KustomizationSpec,
) -> Result<(), BuildError> {
    let mut resources = Vec::new();
    if existing_kustomization(path).is_some() {
        resources.push(path_from_wrapper.to_owned());
    } else {
        let ignore = load_ignore(path);
        let mut files = Vec::new();
        collect_manifests(path, path, &ignore, &mut files)?;
        files.sort();
        resources.extend(
            files
                .into_iter()
                .map(|f| format!("{path_from_wrapper}/{f}")),
        );
    }
    let mut document = Map::new();
    document.insert(
        "apiVersion".into(),
        json!("kustomize.config.k8s.io/v1beta1"),
    );
    document.insert("kind".into(), json!("Kustomization"));
    document.insert("resources".into(), json!(resources));
    for (key, value) in spec_additions(spec)? {
        let value = if key == "components" {
            // Components are relative to `path`, like the user wrote them.
            let relocated: Vec<Value> = value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|c| {
                    json!(format!(
                        "{path_from_wrapper}/{}",
                        c.trim_start_matches("./")
                    ))
                })
                .collect();
            Value::Array(relocated)
        } else {
            value
        };
        document.insert(key, value);
    }
    if !document.contains_key("buildMetadata")
        && existing_kustomization(path).is_some_and(|file| origin::needs_origin_fallback(&file))
    {
        document.insert("buildMetadata".into(), json!(["originAnnotations"]));
    }
    let text = serde_yaml_ng::to_string(&Value::Object(document))
        .map_err(|e| BuildError::Generate(e.to_string()))?;
    std::fs::write(wrapper_dir.join("kustomization.yaml"), text)
        .map_err(|e| BuildError::Generate(e.to_string()))
}

/// The kustomization fields the spec asks for, as (field, value) pairs.
fn spec_additions(spec: &KustomizationSpec) -> Result<Vec<(String, Value)>, BuildError> {
    let mut out = Vec::new();
    if let Some(namespace) = &spec.target_namespace {
        out.push(("namespace".to_owned(), json!(namespace)));
    }
    if let Some(prefix) = &spec.name_prefix {
        out.push(("namePrefix".to_owned(), json!(prefix)));
    }
    if let Some(suffix) = &spec.name_suffix {
        out.push(("nameSuffix".to_owned(), json!(suffix)));
    }
    let mut patches: Vec<Value> = Vec::new();
    for patch in spec.patches.iter().flatten() {
        patches.push(to_value(patch)?);
    }
    // v1beta2's patchesStrategicMerge and patchesJson6902 become inline patches, which is what
    // Kustomize itself turns them into.
    for patch in spec.patches_strategic_merge.iter().flatten() {
        let text =
            serde_yaml_ng::to_string(patch).map_err(|e| BuildError::Generate(e.to_string()))?;
        patches.push(json!({ "patch": text }));
    }
    for patch in spec.patches_json6902.iter().flatten() {
        let operations =
            serde_json::to_string(&patch.patch).map_err(|e| BuildError::Generate(e.to_string()))?;
        patches.push(json!({ "patch": operations, "target": to_value(&patch.target)? }));
    }
    if !patches.is_empty() {
        out.push(("patches".to_owned(), Value::Array(patches)));
    }
    if let Some(images) = spec.images.as_ref().filter(|i| !i.is_empty()) {
        let images: Result<Vec<Value>, _> = images.iter().map(to_value).collect();
        out.push(("images".to_owned(), Value::Array(images?)));
    }
    if let Some(components) = spec.components.as_ref().filter(|c| !c.is_empty()) {
        out.push(("components".to_owned(), json!(components)));
    }
    if let Some(metadata) = spec.build_metadata.as_ref().filter(|m| !m.is_empty()) {
        out.push(("buildMetadata".to_owned(), to_value(metadata)?));
    }
    Ok(out)
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, BuildError> {
    serde_json::to_value(value).map_err(|e| BuildError::Generate(e.to_string()))
}

/// Drops component paths that do not exist when `ignoreMissingComponents` is set.
pub fn drop_missing_components(dir: &Path, spec: &mut KustomizationSpec) {
    if spec.ignore_missing_components == Some(true)
        && let Some(components) = spec.components.as_mut()
    {
        components.retain(|c| dir.join(c).exists());
    }
}

/// What the reconciler does with an unpacked artifact: resolves `spec.path` in `root` (the
/// artifact cache's `<cache>/artifacts/<digest_dir>`), writes the wrapper kustomization into
/// `wrapper_dir` (a fresh `<cache>/wrappers/<random>`) and builds it, passing every file the
/// engine reads through `filter` (SOPS decryption). Messages name files relative to the
/// artifact root, not the cache directory.
pub fn build_artifact_path(
    root: &Path,
    digest_dir: &str,
    wrapper_dir: &Path,
    mut spec: KustomizationSpec,
    filter: Option<eddy_kustomize::ReadFilter>,
) -> Result<Vec<Value>, BuildError> {
    let path = resolve_path(root, spec.path.as_deref())?;
    let relative = path
        .strip_prefix(root)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let from_wrapper = if relative.is_empty() {
        format!("../../artifacts/{digest_dir}")
    } else {
        format!("../../artifacts/{digest_dir}/{relative}")
    };
    drop_missing_components(&path, &mut spec);
    write_wrapper(wrapper_dir, &from_wrapper, &path, &spec)?;
    let prefix = format!("{}/", root.display());
    let mut objects = kustomize_filtered(wrapper_dir, root, filter).map_err(|e| match e {
        BuildError::Kustomize(message) => BuildError::Kustomize(message.replace(&prefix, "")),
        other => other,
    })?;
    origin::relocate_origins(&mut objects, wrapper_dir, &path);
    Ok(objects)
}

/// Runs the Kustomize engine on `dir` and returns the objects as JSON, in build order. Every
/// file the build reads must resolve inside `root` (see `eddy_kustomize::BuildOptions::new`).
pub fn kustomize(dir: &Path, root: &Path) -> Result<Vec<Value>, BuildError> {
    kustomize_filtered(dir, root, None)
}

/// [`kustomize`] with every file the engine reads passed through `filter` first: SOPS
/// decryption happens there, in memory (see [`crate::sops`]).
pub fn kustomize_filtered(
    dir: &Path,
    root: &Path,
    filter: Option<eddy_kustomize::ReadFilter>,
) -> Result<Vec<Value>, BuildError> {
    let mut options = eddy_kustomize::BuildOptions::new(root)
        .map_err(|e| BuildError::Kustomize(e.to_string()))?;
    options.load_restrictions = eddy_kustomize::LoadRestrictions::None;
    // Input order, as Flux builds; the apply order is decided by staging anyway.
    options.reorder = eddy_kustomize::Reorder::None;
    let resources = eddy_kustomize::build_resources_with_filter(dir, &options, filter)
        .map_err(|e| BuildError::Kustomize(e.to_string()))?;
    let mut objects = Vec::with_capacity(resources.len());
    for resource in resources {
        let object = resource.value.to_json();
        validate_object(&object)?;
        objects.push(object);
    }
    Ok(objects)
}

/// Objects must name their apiVersion, kind and name before anything is sent to the API.
fn validate_object(object: &Value) -> Result<(), BuildError> {
    let field = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let (api_version, kind, name) = (
        field("/apiVersion"),
        field("/kind"),
        field("/metadata/name"),
    );
    if api_version.is_empty() || kind.is_empty() || name.is_empty() {
        return Err(BuildError::InvalidObject(format!(
            "object '{kind}/{name}' is missing apiVersion, kind or metadata.name"
        )));
    }
    Ok(())
}

/// Adds `commonMetadata` and the owner labels to every object (overriding matching keys).
pub fn add_metadata(
    objects: &mut [Value],
    common_labels: &[(String, String)],
    common_annotations: &[(String, String)],
) {
    for object in objects {
        let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
            continue;
        };
        for (field, pairs) in [
            ("labels", common_labels),
            ("annotations", common_annotations),
        ] {
            if pairs.is_empty() {
                continue;
            }
            let entry = metadata
                .entry(field)
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Some(map) = entry.as_object_mut() {
                for (key, value) in pairs {
                    map.insert(key.clone(), Value::String(value.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: Value) -> KustomizationSpec {
        let mut base = json!({
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "interval": "1m",
            "prune": true,
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    /// An artifact root and a wrapper directory two levels below a common parent, as the
    /// controller lays them out.
    fn layout() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let top = tempfile::tempdir().unwrap();
        let artifact = top.path().join("artifacts/abc");
        let wrapper = top.path().join("wrappers/one");
        std::fs::create_dir_all(&artifact).unwrap();
        std::fs::create_dir_all(&wrapper).unwrap();
        (top, artifact, wrapper)
    }

    #[test]
    fn plain_directory_is_listed_file_by_file() {
        let (_top, dir, wrapper) = layout();
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::create_dir_all(dir.join("ignored")).unwrap();
        std::fs::write(
            dir.join("a.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("sub/b.yml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        )
        .unwrap();
        std::fs::write(dir.join("ignored/c.yaml"), "kind: Nope\n").unwrap();
        std::fs::write(dir.join("README.md"), "# hi\n").unwrap();
        std::fs::write(dir.join(".sourceignore"), "ignored/\n").unwrap();
        write_wrapper(&wrapper, "../../artifacts/abc", &dir, &spec(json!({}))).unwrap();
        let objects = kustomize(&wrapper, &dir).unwrap();
        let names: Vec<_> = objects
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(
            !dir.join("kustomization.yaml").exists(),
            "the artifact must stay untouched"
        );
    }

    #[test]
    fn spec_fields_are_applied_through_the_wrapper() {
        let (_top, dir, wrapper) = layout();
        std::fs::write(dir.join("kustomization.yaml"), "resources:\n- cm.yaml\n").unwrap();
        std::fs::write(
            dir.join("cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: old\ndata:\n  k: v\n",
        )
        .unwrap();
        let spec = spec(json!({
            "targetNamespace": "target",
            "namePrefix": "p-",
            "patches": [{"patch": "- op: replace\n  path: /data/k\n  value: patched\n", "target": {"kind": "ConfigMap"}}],
            "patchesStrategicMerge": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"legacy": "yes"}}],
        }));
        write_wrapper(&wrapper, "../../artifacts/abc", &dir, &spec).unwrap();
        let objects = kustomize(&wrapper, &dir).unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0]["metadata"]["name"], "p-cm");
        assert_eq!(objects[0]["metadata"]["namespace"], "target");
        assert_eq!(objects[0]["data"]["k"], "patched");
        assert_eq!(objects[0]["data"]["legacy"], "yes");
    }

    #[test]
    fn a_kustomization_without_resources_gets_origins_relative_to_its_path_as_in_flux() {
        let (_top, artifact, wrapper) = layout();
        let overlay = artifact.join("apps/overlays/production");
        std::fs::create_dir_all(artifact.join("apps/base")).unwrap();
        std::fs::create_dir_all(&overlay).unwrap();
        std::fs::write(
            artifact.join("apps/base/kustomization.yaml"),
            "resources:\n- cm.yaml\n",
        )
        .unwrap();
        std::fs::write(
            artifact.join("apps/base/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        )
        .unwrap();
        // Only the deprecated `bases`, like the tutorial's overlays.
        std::fs::write(overlay.join("kustomization.yaml"), "bases:\n- ../../base\n").unwrap();
        let production = spec(json!({"path": "./apps/overlays/production"}));
        let objects =
            build_artifact_path(&artifact, "abc", &wrapper, production.clone(), None).unwrap();
        assert_eq!(
            objects[0]["metadata"]["annotations"][origin::ORIGIN_ANNOTATION],
            "path: ../../base/cm.yaml\n"
        );

        // With `resources`, Flux leaves build metadata alone.
        std::fs::write(
            overlay.join("kustomization.yaml"),
            "resources:\n- ../../base\n",
        )
        .unwrap();
        let objects = build_artifact_path(&artifact, "abc", &wrapper, production, None).unwrap();
        assert!(objects[0]["metadata"].get("annotations").is_none());
    }

    #[test]
    fn path_must_exist_and_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            resolve_path(dir.path(), Some("./missing")),
            Err(BuildError::PathNotFound(_))
        ));
        assert!(matches!(
            resolve_path(dir.path(), Some("../..")),
            Err(BuildError::PathEscapes(_))
        ));
        assert_eq!(resolve_path(dir.path(), Some("./")).unwrap(), dir.path());
    }

    #[test]
    fn objects_without_names_are_rejected() {
        assert!(
            validate_object(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}))
                .is_err()
        );
    }
}
