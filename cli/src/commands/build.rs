//! `eddy build kustomization NAME --path DIR`: builds a local directory exactly as
//! kustomize-controller would build it for that Kustomization, and prints the objects as a
//! multi-document YAML stream (what `flux build kustomization` prints).
//!
//! The Kustomization comes from the cluster, or from `--kustomization-file`; with `--dry-run`
//! the cluster is not contacted at all, so only the inline `postBuild.substitute` variables are
//! substituted (Flux's CLI skips `substituteFrom` in a dry run, too).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD};
use eddy_api::kustomize::Kustomization;
use eddy_kustomization::local_build;
use kube::{Api, Client};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cluster::ConnectionArgs;

/// What replaces SOPS-encrypted values, as Flux's CLI masks them.
pub const SOPS_MASK: &str = "**SOPS**";

#[derive(clap::Args)]
pub struct BuildArgs {
    #[command(subcommand)]
    target: BuildTarget,
}

#[derive(clap::Subcommand)]
enum BuildTarget {
    /// Build a local directory as the controller would for a Kustomization.
    #[command(visible_alias = "ks", alias = "kustomizations")]
    Kustomization(LocalBuildArgs),
}

/// The inputs of a local build, shared by `build` and `diff`.
#[derive(clap::Args, Clone, Debug)]
pub struct LocalBuildArgs {
    /// The Kustomization's name.
    pub name: String,
    /// The local directory holding the manifests (what the Kustomization's `spec.path` points
    /// at in its source).
    #[arg(long)]
    pub path: PathBuf,
    /// Read the Kustomization from this YAML file instead of the cluster.
    #[arg(long)]
    pub kustomization_file: Option<PathBuf>,
    /// Do not contact the cluster (needs --kustomization-file); `substituteFrom` is skipped.
    #[arg(long)]
    pub dry_run: bool,
    /// Fail when a variable without a default is not set, as the controller does.
    #[arg(long)]
    pub strict_substitute: bool,
    /// With --kustomization-file: a Kustomization missing from the cluster is not an error
    /// (`diff` then shows every object as created and nothing as pruned).
    #[arg(skip)]
    pub ignore_not_found: bool,
}

pub async fn run(args: BuildArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let BuildTarget::Kustomization(args) = args.target;
    let client = if args.dry_run {
        None
    } else {
        Some(connection.client().await?)
    };
    let built = build(&args, &connection.namespace, client.as_ref()).await?;
    print!("{}", to_yaml_stream(&built.objects)?);
    Ok(())
}

/// The Kustomization a build used and the objects it produced (SOPS values masked).
pub struct Built {
    pub kustomization: Kustomization,
    pub objects: Vec<Value>,
}

/// Reads the Kustomization, gathers its variables and builds `args.path`. Without a client
/// (a dry run) nothing is read from the cluster.
pub async fn build(
    args: &LocalBuildArgs,
    namespace: &str,
    client: Option<&Client>,
) -> anyhow::Result<Built> {
    if !args.path.is_dir() {
        bail!(
            "invalid resource path {:?}: not a directory",
            args.path.display().to_string()
        );
    }
    let kustomization = match client {
        None => {
            let Some(file) = &args.kustomization_file else {
                bail!("dry-run mode requires a kustomization file: pass --kustomization-file");
            };
            read_kustomization_file(file, &args.name, namespace)?
        }
        Some(client) => match &args.kustomization_file {
            // The file's spec, the cluster's status: the inventory tells `diff` what would be
            // pruned.
            Some(file) => {
                let mut local = read_kustomization_file(file, &args.name, namespace)?;
                let live = live_kustomization(client, &args.name, namespace).await;
                match live {
                    Ok(Some(live)) => local.status = live.status,
                    Ok(None) if args.ignore_not_found => {}
                    Ok(None) => bail!(not_found(&args.name, namespace)),
                    Err(error) => return Err(error),
                }
                local
            }
            None => live_kustomization(client, &args.name, namespace)
                .await?
                .ok_or_else(|| anyhow::anyhow!(not_found(&args.name, namespace)))?,
        },
    };
    let variables = match (client, &kustomization.spec.post_build) {
        (Some(client), Some(post_build)) => {
            local_build::post_build_variables(client, namespace, post_build)
                .await
                .map_err(|message| anyhow::anyhow!("{message}"))?
        }
        (None, Some(_)) => local_build::inline_variables(&kustomization)?,
        (_, None) => BTreeMap::new(),
    };
    let path = args.path.clone();
    let strict = args.strict_substitute;
    let for_build = kustomization.clone();
    let mut objects = tokio::task::spawn_blocking(move || {
        local_build::build_directory(&path, &for_build, &variables, strict)
    })
    .await
    .context("the build task failed")??;
    for object in &mut objects {
        mask_sops_values(object);
    }
    Ok(Built {
        kustomization,
        objects,
    })
}

