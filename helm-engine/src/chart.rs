//! A loaded chart: metadata (`Chart.yaml`, `requirements.yaml`), default values, templates,
//! other files and its subcharts.

use std::rc::Rc;

use serde::Deserialize;
use serde_json::Value as Json;

use crate::error::Error;
use crate::values::{Table, yaml_document_to_json};

/// One file of a chart, named by its path relative to the chart root (`templates/a.yaml`).
#[derive(Debug, Clone)]
pub struct ChartFile {
    pub name: String,
    pub data: Rc<[u8]>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Maintainer {
    pub name: String,
    pub email: String,
    pub url: String,
}

/// A dependency as `Chart.yaml` (v2) or `requirements.yaml` (v1) declares it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    #[serde(rename = "import-values")]
    pub import_values: Vec<Json>,
    pub alias: String,
}

/// `Chart.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    pub home: String,
    pub sources: Vec<String>,
    pub version: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub maintainers: Vec<Maintainer>,
    pub icon: String,
    pub api_version: String,
    pub condition: String,
    pub tags: String,
    pub app_version: String,
    pub deprecated: bool,
    pub annotations: std::collections::BTreeMap<String, String>,
    pub kube_version: String,
    pub dependencies: Vec<Dependency>,
    #[serde(rename = "type")]
    pub chart_type: String,
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub metadata: Metadata,
    /// `values.yaml`, all of its documents merged.
    pub values: Table,
    /// `values.schema.json`, unparsed.
    pub schema: Option<Rc<[u8]>>,
    pub templates: Vec<ChartFile>,
    /// Every other file (`crds/`, `files/`, `README.md`, …), as `.Files` sees them.
    pub files: Vec<ChartFile>,
    /// Subcharts found under `charts/`, in load order.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == "library"
    }

    /// The chart's `crds/` files with a manifest extension, then those of its subcharts,
    /// each with the file name `helm template` prints (`<chart path>/crds/<file>`).
    pub fn crd_files(&self, chart_path: &str) -> Vec<(String, ChartFile)> {
        let mut out: Vec<(String, ChartFile)> = self
            .files
            .iter()
            .filter(|f| f.name.starts_with("crds/") && has_manifest_extension(&f.name))
            .map(|f| (format!("{chart_path}/{}", f.name), f.clone()))
            .collect();
        for sub in &self.dependencies {
            out.extend(sub.crd_files(&format!("{chart_path}/charts/{}", sub.name())));
        }
        out
    }
}

fn has_manifest_extension(name: &str) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(ext.as_deref(), Some("yaml" | "yml" | "json")) && !name.ends_with('/')
}

/// Parses `Chart.yaml` (or merges `requirements.yaml` into `into`).
pub(crate) fn parse_metadata(
    file: &str,
    text: &str,
    into: Option<Metadata>,
) -> Result<Metadata, Error> {
    let bad = |message: String| Error::BadChartFile {
        file: file.to_string(),
        message,
    };
    let mut json = yaml_document_to_json(text).map_err(bad)?;
    if json.is_null() {
        json = Json::Object(Default::default());
    }
    stringify_scalars(&mut json, text);
    match_field_names_like_go(&mut json, METADATA_FIELDS);
    if let Some(Json::Array(deps)) = json.get_mut("dependencies") {
        for dep in deps {
            match_field_names_like_go(dep, DEPENDENCY_FIELDS);
        }
    }
    let parsed: Metadata = serde_json::from_value(json.clone()).map_err(|e| bad(e.to_string()))?;
    Ok(match into {
        None => parsed,
        Some(mut existing) => {
            // A requirements file only brings dependencies.
            if json.get("dependencies").is_some() {
                existing.dependencies = parsed.dependencies;
            }
            existing
        }
    })
}

const METADATA_FIELDS: &[&str] = &[
    "name",
    "home",
    "sources",
    "version",
    "description",
    "keywords",
    "maintainers",
    "icon",
    "apiVersion",
    "condition",
    "tags",
    "appVersion",
    "deprecated",
    "annotations",
    "kubeVersion",
    "dependencies",
    "type",
];
const DEPENDENCY_FIELDS: &[&str] = &[
    "name",
    "version",
    "repository",
    "condition",
    "tags",
    "enabled",
    "import-values",
    "alias",
];

/// Go's `encoding/json` matches keys to fields case-insensitively (`appversion` fills
/// `AppVersion`) when no key matches exactly.
fn match_field_names_like_go(json: &mut Json, fields: &[&str]) {
    let Some(map) = json.as_object_mut() else {
        return;
    };
    for field in fields {
        if map.contains_key(*field) {
            continue;
        }
        let other = map.keys().find(|k| k.eq_ignore_ascii_case(field)).cloned();
        if let Some(key) = other
            && let Some(value) = map.remove(&key)
        {
            map.insert(field.to_string(), value);
        }
    }
}

/// `sigs.k8s.io/yaml` decodes a YAML number into a string field from its original text
/// (`appVersion: 1.10` stays `1.10`); recover that text for the top-level string fields.
fn stringify_scalars(json: &mut Json, text: &str) {
    let Some(map) = json.as_object_mut() else {
        return;
    };
    for key in [
        "version",
        "appVersion",
        "kubeVersion",
        "name",
        "description",
    ] {
        let Some(value) = map.get_mut(key) else {
            continue;
        };
        if value.is_number() || value.is_boolean() {
            let raw = raw_top_level_scalar(text, key).unwrap_or_else(|| value.to_string());
            *value = Json::String(raw);
        }
    }
}

fn raw_top_level_scalar(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.trim_start().strip_prefix(':')?;
        let raw = rest.split(" #").next().unwrap_or(rest).trim();
        (!raw.is_empty()).then(|| raw.to_string())
    })
}

/// Helm's `sanitizeString`: whitespace becomes a space, other unprintable characters go.
pub(crate) fn sanitize(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

pub(crate) fn validate_metadata(md: &mut Metadata) -> Result<(), Error> {
    md.name = sanitize(&md.name);
    md.description = sanitize(&md.description);
    md.home = sanitize(&md.home);
    md.icon = sanitize(&md.icon);
    md.condition = sanitize(&md.condition);
    md.tags = sanitize(&md.tags);
    md.app_version = sanitize(&md.app_version);
    md.kube_version = sanitize(&md.kube_version);
    for s in md.sources.iter_mut().chain(md.keywords.iter_mut()) {
        *s = sanitize(s);
    }
    let invalid = |m: String| Err(Error::Validation(m));
    if md.api_version.is_empty() {
        return invalid("chart.metadata.apiVersion is required".into());
    }
    if md.name.is_empty() {
        return invalid("chart.metadata.name is required".into());
    }
    if md.name == "." || md.name == ".." || md.name.contains('/') {
        return invalid(format!("chart.metadata.name {:?} is invalid", md.name));
    }
    if md.version.is_empty() {
        return invalid("chart.metadata.version is required".into());
    }
    if eddy_semver::Version::parse(&md.version).is_err() {
        return invalid(format!(
            "chart.metadata.version {:?} is invalid",
            md.version
        ));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return invalid("chart.metadata.type must be application or library".into());
    }
    Ok(())
}
