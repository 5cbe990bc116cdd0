//! The build: loading a kustomization directory, accumulating its resources (recursively through bases
//! and components), running generators and transformers in kustomize's order, and finishing at the root
//! (hash suffixes, name references, vars, local-config removal, sorting).

use std::path::{Path, PathBuf};

use crate::Reorder;
use crate::config::{ConfigHandle, TransformerConfig};
use crate::error::Error;
use crate::kustomization::{KUSTOMIZATION_FILE_NAMES, Kustomization, Var};
use crate::loader::{Confinement, LoadRestrictions, Loader, ReadFilter};
use crate::resmap::ResMap;
use crate::resource::{Origin, Resource};
use crate::transform;
use crate::yaml::{self, Value};

/// What accumulating one kustomization directory produces.
pub struct Accumulated {
    pub resources: ResMap,
    pub config: ConfigHandle,
    pub vars: Vec<Var>,
    /// A custom OpenAPI schema (`openapi: {path: ...}`), which applies to the whole build.
    pub schema: Option<Value>,
}

/// State shared by the whole build.
pub struct Builder {
    pub restrictions: LoadRestrictions,
    pub reorder: Reorder,
    /// Directories currently being built, to detect cycles.
    stack: Vec<PathBuf>,
    /// Passed to every loader of the build.
    filter: Option<ReadFilter>,
    /// The canonical build root every file must resolve into; `None` reads anywhere.
    build_root: Option<PathBuf>,
    /// Set by [`Builder::build_root`] from `build_root` and the directory being built.
    confinement: Confinement,
}

impl Builder {
    pub fn new(restrictions: LoadRestrictions, reorder: Reorder) -> Builder {
        Builder {
            restrictions,
            reorder,
            stack: Vec::new(),
            filter: None,
            build_root: None,
            confinement: Confinement::unconfined(),
        }
    }

    /// This builder with every file read confined to the canonical directory `root`.
    pub fn confined_to(mut self, root: Option<PathBuf>) -> Builder {
        self.build_root = root;
        self
    }

    /// This builder with `filter` applied to every file the build reads.
    pub fn with_filter(mut self, filter: Option<ReadFilter>) -> Builder {
        self.filter = filter;
        self
    }

    /// A loader for `dir`, which came from [`Loader::resolve`] (or is the directory being built).
    fn loader(&self, dir: &Path) -> Result<Loader, Error> {
        Ok(
            Loader::new(dir, self.restrictions, self.confinement.clone())?
                .with_filter(self.filter.clone()),
        )
    }

    /// Builds `dir` as the top-level kustomization.
    pub fn build_root(&mut self, dir: &Path) -> Result<ResMap, Error> {
        let dir = crate::loader::canonical(dir)?;
        if let Some(root) = &self.build_root {
            let mut roots = vec![root.clone()];
            if !dir.starts_with(root) {
                roots.push(dir.clone());
            }
            self.confinement = Confinement::within(roots);
        }
        let mut loader = self.loader(&dir)?;
        let (kustomization_path, kustomization) = load_kustomization(&mut loader)?;
        if kustomization.is_component() {
            return Err(Error::invalid(
                &kustomization_path,
                "a Component cannot be built on its own; list it under `components:` of a Kustomization",
            ));
        }
        let mut accumulated = Accumulated {
            resources: ResMap::default(),
            config: ConfigHandle::default(),
            vars: Vec::new(),
            schema: None,
        };
        self.accumulate(
            &loader,
            &kustomization_path,
            &kustomization,
            &mut accumulated,
        )?;
        let resources = &mut accumulated.resources;
        transform::hash::add_hash_suffixes(resources)?;
        transform::nameref::fix_back_references(resources, &accumulated.config)?;
        transform::vars::resolve_vars(resources, &accumulated.vars, &accumulated.config)?;
        let wants = |option: &str| {
            kustomization
                .build_metadata
                .as_ref()
                .is_some_and(|options| options.iter().any(|o| o == option))
        };
        if wants("originAnnotations") {
            resources.annotate_origins(&loader.root);
        }
        if wants("transformerAnnotations") {
            resources.annotate_transformations(&loader.root);
        }
        if wants("managedByLabel") {
            resources.add_managed_by_label();
        }
        resources.remove_local_config();
        resources.clear_internal_annotations();
        let sort_order = transform::sort::SortOrder::from_options(
            kustomization.sort_options.as_ref(),
            self.reorder == Reorder::Legacy,
        )
        .map_err(|message| Error::invalid(&kustomization_path, message))?;
        sort_order.apply(resources);
        Ok(accumulated.resources)
    }

