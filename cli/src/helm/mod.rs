//! `eddy helm template`: Helm v4's `helm template`, rendered by eddy-helm without a cluster.
//!
//! Stdout, the `Error: …` line on stderr and the exit status follow `helm template` for the flags
//! it covers; a flag Helm has that this command does not is refused by name (exit 1) rather than
//! ignored, so a script never gets output that silently differs from Helm's.

mod show_only;
mod unsupported;
mod values;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use eddy_helm::{LoadLimits, TemplateOptions};

#[derive(clap::Args)]
pub struct HelmArgs {
    #[command(subcommand)]
    command: HelmCommand,
}

#[derive(clap::Subcommand)]
enum HelmCommand {
    /// Render a chart locally and print the manifests, as `helm template` does.
    Template(TemplateArgs),
}

#[derive(clap::Args)]
pub struct TemplateArgs {
    /// `NAME CHART`, or `CHART` alone (the release is then named `release-name`). CHART is a
    /// chart directory or a packaged `.tgz`.
    #[arg(value_name = "NAME] [CHART", num_args = 1.., required = true)]
    args: Vec<String>,
    /// A values file (`-` reads stdin); repeatable, later files win. Commas separate files too.
    #[arg(short = 'f', long = "values", value_delimiter = ',')]
    values: Vec<String>,
    /// `key=value` pairs (`a.b=1,c={x,y}`), typed as Helm types them; repeatable.
    #[arg(long = "set")]
    set: Vec<String>,
    /// `key=value` pairs whose values stay strings; repeatable.
    #[arg(long = "set-string")]
    set_string: Vec<String>,
    /// `key=<JSON>` pairs, or one JSON object; repeatable.
    #[arg(long = "set-json")]
    set_json: Vec<String>,
    /// Kubernetes version for `.Capabilities.KubeVersion` (default v1.37.0, as Helm v4.3's).
    #[arg(long)]
    kube_version: Option<String>,
    /// Extra group/versions for `.Capabilities.APIVersions`; repeatable, commas separate too.
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    api_versions: Vec<String>,
    /// Print the `crds/` files of the chart and its enabled subcharts first.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    include_crds: bool,
    /// Accepted as Helm accepts it; it changes nothing in `helm template`'s output.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    skip_crds: bool,
    /// Leave out `test` hooks.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    skip_tests: bool,
    /// Only print manifests rendered from these templates (`templates/x.yaml`, globs as Go's
    /// `filepath.Match`); repeatable.
    #[arg(short = 's', long = "show-only")]
    show_only: Vec<String>,
    /// Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    is_upgrade: bool,
    /// Do not print hooks.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    no_hooks: bool,
    /// Do not check values against `values.schema.json`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    skip_schema_validation: bool,
    #[command(flatten)]
    unsupported: unsupported::UnsupportedFlags,
}

/// A failure, worded as `helm template` words it (printed after `Error: `).
pub struct HelmError(String);

impl<T: std::fmt::Display> From<T> for HelmError {
    fn from(message: T) -> HelmError {
        HelmError(message.to_string())
    }
}

