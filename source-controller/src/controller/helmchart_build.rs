//! The middle of a HelmChart reconcile, free of API calls: choosing the chart URL from an index
//! entry, merging values files, packaging a chart directory (with its `file://` dependencies)
//! and the revision Flux gives the result. Everything here blocks or is pure.

use std::path::{Component, Path, PathBuf};

use eddy_api::meta::condition_type;
use eddy_helm::{ChartFile, LoadLimits, PackageOptions, PackagedChart};
use eddy_runtime::outcome::Failure;

/// Flux's build reasons (`BuildFailed` condition).
pub const CHART_PULL_ERROR: &str = "ChartPullError";
pub const CHART_PACKAGE_ERROR: &str = "ChartPackageError";
pub const INVALID_CHART_REFERENCE: &str = "InvalidChartReference";
pub const VALUES_FILES_ERROR: &str = "ValuesFilesError";
pub const DEPENDENCY_BUILD_ERROR: &str = "DependencyBuildError";

pub fn build_failed(reason: &str, message: impl Into<String>) -> Failure {
    Failure::backoff(reason, message).with_condition(condition_type::BUILD_FAILED)
}

/// The absolute URL of a chart archive named by an index entry. Relative names resolve against
/// the repository URL and must stay under it.
pub fn chart_url(repository_url: &str, entry_url: &str) -> Result<String, String> {
    let mut base = repository_url.trim_end_matches('/').to_owned();
    base.push('/');
    let base =
        reqwest::Url::parse(&base).map_err(|error| format!("invalid repository URL: {error}"))?;
    if let Ok(absolute) = reqwest::Url::parse(entry_url) {
        return match absolute.scheme() {
            "http" | "https" => Ok(absolute.to_string()),
            scheme => Err(format!(
                "chart URL '{entry_url}' has unsupported scheme '{scheme}'"
            )),
        };
    }
    let resolved = base
        .join(entry_url)
        .map_err(|error| format!("invalid chart URL '{entry_url}': {error}"))?;
    if !resolved.as_str().starts_with(base.as_str()) {
        return Err(format!(
            "chart URL '{entry_url}' escapes the repository URL '{repository_url}'"
        ));
    }
    Ok(resolved.to_string())
}

/// Whether the repository's basic auth goes with a request to `chart_url`: only to the index's
/// host, unless `passCredentials`.
pub fn sends_credentials(repository_url: &str, chart_url: &str, pass_credentials: bool) -> bool {
    if pass_credentials {
        return true;
    }
    let origin = |url: &str| {
        reqwest::Url::parse(url).ok().map(|url| {
            (
                url.host_str().map(str::to_owned),
                url.port_or_known_default(),
            )
        })
    };
    origin(repository_url).is_some_and(|origin_of_index| Some(origin_of_index) == origin(chart_url))
}

/// The values files found, each `(name as listed, bytes)`, in order; a missing one fails unless
/// `ignore_missing`.
pub fn collect_values_files(
    listed: &[String],
    ignore_missing: bool,
    read: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let mut found = Vec::new();
    for name in listed {
        match read(name) {
            Some(bytes) => found.push((name.clone(), bytes)),
            None if ignore_missing => {
                tracing::info!(file = %name, "values file not found; ignored as asked")
            }
            None => {
                return Err(build_failed(
                    VALUES_FILES_ERROR,
                    format!("values files merge error: no values file found at path '{name}'"),
                ));
            }
        }
    }
    Ok(found)
}

/// Merged values for the package, or `None` when no values file was listed.
pub fn merged_values(found: &[(String, Vec<u8>)]) -> Result<Option<Vec<u8>>, Failure> {
    if found.is_empty() {
        return Ok(None);
    }
    eddy_helm::merge_values_files(found)
        .map(Some)
        .map_err(|error| {
            build_failed(
                VALUES_FILES_ERROR,
                format!("values files merge error: {error}"),
            )
        })
}

/// `path` under `root`, refusing absolute paths and `..` that climbs out.
pub fn path_within(root: &Path, path: &str) -> Result<PathBuf, String> {
    let mut clean = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if !clean.pop() {
                    return Err(format!("path '{path}' points outside the source"));
                }
            }
            Component::Prefix(_) => return Err(format!("path '{path}' is not a relative path")),
        }
    }
    Ok(root.join(clean))
}

/// Flux's `<version>+<first 12 characters of the source revision's hash>`.
pub fn revision_version(version: &str, source_revision: &str) -> String {
    let hash = source_revision
        .rsplit(':')
        .next()
        .unwrap_or(source_revision);
    let short: String = hash.chars().take(12).collect();
    format!("{version}+{short}")
}