async fn live_kustomization(
    client: &Client,
    name: &str,
    namespace: &str,
) -> anyhow::Result<Option<Kustomization>> {
    let api: Api<Kustomization> = Api::namespaced(client.clone(), namespace);
    api.get_opt(name)
        .await
        .with_context(|| format!("failed to get kustomization object {namespace}/{name}"))
}

fn not_found(name: &str, namespace: &str) -> String {
    format!(
        "Kustomization {name:?} not found in namespace {namespace:?}; pass -n, or build offline with --kustomization-file and --dry-run"
    )
}

/// Finds the Kustomization `name` in a (possibly multi-document) YAML file. A document without
/// a namespace matches any namespace and is placed in `namespace`.
pub fn read_kustomization_file(
    file: &Path,
    name: &str,
    namespace: &str,
) -> anyhow::Result<Kustomization> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read kustomization file {}", file.display()))?;
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let mut value = Value::deserialize(document).with_context(|| {
            format!("failed to unmarshal kustomization file {}", file.display())
        })?;
        let is_kustomization = value["apiVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("kustomize.toolkit.fluxcd.io/"))
            && value["kind"] == "Kustomization";
        let document_namespace = value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !is_kustomization
            || value.pointer("/metadata/name").and_then(Value::as_str) != Some(name)
            || !(document_namespace.is_empty() || document_namespace == namespace)
        {
            continue;
        }
        // Older versions (v1beta2) share the fields Eddy reads; v1 is what the types name.
        value["apiVersion"] = json!("kustomize.toolkit.fluxcd.io/v1");
        value["metadata"]["namespace"] = json!(namespace);
        return serde_json::from_value(value).with_context(|| {
            format!(
                "the Kustomization {name} in {} is not valid",
                file.display()
            )
        });
    }
    bail!(
        "failed to find kustomization with name '{name}' and namespace '{namespace}' in file '{}'",
        file.display()
    )
}

/// Hides the values of a SOPS-encrypted Secret the way Flux's CLI does: a Secret carrying SOPS
/// metadata loses it and every value becomes the mask; otherwise single values that are SOPS
/// ciphertext are masked. Plain values are left alone (they are in the user's files already).
pub fn mask_sops_values(object: &mut Value) {
    if object["kind"] != "Secret" {
        return;
    }
    let encrypted_whole = object
        .pointer("/sops/mac")
        .and_then(Value::as_str)
        .is_some_and(|mac| mac.starts_with("ENC["));
    let docker_config = object["type"] == "kubernetes.io/dockerconfigjson";
    let Some(map) = object.as_object_mut() else {
        return;
    };
    if encrypted_whole {
        map.remove("sops");
    }
    let plain_mask = if docker_config && encrypted_whole {
        json!({"mask": SOPS_MASK}).to_string()
    } else {
        SOPS_MASK.to_owned()
    };
    let encoded_mask = STANDARD.encode(&plain_mask);
    let is_ciphertext = |text: &str| text.contains("sops") && text.contains("ENC[");
    if let Some(data) = map.get_mut("data").and_then(Value::as_object_mut) {
        for value in data.values_mut() {
            let decoded = value
                .as_str()
                .and_then(|v| STANDARD.decode(v).ok())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default();
            if encrypted_whole || is_ciphertext(&decoded) {
                *value = json!(encoded_mask);
            }
        }
    }
    if let Some(data) = map.get_mut("stringData").and_then(Value::as_object_mut) {
        for value in data.values_mut() {
            if encrypted_whole || value.as_str().is_some_and(is_ciphertext) {
                *value = json!(plain_mask);
            }
        }
    }
}

