//! Building a directory on disk the way the reconciler builds a source artifact's path, for
//! `eddy build kustomization` and `eddy diff kustomization`.
//!
//! The steps and their order are the reconciler's: the wrapper kustomization carrying the spec
//! fields, the Kustomize engine, `postBuild` substitution, then `commonMetadata` and the owner
//! labels. Only the inputs differ: a local directory instead of an unpacked artifact, and
//! variables the caller gathered (from the cluster, or only the inline ones in a dry run).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use eddy_api::kustomize::Kustomization;
use kube::ResourceExt;
use serde_json::Value;

use crate::{
    apply::policy,
    build::{self, BuildError},
    origin,
    substitute::{self, SubstituteError},
};

pub use crate::variables::post_build_variables;

/// Why a local build failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalBuildError {
    #[error("invalid resource path {path:?}: {message}")]
    Path { path: String, message: String },
    #[error("cannot create a scratch directory for the build: {0}")]
    Scratch(#[source] std::io::Error),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("post build failed for {0}")]
    Substitute(#[from] SubstituteError),
}

/// Builds `dir` as the reconciler would build it for `kustomization`, substituting `variables`
/// when the spec asks for post-build substitution. `strict` makes an unset variable without a
/// default an error (the controller is always strict; `flux build` is not unless asked).
pub fn build_directory(
    dir: &Path,
    kustomization: &Kustomization,
    variables: &BTreeMap<String, String>,
    strict: bool,
) -> Result<Vec<Value>, LocalBuildError> {
    let dir = dir.canonicalize().map_err(|error| LocalBuildError::Path {
        path: dir.display().to_string(),
        message: error.to_string(),
    })?;
    if !dir.is_dir() {
        return Err(LocalBuildError::Path {
            path: dir.display().to_string(),
            message: "not a directory".to_owned(),
        });
    }
    // The wrapper lives outside the user's directory so the build never writes into it (Flux's
    // CLI edits the kustomization in place and restores it afterwards).
    let wrapper = tempfile::tempdir().map_err(LocalBuildError::Scratch)?;
    let wrapper_dir = wrapper
        .path()
        .canonicalize()
        .map_err(LocalBuildError::Scratch)?;
    let from_wrapper = origin::relative_to(&wrapper_dir, &dir);
    let mut spec = kustomization.spec.clone();
    build::drop_missing_components(&dir, &mut spec);
    build::write_wrapper(&wrapper_dir, &from_wrapper, &dir, &spec)?;
    let mut objects = build::kustomize(&wrapper_dir, &build_root_for(&dir))?;
    origin::relocate_origins(&mut objects, &wrapper_dir, &dir);
    if let Some(post_build) = &kustomization.spec.post_build {
        substitute::substitute_post_build(&mut objects, post_build, variables, strict)?;
    }
    let (labels, annotations) = metadata_for(kustomization);
    build::add_metadata(&mut objects, &labels, &annotations);
    Ok(objects)
}

/// The root a local build is confined to: the Git working copy holding `dir` (what the
/// controller would unpack from the repository), else the current directory when `dir` is
/// inside it, else `dir` itself. A local build thus reads what a pushed commit could, and a
/// kustomization from an untrusted repository cannot make `eddy build` read `~/.ssh`.
pub fn build_root_for(dir: &Path) -> PathBuf {
    if let Some(working_copy) = dir
        .ancestors()
        .find(|ancestor| ancestor.join(".git").exists())
    {
        return working_copy.to_path_buf();
    }
    std::env::current_dir()
        .and_then(|cwd| cwd.canonicalize())
        .ok()
        .filter(|cwd| dir.starts_with(cwd))
        .unwrap_or_else(|| dir.to_path_buf())
}

/// The inline `postBuild.substitute` variables only: what a dry run, which may not read
/// ConfigMaps or Secrets from the cluster, substitutes.
pub fn inline_variables(
    kustomization: &Kustomization,
) -> Result<BTreeMap<String, String>, LocalBuildError> {
    let variables: BTreeMap<String, String> = kustomization
        .spec
        .post_build
        .iter()
        .flat_map(|post_build| post_build.substitute.iter().flatten())
        .map(|(key, value)| (key.clone(), value.replace('\n', "")))
        .collect();
    if let Some(bad) = variables.keys().find(|key| !substitute::is_valid_name(key)) {
        return Err(LocalBuildError::Substitute(SubstituteError::Bad(format!(
            "'{bad}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
        ))));
    }
    Ok(variables)
}

/// Label or annotation pairs, in the order they are applied.
pub type KeyValues = Vec<(String, String)>;

/// The labels and annotations the reconciler adds to every object: `commonMetadata`, then the
/// owner labels naming the Kustomization (which win over a `commonMetadata` label of the same
/// key, so pruning and `flux trace` always find the owner).
pub fn metadata_for(kustomization: &Kustomization) -> (KeyValues, KeyValues) {
    let common = kustomization.spec.common_metadata.as_ref();
    let mut labels: KeyValues = common
        .and_then(|metadata| metadata.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    labels.push((
        policy::OWNER_NAME_LABEL.to_owned(),
        kustomization.name_any(),
    ));
    labels.push((
        policy::OWNER_NAMESPACE_LABEL.to_owned(),
        kustomization.namespace().unwrap_or_default(),
    ));
    let annotations = common
        .and_then(|metadata| metadata.annotations.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    (labels, annotations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kustomization(spec: Value) -> Kustomization {
        let mut base = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "repo"}, "interval": "1m", "prune": true},
        });
        if let (Some(target), Some(extra)) = (base["spec"].as_object_mut(), spec.as_object()) {
            target.extend(extra.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn builds_a_directory_with_spec_fields_substitution_and_owner_labels() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  region: ${region}\n  size: ${size:=small}\n",
        )
        .unwrap();
        let ks = kustomization(json!({
            "targetNamespace": "team",
            "commonMetadata": {"labels": {"tier": "web"}},
            "postBuild": {"substitute": {"region": "eu\n"}},
        }));
        let variables = inline_variables(&ks).unwrap();
        let objects = build_directory(dir.path(), &ks, &variables, true).unwrap();
        assert_eq!(objects.len(), 1);
        let cm = &objects[0];
        assert_eq!(cm["metadata"]["namespace"], "team");
        assert_eq!(cm["data"]["region"], "eu");
        assert_eq!(cm["data"]["size"], "small");
        assert_eq!(cm["metadata"]["labels"]["tier"], "web");
        assert_eq!(
            cm["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
            "apps"
        );
        assert_eq!(
            cm["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/namespace"],
            "flux-system"
        );
        assert!(
            !dir.path().join("kustomization.yaml").exists(),
            "the user's directory must stay untouched"
        );
    }

    #[test]
    fn strict_mode_reports_unset_variables_and_lenient_mode_empties_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: x${missing}\n",
        )
        .unwrap();
        let ks = kustomization(json!({"postBuild": {"substitute": {"other": "1"}}}));
        let variables = inline_variables(&ks).unwrap();
        let error = build_directory(dir.path(), &ks, &variables, true).unwrap_err();
        assert!(error.to_string().contains("missing"), "{error}");
        let objects = build_directory(dir.path(), &ks, &variables, false).unwrap();
        assert_eq!(objects[0]["data"]["a"], "x");
    }

    #[test]
    fn a_missing_directory_is_reported_with_its_path() {
        let ks = kustomization(json!({}));
        let error =
            build_directory(Path::new("/no/such/dir"), &ks, &BTreeMap::new(), true).unwrap_err();
        assert!(error.to_string().contains("/no/such/dir"), "{error}");
    }

    #[test]
    fn a_local_build_reads_across_its_working_copy_but_nothing_outside_it() {
        let repo = tempfile::tempdir().unwrap();
        let repo_root = repo.path().canonicalize().unwrap();
        std::fs::create_dir_all(repo_root.join(".git")).unwrap();
        std::fs::create_dir_all(repo_root.join("shared")).unwrap();
        std::fs::create_dir_all(repo_root.join("apps/web")).unwrap();
        std::fs::write(repo_root.join("shared/settings.env"), "mode=fast\n").unwrap();
        let app = repo_root.join("apps/web");
        assert_eq!(build_root_for(&app), repo_root);

        let ks = kustomization(json!({}));
        let write_generator = |entry: &str| {
            std::fs::write(
                app.join("kustomization.yaml"),
                format!("configMapGenerator:\n- name: settings\n  envs: [{entry}]\n"),
            )
            .unwrap();
        };
        write_generator("../../shared/settings.env");
        let objects = build_directory(&app, &ks, &BTreeMap::new(), true).unwrap();
        assert_eq!(objects[0]["data"]["mode"], "fast");

        write_generator("/etc/passwd");
        let error = build_directory(&app, &ks, &BTreeMap::new(), true).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("/etc/passwd"), "{message}");
        assert!(message.contains("outside the build root"), "{message}");
    }
}
