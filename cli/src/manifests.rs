//! The install manifests: the `config/` Kustomize sources embedded at compile time (see
//! `build.rs`), rendered with the native engine exactly as `kubectl kustomize config/default`.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

/// `(path below config/, contents)` of every embedded YAML file.
const CONFIG_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/config_files.rs"));

/// The six controllers, in the order Flux lists its components.
pub const CONTROLLERS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
];

/// What `flux install` installs unless told otherwise (the image controllers are extras).
pub const DEFAULT_COMPONENTS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];

/// Renders `config/default` from the embedded sources into one YAML stream.
pub fn render() -> anyhow::Result<String> {
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    write_config(scratch.path())?;
    let default = scratch.path().join("default");
    let options = eddy_kustomize::BuildOptions::new(scratch.path())
        .context("cannot render the embedded install manifests")?;
    eddy_kustomize::build(&default, &options)
        .context("cannot render the embedded install manifests")
}

fn write_config(root: &Path) -> anyhow::Result<()> {
    if CONFIG_FILES.is_empty() {
        anyhow::bail!("this eddy binary was built without the config/ manifests");
    }
    for (relative, contents) in CONFIG_FILES {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Splits a YAML stream into JSON objects, skipping empty documents.
pub fn parse_objects(stream: &str) -> anyhow::Result<Vec<Value>> {
    let mut objects = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(stream) {
        let value = Value::deserialize(document).context("the manifests are not valid YAML")?;
        if !value.is_null() {
            objects.push(value);
        }
    }
    Ok(objects)
}

/// The component an object belongs to (`app.kubernetes.io/component`), if any: CRDs, the
/// namespace and shared RBAC belong to none and are always installed.
pub fn component_of(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/labels/app.kubernetes.io~1component")
        .and_then(Value::as_str)
}

/// Keeps the objects of the chosen components plus everything that belongs to none.
/// The NetworkPolicy that admits webhooks selects notification-controller's pods, so it is
/// harmless without them and stays.
pub fn select_components(objects: Vec<Value>, components: &[String]) -> Vec<Value> {
    objects
        .into_iter()
        .filter(|object| {
            component_of(object).is_none_or(|component| components.iter().any(|c| c == component))
        })
        .collect()
}

/// Serialises objects back into a `---`-separated YAML stream.
pub fn to_yaml_stream(objects: &[Value]) -> anyhow::Result<String> {
    let mut out = String::new();
    for object in objects {
        out.push_str("---\n");
        out.push_str(&serde_yaml_ng::to_string(object).context("cannot serialise a manifest")?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_controller_and_crd_from_the_embedded_sources() {
        let objects = parse_objects(&render().unwrap()).unwrap();
        for controller in CONTROLLERS {
            assert!(
                objects.iter().any(|object| object["kind"] == "Deployment"
                    && object["metadata"]["name"] == *controller),
                "no Deployment {controller}"
            );
        }
        let crds = objects
            .iter()
            .filter(|object| object["kind"] == "CustomResourceDefinition")
            .count();
        assert_eq!(crds, 14);
    }

    #[test]
    fn selecting_components_keeps_shared_objects_and_drops_the_others() {
        let objects = parse_objects(&render().unwrap()).unwrap();
        let selected = select_components(objects, &["source-controller".to_string()]);
        let deployments: Vec<&Value> = selected
            .iter()
            .filter(|object| object["kind"] == "Deployment")
            .collect();
        assert_eq!(deployments.len(), 1);
        assert_eq!(deployments[0]["metadata"]["name"], "source-controller");
        assert!(selected.iter().any(|object| object["kind"] == "Namespace"));
        assert!(
            selected
                .iter()
                .any(|object| object["kind"] == "CustomResourceDefinition")
        );
    }
}
