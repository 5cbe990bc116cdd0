//! `eddy export <kind> [name] [--all]`: objects as a person would write them (apiVersion, kind,
//! name, namespace, labels, annotations and spec; no status or server-set metadata).

use anyhow::{Context, bail};
use kube::api::{DynamicObject, ListParams};
use serde_json::{Map, Value, json};

use crate::cluster::{ConnectionArgs, FluxKind, describe_get_error, parse_kind};

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The kind and optionally a name, e.g. `source git podinfo`.
    #[arg(required = true, num_args = 1..)]
    words: Vec<String>,
    /// Every object of the kind in the namespace.
    #[arg(long)]
    all: bool,
}

pub async fn run(args: ExportArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let (kind, names) = parse_kind(&args.words)?;
    let client = connection.client().await?;
    let api = kind.api(&client, Some(&connection.namespace));
    let objects: Vec<DynamicObject> = if args.all {
        api.list(&ListParams::default())
            .await
            .with_context(|| format!("cannot list {}", kind.plural))?
            .items
    } else if names.is_empty() {
        bail!("name the {} to export, or pass --all", kind.display());
    } else {
        let mut objects = Vec::new();
        for name in names {
            objects.push(
                api.get(name)
                    .await
                    .map_err(|e| describe_get_error(e, kind, name, &connection.namespace))?,
            );
        }
        objects
    };
    for object in &objects {
        print!(
            "---\n{}",
            serde_yaml_ng::to_string(&exported(kind, object))?
        );
    }
    Ok(())
}

/// Annotations the API server or kubectl add, which would only confuse a re-apply.
const DROPPED_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

pub fn exported(kind: &FluxKind, object: &DynamicObject) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(object.metadata.name));
    metadata.insert("namespace".into(), json!(object.metadata.namespace));
    if let Some(labels) = object.metadata.labels.as_ref().filter(|l| !l.is_empty()) {
        metadata.insert("labels".into(), json!(labels));
    }
    let annotations: std::collections::BTreeMap<&String, &String> = object
        .metadata
        .annotations
        .iter()
        .flatten()
        .filter(|(key, _)| !DROPPED_ANNOTATIONS.contains(&key.as_str()))
        .collect();
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), json!(annotations));
    }
    let mut out = Map::new();
    out.insert(
        "apiVersion".into(),
        json!(format!("{}/{}", kind.group, kind.version)),
    );
    out.insert("kind".into(), json!(kind.kind));
    out.insert("metadata".into(), Value::Object(metadata));
    if let Some(spec) = object.data.get("spec") {
        out.insert("spec".into(), spec.clone());
    }
    Value::Object(out)
}