    /// Accumulates a kustomization directory used as a resource of another one.
    fn accumulate_dir(&mut self, dir: &Path, into_component: bool) -> Result<Accumulated, Error> {
        let mut loader = self.loader(dir)?;
        let (kustomization_path, kustomization) = load_kustomization(&mut loader)?;
        if kustomization.is_component() != into_component {
            let message = if into_component {
                "expected kind 'Component' for a path listed under components"
            } else {
                "a Component must be listed under `components:`, not `resources:`"
            };
            return Err(Error::invalid(&kustomization_path, message));
        }
        let mut accumulated = Accumulated {
            resources: ResMap::default(),
            config: ConfigHandle::default(),
            vars: Vec::new(),
            schema: None,
        };
        self.accumulate(
            &loader,
            &kustomization_path,
            &kustomization,
            &mut accumulated,
        )?;
        Ok(accumulated)
    }

    /// Builds a directory whose objects are plugin configurations (a `generators:`/`transformers:`
    /// entry naming a kustomization).
    pub fn accumulate_plugin_dir(&mut self, dir: &Path) -> Result<ResMap, Error> {
        Ok(self.accumulate_dir(dir, false)?.resources)
    }

    /// Runs one kustomization on top of `acc` (empty for a Kustomization, the parent's state for a
    /// Component).
    fn accumulate(
        &mut self,
        loader: &Loader,
        kustomization_path: &Path,
        kustomization: &Kustomization,
        acc: &mut Accumulated,
    ) -> Result<(), Error> {
        if self.stack.contains(&loader.root) {
            return Err(Error::Cycle {
                path: loader.root.clone(),
            });
        }
        self.stack.push(loader.root.clone());
        let result = self.accumulate_inner(loader, kustomization_path, kustomization, acc);
        self.stack.pop();
        result
    }

    fn accumulate_inner(
        &mut self,
        loader: &Loader,
        kustomization_path: &Path,
        kustomization: &Kustomization,
        acc: &mut Accumulated,
    ) -> Result<(), Error> {
        refuse_unsupported(kustomization_path, kustomization)?;
        for entry in &kustomization.resources {
            self.accumulate_resource(loader, kustomization_path, entry, acc)?;
        }
        acc.resources
            .check_unique_ids()
            .map_err(|message| Error::build(kustomization_path.display().to_string(), message))?;
        for entry in &kustomization.configurations {
            let (path, text) = loader.read_text("configurations", entry)?;
            let config: TransformerConfig = serde_yaml_ng::from_str(&text).map_err(|e| {
                Error::invalid(&path, format!("invalid transformer configuration: {e}"))
            })?;
            acc.config.merge(config);
        }
        for entry in &kustomization.crds {
            let config = transform::crds::config_from_crd_file(loader, entry)?;
            acc.config.merge(config);
        }
        if let Some(schema) =
            transform::openapi::load(loader, kustomization_path, &kustomization.openapi)?
        {
            acc.schema = Some(schema);
        }

        let generated = transform::generators::generate(loader, kustomization_path, kustomization)?;
        for resource in generated {
            acc.resources
                .absorb_generated(resource)
                .map_err(|message| {
                    Error::build(kustomization_path.display().to_string(), message)
                })?;
        }
        for entry in &kustomization.generators {
            let resources =
                transform::plugins::run_generator(self, loader, kustomization_path, entry)?;
            for resource in resources {
                acc.resources
                    .absorb_generated(resource)
                    .map_err(|message| {
                        Error::build(kustomization_path.display().to_string(), message)
                    })?;
            }
        }

        for entry in &kustomization.components {
            if Loader::is_remote(entry) {
                return Err(Error::Unsupported {
                    path: kustomization_path.to_path_buf(),
                    feature: format!("remote component '{entry}'"),
                });
            }
            let dir = loader.resolve("components", entry)?;
            let mut component_loader = self.loader(&dir)?;
            let (component_path, component) = load_kustomization(&mut component_loader)?;
            if !component.is_component() {
                return Err(Error::invalid(
                    &component_path,
                    "expected kind 'Component' for a path listed under components",
                ));
            }
            self.accumulate(&component_loader, &component_path, &component, acc)?;
        }

        transform::run_builtin_transformers(loader, kustomization_path, kustomization, acc)?;
        for entry in &kustomization.transformers {
            transform::plugins::run_transformer(self, loader, kustomization_path, entry, acc)?;
        }
        transform::vars::bind_vars(&mut acc.resources, &kustomization.vars)?;
        acc.vars.extend(kustomization.vars.iter().cloned());
        check_var_names(kustomization_path, &acc.vars)?;
        Ok(())
    }

