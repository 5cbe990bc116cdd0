#![doc = include_str!("../README.md")]

mod chart;
mod dependencies;
mod empty_tree;
mod engine_errors;
mod error;
mod glob;
mod ignore;
mod load;
mod objects;
mod output;
mod package;
mod render;
mod repo_index;
mod schema;
mod strvals;
mod values;

pub use chart::{Chart, ChartFile, Dependency, Maintainer, Metadata};
pub use dependencies::{check_dependencies_present, process_dependencies};
pub use error::Error;
pub use glob::{BadPattern, filepath_match};
pub use ignore::IgnoreRules;
pub use load::{LoadLimits, load, load_archive, load_dir, read_archive_files, read_dir_files};
pub use objects::Capabilities;
pub use output::{INSTALL_ORDER, Manifest, print_template_output, sort_manifests, split_manifests};
pub use package::{PackageError, PackageOptions, PackagedChart, merge_values_files, package};
pub use render::{ReleaseOptions, render_chart};
pub use repo_index::{
    ChartLookupError, IndexChartVersion, IndexError, IndexSummary, scan_index, select_version,
};
pub use schema::validate_values;
pub use strvals::{parse_set_into, parse_set_json_into, parse_set_string_into};
pub use values::{Table, coalesce_values, merge_maps, parse_values};

/// The settings of one `helm template` run.
#[derive(Debug, Clone)]
pub struct TemplateOptions {
    pub release: ReleaseOptions,
    pub capabilities: Capabilities,
    /// `--include-crds`: print the `crds/` files of the chart and its enabled subcharts first.
    pub include_crds: bool,
    /// `--skip-tests`: leave out `test` hooks.
    pub skip_tests: bool,
    /// `--no-hooks`: leave out every hook (they are still rendered, so their errors count).
    pub disable_hooks: bool,
    /// `--skip-schema-validation`: do not check values against `values.schema.json`.
    pub skip_schema_validation: bool,
    /// Functions added to (or replacing ones of) Helm's function map for this render: how a
    /// controller connects `lookup` to a cluster or `getHostByName` to DNS.
    pub extra_functions: Vec<(String, eddy_gotemplate::Function)>,
}

impl TemplateOptions {
    /// `helm template NAME chart --namespace NS --kube-version KUBE --skip-tests`, with the
    /// corpus oracle's capabilities. `None` when `kube_version` does not parse.
    pub fn new(name: &str, namespace: &str, kube_version: &str) -> Option<TemplateOptions> {
        Some(TemplateOptions {
            release: ReleaseOptions {
                name: name.to_string(),
                namespace: namespace.to_string(),
                revision: 1,
                is_install: true,
                is_upgrade: false,
            },
            capabilities: Capabilities::for_kube_version(kube_version)?,
            include_crds: false,
            skip_tests: true,
            disable_hooks: false,
            skip_schema_validation: false,
            extra_functions: Vec::new(),
        })
    }
}

/// What one render of a release produced, sorted as Helm installs it.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The chart's (and enabled subcharts') `crds/` files: `(printed name, text)`.
    pub crds: Vec<(String, String)>,
    /// Ordinary resources in install order.
    pub manifests: Vec<Manifest>,
    /// Hook documents (`helm.sh/hook`), test hooks included.
    pub hooks: Vec<Manifest>,
    /// The rendered `NOTES.txt` of the top chart, if any.
    pub notes: Option<String>,
    /// The values the templates saw (chart defaults coalesced with the user's).
    pub values: Table,
}

/// Renders `chart` with `user_values` for a release: what `helm install`/`upgrade` would apply,
/// split into CRDs, manifests and hooks. `options.include_crds` and `skip_tests` are not read:
/// the caller decides what to do with each part.
pub fn render_release(
    mut chart: Chart,
    user_values: &Table,
    options: &TemplateOptions,
) -> Result<Rendered, Error> {
    if !matches!(chart.metadata.chart_type.as_str(), "" | "application") {
        return Err(Error::NotInstallable(chart.metadata.chart_type.clone()));
    }
    check_dependencies_present(&chart)?;
    process_dependencies(&mut chart, user_values)?;
    check_kube_version(&chart, &options.capabilities)?;
    let values = coalesce_values(&chart, user_values);
    if !options.skip_schema_validation {
        validate_values(&chart, &values)?;
    }
    let mut rendered = render_chart(
        &chart,
        &values,
        &options.release,
        &options.capabilities,
        &options.extra_functions,
    )?;
    let notes_path = format!("{}/templates/NOTES.txt", chart.name());
    let notes = rendered.remove(&notes_path);
    // Subcharts' NOTES.txt are rendered (their errors count) but never shown.
    rendered.retain(|name, _| !name.ends_with("NOTES.txt"));
    let (manifests, hooks) = sort_manifests(&rendered)?;
    let crds = chart
        .crd_files(chart.name())
        .into_iter()
        .map(|(name, file)| (name, String::from_utf8_lossy(&file.data).into_owned()))
        .collect();
    Ok(Rendered {
        crds,
        manifests,
        hooks,
        notes,
        values,
    })
}

/// Renders `chart` with `user_values` (the `-f` files already merged) and returns what
/// `helm template` prints on stdout.
pub fn template(
    chart: Chart,
    user_values: &Table,
    options: &TemplateOptions,
) -> Result<String, Error> {
    let rendered = render_release(chart, user_values, options)?;
    let crds: &[(String, String)] = if options.include_crds {
        &rendered.crds
    } else {
        &[]
    };
    let hooks = if options.disable_hooks {
        &[][..]
    } else {
        &rendered.hooks[..]
    };
    Ok(print_template_output(
        crds,
        &rendered.manifests,
        hooks,
        options.skip_tests,
    ))
}

fn check_kube_version(chart: &Chart, capabilities: &Capabilities) -> Result<(), Error> {
    let constraint = &chart.metadata.kube_version;
    if constraint.is_empty() {
        return Ok(());
    }
    let version = capabilities.kube_version_normalized.trim_start_matches('v');
    let compatible = match (
        eddy_semver::Constraints::parse(constraint),
        eddy_semver::Version::parse(version),
    ) {
        (Ok(c), Ok(v)) => c.matches(&v),
        _ => false,
    };
    if compatible {
        Ok(())
    } else {
        Err(Error::IncompatibleKubeVersion {
            constraint: constraint.clone(),
            kube_version: capabilities.kube_version.clone(),
        })
    }
}