/// Whether a built Secret had values replaced by [`mask_sops_values`] (plain in `stringData`,
/// base64 in `data`).
pub fn has_masked_values(object: &Value) -> bool {
    ["data", "stringData"].iter().any(|field| {
        object[*field].as_object().is_some_and(|data| {
            data.values().filter_map(Value::as_str).any(|value| {
                value.contains(SOPS_MASK)
                    || STANDARD
                        .decode(value)
                        .is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(SOPS_MASK))
            })
        })
    })
}

/// Each object as YAML followed by a `---` line, as `flux build` prints them.
pub fn to_yaml_stream(objects: &[Value]) -> anyhow::Result<String> {
    let mut out = String::new();
    for object in objects {
        out.push_str(&serde_yaml_ng::to_string(object).context("cannot serialise an object")?);
        out.push_str("---\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sops_encrypted_secrets_lose_their_values_and_metadata() {
        let mut secret = json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"token": STANDARD.encode("ENC[AES256_GCM,data:abc]")},
            "stringData": {"user": "ENC[AES256_GCM,data:def]"},
            "sops": {"mac": "ENC[AES256_GCM,data:xyz]", "version": "3.8.1"},
        });
        mask_sops_values(&mut secret);
        assert!(secret.get("sops").is_none());
        assert_eq!(secret["data"]["token"], STANDARD.encode(SOPS_MASK));
        assert_eq!(secret["stringData"]["user"], SOPS_MASK);
        assert!(has_masked_values(&secret));
    }

    #[test]
    fn single_ciphertext_values_are_masked_and_plain_ones_kept() {
        let mut secret = json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {
                "enc": STANDARD.encode("sops:\n  ENC[AES256_GCM,data:abc]"),
                "plain": STANDARD.encode("hello"),
            },
        });
        mask_sops_values(&mut secret);
        assert_eq!(secret["data"]["enc"], STANDARD.encode(SOPS_MASK));
        assert_eq!(secret["data"]["plain"], STANDARD.encode("hello"));
        assert!(has_masked_values(&secret));
        let plain = json!({"kind": "Secret", "data": {"a": STANDARD.encode("hello")}});
        assert!(!has_masked_values(&plain));
        let mut config_map = json!({"kind": "ConfigMap", "data": {"a": "ENC[sops]"}});
        mask_sops_values(&mut config_map);
        assert_eq!(config_map["data"]["a"], "ENC[sops]");
    }

    #[test]
    fn docker_config_secrets_are_masked_with_a_json_document() {
        let mut secret = json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "s"},
            "data": {".dockerconfigjson": STANDARD.encode("ENC[x]")},
            "sops": {"mac": "ENC[y]"},
        });
        mask_sops_values(&mut secret);
        let decoded = STANDARD
            .decode(secret["data"][".dockerconfigjson"].as_str().unwrap())
            .unwrap();
        let parsed: Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(parsed["mask"], SOPS_MASK);
    }

    #[test]
    fn the_kustomization_file_is_searched_by_name_and_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ks.yaml");
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: apps\n---\n\
             apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: other\nspec:\n  interval: 1m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: wrong\n---\n\
             apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nmetadata:\n  name: apps\nspec:\n  interval: 1m\n  prune: false\n  targetNamespace: prod\n  sourceRef:\n    kind: GitRepository\n    name: repo\n",
        )
        .unwrap();
        let found = read_kustomization_file(&file, "apps", "flux-system").unwrap();
        assert_eq!(found.spec.source_ref.name, "repo");
        assert_eq!(found.spec.target_namespace.as_deref(), Some("prod"));
        assert_eq!(found.metadata.namespace.as_deref(), Some("flux-system"));
        let missing = read_kustomization_file(&file, "nope", "flux-system").unwrap_err();
        assert!(missing.to_string().contains("'nope'"), "{missing}");
    }

    #[test]
    fn the_stream_ends_every_document_with_a_separator() {
        let stream = to_yaml_stream(&[json!({"a": 1}), json!({"b": 2})]).unwrap();
        assert_eq!(stream, "a: 1\n---\nb: 2\n---\n");
    }
}