/// Packages the chart directory `chart_dir` (inside `source_root`), building missing
/// `file://` dependencies from their directories.
pub fn package_directory(
    source_root: &Path,
    chart_dir: &Path,
    limits: LoadLimits,
    options: &PackageOptions,
) -> Result<PackagedChart, Failure> {
    let package_error =
        |error: &dyn std::fmt::Display| build_failed(CHART_PACKAGE_ERROR, error.to_string());
    let chart = eddy_helm::load_dir(chart_dir, limits).map_err(|e| package_error(&e))?;
    let mut files = eddy_helm::read_dir_files(chart_dir, limits).map_err(|e| package_error(&e))?;
    for dependency in &chart.metadata.dependencies {
        let present = chart
            .dependencies
            .iter()
            .any(|sub| sub.name() == dependency.name);
        if present {
            continue;
        }
        let Some(relative) = dependency.repository.strip_prefix("file://") else {
            return Err(build_failed(
                DEPENDENCY_BUILD_ERROR,
                format!(
                    "dependency '{}' from repository '{}' is missing from charts/; building \
                     dependencies from Helm repositories is not supported yet",
                    dependency.name, dependency.repository
                ),
            ));
        };
        let dependency_dir = chart_dir.join(relative);
        let inside = dependency_dir
            .canonicalize()
            .ok()
            .zip(source_root.canonicalize().ok())
            .is_some_and(|(dir, root)| dir.starts_with(root));
        if !inside {
            return Err(build_failed(
                DEPENDENCY_BUILD_ERROR,
                format!(
                    "dependency '{}': '{}' is not a chart directory inside the source",
                    dependency.name, dependency.repository
                ),
            ));
        }
        let dependency_files = eddy_helm::read_dir_files(&dependency_dir, limits)
            .map_err(|error| build_failed(DEPENDENCY_BUILD_ERROR, error.to_string()))?;
        let packaged = eddy_helm::package(dependency_files, limits, &PackageOptions::default())
            .map_err(|error| build_failed(DEPENDENCY_BUILD_ERROR, error.to_string()))?;
        files.push(ChartFile {
            name: format!("charts/{}-{}.tgz", packaged.name, packaged.version),
            data: packaged.archive.into(),
        });
    }
    eddy_helm::package(files, limits, options).map_err(|error| package_error(&error))
}

/// The summary Flux uses as `Ready` message and event: "pulled 'x' chart with version 'y'".
pub fn summary(action: &str, name: &str, version: &str, values_files: &[String]) -> String {
    let mut text = format!("{action} '{name}' chart with version '{version}'");
    if !values_files.is_empty() {
        text.push_str(&format!(
            " and merged values files [{}]",
            values_files.join(" ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_urls_resolve_against_the_repository_and_stay_under_it() {
        let repo = "https://h.example/charts";
        assert_eq!(
            chart_url(repo, "podinfo-1.0.0.tgz").unwrap(),
            "https://h.example/charts/podinfo-1.0.0.tgz"
        );
        assert_eq!(
            chart_url(repo, "sub/podinfo-1.0.0.tgz").unwrap(),
            "https://h.example/charts/sub/podinfo-1.0.0.tgz"
        );
        assert_eq!(
            chart_url(repo, "https://cdn.example/p.tgz").unwrap(),
            "https://cdn.example/p.tgz"
        );
        assert!(
            chart_url(repo, "../secret.tgz")
                .unwrap_err()
                .contains("escapes")
        );
        assert!(
            chart_url(repo, "/other/p.tgz")
                .unwrap_err()
                .contains("escapes")
        );
        assert!(chart_url(repo, "file:///etc/passwd").is_err());
    }

    #[test]
    fn credentials_go_to_the_index_host_only_unless_passed() {
        let repo = "https://h.example/charts";
        assert!(sends_credentials(
            repo,
            "https://h.example/charts/a.tgz",
            false
        ));
        assert!(!sends_credentials(repo, "https://cdn.example/a.tgz", false));
        assert!(!sends_credentials(
            repo,
            "https://h.example:8443/a.tgz",
            false
        ));
        assert!(sends_credentials(repo, "https://cdn.example/a.tgz", true));
    }

    #[test]
    fn missing_values_files_fail_unless_ignored() {
        let listed = vec!["values.yaml".to_owned(), "prod.yaml".to_owned()];
        let read = |name: &str| (name == "values.yaml").then(|| b"a: 1\n".to_vec());
        let failure = collect_values_files(&listed, false, read).unwrap_err();
        assert_eq!(failure.reason, VALUES_FILES_ERROR);
        assert!(
            failure.message.contains("'prod.yaml'"),
            "{}",
            failure.message
        );
        let found = collect_values_files(&listed, true, read).unwrap();
        assert_eq!(found.len(), 1);
        assert!(merged_values(&[]).unwrap().is_none());
    }

    #[test]
    fn revisions_and_summaries_read_as_flux_writes_them() {
        assert_eq!(
            revision_version("1.2.3", "main@sha1:0123456789abcdef0123"),
            "1.2.3+0123456789ab"
        );
        assert_eq!(
            summary(
                "pulled",
                "podinfo",
                "6.5.0",
                &["a.yaml".into(), "b.yaml".into()]
            ),
            "pulled 'podinfo' chart with version '6.5.0' and merged values files [a.yaml b.yaml]"
        );
    }

    #[test]
    fn paths_cannot_leave_the_source() {
        let root = Path::new("/src");
        assert_eq!(
            path_within(root, "./charts/app").unwrap(),
            Path::new("/src/charts/app")
        );
        assert!(path_within(root, "../etc").is_err());
    }
}
