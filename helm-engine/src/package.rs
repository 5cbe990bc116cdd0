//! Writing a chart as the `.tgz` `helm package` produces: every file under a top directory
//! named after the chart, `Chart.yaml` first. Used by source-controller to package charts from
//! Git and to repackage pulled charts whose values or version change.

use std::io::Write;

use serde_yaml_ng::{Mapping, Value};

use crate::chart::ChartFile;
use crate::error::Error;
use crate::load::{LoadLimits, chart_from_files};

/// What changes between the chart's files and the package.
#[derive(Debug, Clone, Default)]
pub struct PackageOptions {
    /// Replaces `version` in `Chart.yaml` (Flux's `1.2.3+<revision>`).
    pub version: Option<String>,
    /// Replaces `values.yaml` (merged values files).
    pub values_yaml: Option<Vec<u8>>,
}

/// A packaged chart.
#[derive(Debug, Clone)]
pub struct PackagedChart {
    pub name: String,
    pub version: String,
    /// The gzipped tar.
    pub archive: Vec<u8>,
}

/// Why a chart cannot be packaged or its values merged.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(transparent)]
    Chart(#[from] Error),
    #[error("cannot set the chart version: Chart.yaml is not a mapping")]
    ChartYamlNotMapping,
    #[error("cannot set the chart version in Chart.yaml: {0}")]
    ChartYaml(String),
    #[error("failed to parse values file '{file}': {detail}")]
    ValuesFile { file: String, detail: String },
    #[error("cannot write the chart archive: {0}")]
    Write(#[source] std::io::Error),
}

/// Packages `files` (named relative to the chart, as [`crate::read_dir_files`] and
/// [`crate::read_archive_files`] return them) after checking that they load as a chart.
pub fn package(
    mut files: Vec<ChartFile>,
    limits: LoadLimits,
    options: &PackageOptions,
) -> Result<PackagedChart, PackageError> {
    if let Some(version) = &options.version {
        replace_version(&mut files, version)?;
    }
    if let Some(values) = &options.values_yaml {
        files.retain(|file| file.name != "values.yaml");
        files.push(ChartFile {
            name: "values.yaml".to_owned(),
            data: values.as_slice().into(),
        });
    }
    let chart = chart_from_files(files.clone(), limits)?;
    let name = chart.metadata.name.clone();
    let version = chart.metadata.version.clone();
    // Helm puts the metadata first; readers such as `helm show chart` stop at it.
    files.sort_by_key(|file| (file.name != "Chart.yaml", file.name != "values.yaml"));
    let archive = write_archive(&name, &files).map_err(PackageError::Write)?;
    Ok(PackagedChart {
        name,
        version,
        archive,
    })
}

/// Merges values files in order (later files win; maps merge key by key, anything else is
/// replaced), as Flux does before packaging. Each item is `(name for messages, bytes)`.
pub fn merge_values_files(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, PackageError> {
    let mut merged = Mapping::new();
    for (name, bytes) in files {
        let parsed: Value =
            serde_yaml_ng::from_slice(bytes).map_err(|error| PackageError::ValuesFile {
                file: name.clone(),
                detail: error.to_string(),
            })?;
        match parsed {
            Value::Null => {}
            Value::Mapping(mapping) => merge_into(&mut merged, mapping),
            _ => {
                return Err(PackageError::ValuesFile {
                    file: name.clone(),
                    detail: "the document is not a mapping".to_owned(),
                });
            }
        }
    }
    serde_yaml_ng::to_string(&merged)
        .map(String::into_bytes)
        .map_err(|error| PackageError::ValuesFile {
            file: "values.yaml".to_owned(),
            detail: error.to_string(),
        })
}

fn merge_into(base: &mut Mapping, overlay: Mapping) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Mapping(existing)), Value::Mapping(incoming)) => {
                merge_into(existing, incoming)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn replace_version(files: &mut [ChartFile], version: &str) -> Result<(), PackageError> {
    let Some(chart_yaml) = files.iter_mut().find(|file| file.name == "Chart.yaml") else {
        return Err(Error::MissingChartYaml.into());
    };
    let mut document: Value = serde_yaml_ng::from_slice(&chart_yaml.data)
        .map_err(|error| PackageError::ChartYaml(error.to_string()))?;
    let Value::Mapping(mapping) = &mut document else {
        return Err(PackageError::ChartYamlNotMapping);
    };
    mapping.insert(
        Value::String("version".to_owned()),
        Value::String(version.to_owned()),
    );
    let text = serde_yaml_ng::to_string(&document)
        .map_err(|error| PackageError::ChartYaml(error.to_string()))?;
    chart_yaml.data = text.into_bytes().into();
    Ok(())
}

/// A reproducible archive: fixed times and owners, mode 0644, so the same files give the same
/// digest.
fn write_archive(name: &str, files: &[ChartFile]) -> std::io::Result<Vec<u8>> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, format!("{name}/{}", file.name), &file.data[..])?;
    }
    let mut encoder = builder.into_inner()?;
    encoder.flush()?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{load_archive, read_archive_files};

    fn file(name: &str, text: &str) -> ChartFile {
        ChartFile {
            name: name.to_owned(),
            data: text.as_bytes().into(),
        }
    }

    fn chart_files() -> Vec<ChartFile> {
        vec![
            file("templates/cm.yaml", "kind: ConfigMap\n"),
            file("values.yaml", "replicas: 1\n"),
            file("Chart.yaml", "apiVersion: v2\nname: demo\nversion: 1.2.3\n"),
        ]
    }

    #[test]
    fn a_package_loads_back_with_chart_yaml_first() {
        let packaged = package(chart_files(), LoadLimits::default(), &Default::default()).unwrap();
        assert_eq!(
            (packaged.name.as_str(), packaged.version.as_str()),
            ("demo", "1.2.3")
        );
        let files = read_archive_files(&packaged.archive, LoadLimits::default()).unwrap();
        assert_eq!(files[0].name, "Chart.yaml");
        let chart = load_archive(&packaged.archive, LoadLimits::default()).unwrap();
        assert_eq!(chart.templates.len(), 1);
        let again = package(chart_files(), LoadLimits::default(), &Default::default()).unwrap();
        assert_eq!(again.archive, packaged.archive, "reproducible");
    }

    #[test]
    fn version_and_values_can_be_replaced() {
        let values = merge_values_files(&[
            (
                "values.yaml".into(),
                b"replicas: 1\nimage: {tag: a, repo: r}\n".to_vec(),
            ),
            (
                "prod.yaml".into(),
                b"image: {tag: b}\nextra: true\n".to_vec(),
            ),
        ])
        .unwrap();
        let options = PackageOptions {
            version: Some("1.2.3+abcdef012345".into()),
            values_yaml: Some(values),
        };
        let packaged = package(chart_files(), LoadLimits::default(), &options).unwrap();
        assert_eq!(packaged.version, "1.2.3+abcdef012345");
        let chart = load_archive(&packaged.archive, LoadLimits::default()).unwrap();
        assert_eq!(chart.metadata.version, "1.2.3+abcdef012345");
        let text = format!("{:?}", chart.values);
        assert!(
            text.contains("\"b\"") && text.contains("\"r\"") && text.contains("extra"),
            "{text}"
        );
    }

    #[test]
    fn a_values_file_that_is_not_a_mapping_is_named() {
        let error = merge_values_files(&[("bad.yaml".into(), b"- a\n".to_vec())]).unwrap_err();
        assert!(error.to_string().contains("'bad.yaml'"), "{error}");
    }

    #[test]
    fn an_invalid_version_is_refused() {
        let options = PackageOptions {
            version: Some("not semver".into()),
            ..Default::default()
        };
        assert!(package(chart_files(), LoadLimits::default(), &options).is_err());
    }
}