/// `namespace` is the global `-n/--namespace` when the command line gave it: Helm's default is
/// `default`, not the `flux-system` of the cluster commands.
pub fn run(args: HelmArgs, namespace: Option<String>) -> ExitCode {
    let HelmCommand::Template(args) = args.command;
    let namespace = namespace.unwrap_or_else(|| "default".to_string());
    match template(&args, &namespace) {
        Ok(out) => match std::io::stdout().write_all(out.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(141),
            Err(error) => fail(&format!("cannot write to stdout: {error}")),
        },
        Err(HelmError(message)) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("Error: {message}");
    ExitCode::FAILURE
}

/// Every step in the order `helm template` takes them, so the first error is the one Helm
/// would report.
fn template(args: &TemplateArgs, namespace: &str) -> Result<String, HelmError> {
    args.unsupported.refuse()?;
    let mut options = options(args, namespace)?;
    let (name, chart_ref) = name_and_chart(&args.args)?;
    options.release.name = name;
    let chart_path = locate_chart(chart_ref)?;
    let user_values = values::merge(args)?;
    let chart = eddy_helm::load(chart_path, LoadLimits::default())?;
    if !matches!(chart.metadata.chart_type.as_str(), "" | "application") {
        return Err(eddy_helm::Error::NotInstallable(chart.metadata.chart_type.clone()).into());
    }
    if chart.metadata.deprecated {
        eprintln!("level=WARN msg=\"this chart is deprecated\"");
    }
    if let Err(error) = eddy_helm::check_dependencies_present(&chart) {
        return Err(HelmError(format!(
            "an error occurred while checking for chart dependencies. You may need to run \
             'helm dependency build' to fetch missing dependencies: {error}"
        )));
    }
    validate_release_name(&options.release.name)?;
    let rendered = eddy_helm::template(chart, &user_values, &options).map_err(render_error)?;
    if args.show_only.is_empty() {
        Ok(rendered)
    } else {
        show_only::select(&rendered, &args.show_only)
    }
}

fn options(args: &TemplateArgs, namespace: &str) -> Result<TemplateOptions, HelmError> {
    // Helm's offline default without --kube-version: the client-go minor it was built with
    // (v0.37 → v1.37.0).
    let kube_version = args.kube_version.as_deref().unwrap_or("v1.37.0");
    let mut options = TemplateOptions::new("release-name", namespace, kube_version)
        .ok_or_else(|| {
            HelmError(format!(
                "invalid kube version '{kube_version}': could not parse \"{kube_version}\" as version"
            ))
        })?;
    options
        .capabilities
        .api_versions
        .extend(args.api_versions.iter().cloned());
    options.include_crds = args.include_crds;
    options.skip_tests = args.skip_tests;
    options.skip_schema_validation = args.skip_schema_validation;
    options.disable_hooks = args.no_hooks;
    options.release.is_upgrade = args.is_upgrade;
    options.release.is_install = !args.is_upgrade;
    Ok(options)
}

fn name_and_chart(args: &[String]) -> Result<(String, &str), HelmError> {
    match args {
        [chart] => Ok(("release-name".to_string(), chart)),
        [name, chart] => Ok((name.clone(), chart)),
        [_, _, rest @ ..] => Err(HelmError(format!(
            "expected at most two arguments, unexpected arguments: {}",
            rest.join(", ")
        ))),
        [] => Err(HelmError(
            "\"helm template\" requires at least 1 argument".to_string(),
        )),
    }
}

/// Only local charts: a directory or a packaged `.tgz`. Repository and OCI references need a
/// download, which this command does not do.
fn locate_chart(chart_ref: &str) -> Result<&Path, HelmError> {
    let path = Path::new(chart_ref);
    if path.exists() {
        return Ok(path);
    }
    if chart_ref.starts_with("oci://") || chart_ref.contains("://") || chart_ref.contains('/') {
        return Err(HelmError(format!(
            "chart {chart_ref:?} is not a local directory or .tgz: downloading charts is not \
             supported yet by eddy helm template (fetch it with `helm pull` first)"
        )));
    }
    Err(HelmError(format!(
        "non-absolute URLs should be in form of repo_name/path_to_chart, got: {chart_ref}"
    )))
}

/// Helm's release name rule: a DNS-1123 subdomain of at most 53 characters.
fn validate_release_name(name: &str) -> Result<(), HelmError> {
    let label_ok = |label: &str| {
        !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if !name.is_empty() && name.len() <= 53 && name.split('.').all(label_ok) {
        return Ok(());
    }
    Err(HelmError(format!(
        "release name check failed: release name \"{name}\": invalid release name, must match \
         regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the \
         length must not be longer than 53"
    )))
}

/// Errors of the render itself get Helm's hint: it has a partial release to show with --debug.
fn render_error(error: eddy_helm::Error) -> HelmError {
    match error {
        eddy_helm::Error::Template(_) | eddy_helm::Error::ManifestYaml { .. } => HelmError(
            format!("{error}\n\nUse --debug flag to render out invalid YAML"),
        ),
        other => HelmError(other.to_string()),
    }
}
