//! A native Rust Kustomize engine whose output matches `kubectl kustomize` (kustomize v5.5.0)
//! byte for byte.
//!
//! Files in, resources out: [`build`] renders a kustomization directory to the YAML stream kubectl
//! prints; [`build_resources`] returns the objects for callers that apply them. Helm charts, remote
//! resources and non-builtin plugins are refused with an error.

mod build;
mod config;
mod error;
mod fieldspec;
mod kustomization;
mod loader;
mod resid;
mod resmap;
mod resource;
mod shared;
mod transform;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use error::Error;
pub use loader::{LoadRestrictions, ReadFilter};

/// Options of a build.
///
/// Every file the build reads (resources, bases, components, patches, generator sources,
/// replacement sources, schemas, configurations, CRDs, plugin configurations, kustomization files)
/// must resolve, after symlinks are followed, inside the build root given to
/// [`BuildOptions::new`]; anything else fails the build with [`Error::OutsideBuildRoot`]. The
/// directory being built is normally inside that root; when it is not (a kustomization the caller
/// generated elsewhere that points into the root), its own directory is allowed as well.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub load_restrictions: LoadRestrictions,
    pub reorder: Reorder,
    /// The canonical build root; `None` only through [`BuildOptions::unconfined`].
    build_root: Option<PathBuf>,
}

impl BuildOptions {
    /// Options confining every read to `root` (which must exist), with kubectl's defaults for the
    /// rest: [`LoadRestrictions::RootOnly`] and [`Reorder::Legacy`].
    pub fn new(root: &Path) -> Result<BuildOptions, Error> {
        let build_root = loader::canonical(root)?;
        Ok(BuildOptions {
            load_restrictions: LoadRestrictions::default(),
            reorder: Reorder::default(),
            build_root: Some(build_root),
        })
    }

    /// Options with no build root: any file the process can read may be used. Only for
    /// `eddy kustomize build`, which mimics `kubectl kustomize` and, like it, has no outer root;
    /// anything building files from a source it does not trust uses [`BuildOptions::new`].
    pub fn unconfined() -> BuildOptions {
        BuildOptions {
            load_restrictions: LoadRestrictions::default(),
            reorder: Reorder::default(),
            build_root: None,
        }
    }

    /// The canonical build root, when confined.
    pub fn build_root(&self) -> Option<&Path> {
        self.build_root.as_deref()
    }
}

/// Output order when the root kustomization has no `sortOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reorder {
    /// kustomize's legacy kind order (`kubectl kustomize`, `kustomize build`).
    #[default]
    Legacy,
    /// Input order, as kustomize's Go API and Flux's kustomize-controller build.
    None,
}

/// One rendered Kubernetes object.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// The whole object.
    pub value: yaml::Value,
}

impl Resource {
    /// The object as kubectl prints it (one document, no separator).
    pub fn to_yaml(&self) -> String {
        yaml::emit_document(&self.value)
    }
}

/// Entry points for fuzzers: arbitrary bytes in, `Ok`/`Err` out, never a panic.
pub mod fuzzing {
    /// Parses `data` as a YAML stream of objects and prints them back the way kubectl would.
    pub fn parse_and_emit(data: &[u8]) -> Result<String, String> {
        let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
        let documents = crate::yaml::parse_documents(text)?;
        Ok(documents
            .iter()
            .filter(|d| !d.is_null())
            .map(crate::yaml::emit_document)
            .collect::<Vec<_>>()
            .join("---\n"))
    }

    /// Parses `data` as a kustomization file.
    pub fn parse_kustomization(data: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
        crate::kustomization::Kustomization::parse(text).map(|_| ())
    }
}

/// Builds the kustomization in `dir` and returns the objects in output order.
pub fn build_resources(dir: &Path, options: &BuildOptions) -> Result<Vec<Resource>, Error> {
    build_resources_with_filter(dir, options, None)
}

/// [`build_resources`] with every file the build reads passed through `filter` first (see
/// [`ReadFilter`]).
pub fn build_resources_with_filter(
    dir: &Path,
    options: &BuildOptions,
    filter: Option<ReadFilter>,
) -> Result<Vec<Resource>, Error> {
    let mut builder = build::Builder::new(options.load_restrictions, options.reorder)
        .with_filter(filter)
        .confined_to(options.build_root.clone());
    let resources = builder.build_root(dir)?;
    Ok(resources
        .resources
        .into_iter()
        .map(|r| {
            let id = r.cur_id();
            Resource {
                api_version: id.gvk.api_version(),
                kind: id.gvk.kind,
                name: id.name,
                namespace: Some(id.namespace).filter(|n| !n.is_empty()),
                value: r.value,
            }
        })
        .collect())
}

/// Builds the kustomization in `dir` and returns the YAML stream exactly as `kubectl kustomize` prints it.
pub fn build(dir: &Path, options: &BuildOptions) -> Result<String, Error> {
    let resources = build_resources(dir, options)?;
    let documents: Vec<String> = resources.iter().map(Resource::to_yaml).collect();
    Ok(documents.join("---\n"))
}