    fn accumulate_resource(
        &mut self,
        loader: &Loader,
        kustomization_path: &Path,
        entry: &str,
        acc: &mut Accumulated,
    ) -> Result<(), Error> {
        if Loader::is_remote(entry) {
            return Err(Error::Unsupported {
                path: kustomization_path.to_path_buf(),
                feature: format!("remote resource '{entry}'"),
            });
        }
        let path = loader.resolve("resources", entry).map_err(|e| match e {
            Error::Io { path, message } => Error::Io {
                path,
                message: format!("{message} (listed in {})", kustomization_path.display()),
            },
            other => other,
        })?;
        if path.is_dir() {
            let sub = self.accumulate_dir(&path, false)?;
            acc.resources.append_unchecked(sub.resources.resources);
            acc.config.merge_handle(sub.config);
            acc.vars.extend(sub.vars);
            if acc.schema.is_none() {
                acc.schema = sub.schema;
            }
            return Ok(());
        }
        loader.check_restriction(&path)?;
        let text = String::from_utf8(loader.read_resolved(&path)?)
            .map_err(|_| Error::invalid(&path, "file is not UTF-8 text"))?;
        acc.resources
            .append_unchecked(resources_from_text(&path, &text)?);
        Ok(())
    }
}

/// Finds and parses the kustomization file of a directory.
pub fn load_kustomization(loader: &mut Loader) -> Result<(PathBuf, Kustomization), Error> {
    let path = loader.find_kustomization_file(&KUSTOMIZATION_FILE_NAMES)?;
    let text = loader.read_kustomization_file()?;
    let kustomization =
        Kustomization::parse(&text).map_err(|message| Error::invalid(&path, message))?;
    Ok((path, kustomization))
}

/// Parses the objects of a resource file, expanding `kind: List` documents into their items.
pub fn resources_from_text(path: &Path, text: &str) -> Result<Vec<Resource>, Error> {
    let documents = yaml::parse_documents(text).map_err(|message| Error::invalid(path, message))?;
    let mut resources = Vec::new();
    for document in documents {
        push_document(path, document, &mut resources)?;
    }
    Ok(resources)
}

fn push_document(path: &Path, document: Value, out: &mut Vec<Resource>) -> Result<(), Error> {
    match document {
        Value::Null => Ok(()),
        Value::Map(ref map) if map.is_empty() => Ok(()),
        Value::Map(ref map) => {
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind.ends_with("List") && map.contains_key("items") {
                if let Some(Value::Seq(items)) = map.get("items") {
                    for item in items.clone() {
                        push_document(path, item, out)?;
                    }
                }
                return Ok(());
            }
            if kind.is_empty() {
                return Err(Error::invalid(path, "missing kind in object"));
            }
            let name = document
                .get_path(&["metadata", "name"])
                .and_then(Value::scalar_text)
                .unwrap_or_default();
            if name.is_empty() && document.get_path(&["metadata", "generateName"]).is_none() {
                return Err(Error::invalid(
                    path,
                    format!("missing metadata.name in object of kind {kind}"),
                ));
            }
            let mut resource = Resource::new(document);
            resource.origin = Some(Origin::File(path.to_path_buf()));
            out.push(resource);
            Ok(())
        }
        other => Err(Error::invalid(
            path,
            format!(
                "expected a mapping (a Kubernetes object), found a {}",
                other.kind_name()
            ),
        )),
    }
}

fn refuse_unsupported(path: &Path, kustomization: &Kustomization) -> Result<(), Error> {
    if !kustomization.helm_charts.is_empty()
        || kustomization.helm_globals.is_some()
        || !kustomization.helm_chart_inflation_generator.is_empty()
    {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            feature: "helmCharts (Helm chart inflation)".to_string(),
        });
    }
    if !kustomization.validators.is_empty() {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            feature: "validators".to_string(),
        });
    }
    Ok(())
}

fn check_var_names(path: &Path, vars: &[Var]) -> Result<(), Error> {
    for (index, var) in vars.iter().enumerate() {
        if vars[..index].iter().any(|other| other.name == var.name) {
            return Err(Error::build(
                path.display().to_string(),
                format!("var '{}' already encountered", var.name),
            ));
        }
    }
    Ok(())
}
