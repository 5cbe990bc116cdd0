//! Installing Eddy's CustomResourceDefinitions into the testenv.

use std::path::{Path, PathBuf};

use anyhow::Context;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use serde::Deserialize;

use crate::wait::{DEFAULT_TIMEOUT, wait_for};

/// The field manager of the server-side applies, so tests can tell these writes apart.
const FIELD_MANAGER: &str = "eddy-test-support";

/// Server-side-applies every `config/crd/bases/*.yaml` of the workspace and waits until each CRD
/// is `Established`. Returns the applied CRDs' names (empty when there are no files yet).
/// Safe to call from many tests at once: applying the same manifests again changes nothing.
pub async fn install_crds(client: &kube::Client) -> anyhow::Result<Vec<String>> {
    let crds = read_crds(&crd_dir())?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut names = Vec::new();
    for crd in &crds {
        let name = crd
            .metadata
            .name
            .clone()
            .context("a CRD manifest has no metadata.name")?;
        api.patch(&name, &params, &Patch::Apply(crd))
            .await
            .with_context(|| format!("cannot apply CRD {name}"))?;
        names.push(name);
    }
    for name in &names {
        wait_for(
            format!("CRD {name} to be Established"),
            DEFAULT_TIMEOUT,
            async || {
                let crd = api.get(name).await?;
                Ok(is_established(&crd).then_some(()))
            },
        )
        .await?;
    }
    Ok(names)
}

fn crd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/crd/bases")
}

/// Every CRD in the `*.yaml` files of `dir`, in file-name order (a file may hold several
/// documents). A missing directory means no CRDs.
fn read_crds(dir: &Path) -> anyhow::Result<Vec<CustomResourceDefinition>> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("cannot list {}", dir.display())),
    };
    files.sort();
    let mut crds = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = serde_yaml_ng::Value::deserialize(document)
                .with_context(|| format!("{} is not valid YAML", file.display()))?;
            if value.is_null() {
                continue;
            }
            let crd = serde_yaml_ng::from_value(value)
                .with_context(|| format!("{} is not a CustomResourceDefinition", file.display()))?;
            crds.push(crd);
        }
    }
    Ok(crds)
}

fn is_established(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|condition| condition.type_ == "Established" && condition.status == "True")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object}}
";

    #[test]
    fn reads_every_document_of_every_yaml_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("b.yaml"),
            format!("---\n{CRD}---\n{}", CRD.replace("widgets.", "gadgets.")),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            CRD.replace("widgets.", "gizmos."),
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a CRD").unwrap();
        let names: Vec<String> = read_crds(dir.path())
            .unwrap()
            .into_iter()
            .map(|crd| crd.metadata.name.unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "gizmos.example.com",
                "widgets.example.com",
                "gadgets.example.com"
            ]
        );
    }

    #[test]
    fn a_missing_directory_means_no_crds() {
        assert!(
            read_crds(Path::new("/nonexistent/crd/bases"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_broken_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.yaml"), "kind: [unclosed").unwrap();
        let error = format!("{:#}", read_crds(dir.path()).unwrap_err());
        assert!(error.contains("bad.yaml"), "{error}");
    }

    #[test]
    fn the_workspace_crds_parse() {
        // Whatever the CRD generator has written so far must at least be readable.
        read_crds(&crd_dir()).unwrap();
    }
}
