//! The chart as a release record keeps it: the top chart's metadata, lock, templates, default
//! values, schema and other files. Helm does not store subcharts (its chart type keeps them in an
//! unexported field), so neither does this; `helm rollback` reuses the stored manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::StorageError;
use crate::serde_util::null_as_default;
use crate::time::Time;

/// `release.chart`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChartSnapshot {
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    /// `Chart.lock`; `None` for a chart without one.
    #[serde(default)]
    pub lock: Option<Lock>,
    #[serde(default, with = "crate::serde_util::nil_if_empty")]
    pub templates: Vec<File>,
    /// The chart's `values.yaml`, parsed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Map<String, Value>,
    /// `values.schema.json`, raw.
    #[serde(default, with = "crate::serde_util::opt_bytes")]
    pub schema: Option<Vec<u8>>,
    /// Helm v4: when `values.schema.json` was last modified.
    #[serde(
        default,
        rename = "schemamodtime",
        skip_serializing_if = "Option::is_none"
    )]
    pub schema_mod_time: Option<Time>,
    #[serde(default, with = "crate::serde_util::nil_if_empty")]
    pub files: Vec<File>,
    /// Helm v4: when the chart (its `Chart.yaml`) was last modified.
    #[serde(default, rename = "modtime", skip_serializing_if = "Option::is_none")]
    pub mod_time: Option<Time>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Chart.lock`: the dependency versions `helm dependency update` resolved.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Lock {
    #[serde(default)]
    pub generated: Time,
    #[serde(default)]
    pub digest: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub dependencies: Vec<Dependency>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Lock {
    /// Parses a `Chart.lock` file (YAML).
    pub fn from_yaml(text: &str) -> Result<Lock, StorageError> {
        let json: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| StorageError::Invalid(format!("Chart.lock is not YAML: {e}")))?;
        serde_json::from_value(json)
            .map_err(|e| StorageError::Invalid(format!("Chart.lock is not a chart lock: {e}")))
    }
}

/// One file of the chart, by its path relative to the chart root; `data` is base64 in JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct File {
    pub name: String,
    #[serde(default, with = "crate::serde_util::bytes")]
    pub data: Vec<u8>,
    /// Helm v4: the file's modification time; `None` where the writer had none.
    #[serde(default, rename = "modtime", skip_serializing_if = "Option::is_none")]
    pub mod_time: Option<Time>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Chart.yaml` as Helm's JSON writes it (every field `omitempty`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub home: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub keywords: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub maintainers: Vec<Maintainer>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tags: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_version: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kube_version: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub dependencies: Vec<Dependency>,
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub chart_type: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Maintainer {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `dependencies` entry; `enabled` is what dependency processing decided for this release.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Dependency {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub enabled: bool,
    #[serde(
        default,
        rename = "import-values",
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub import_values: Vec<Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alias: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChartSnapshot {
    /// The record of a chart loaded by `eddy_helm`. Pass the chart after
    /// `eddy_helm::process_dependencies`, as Helm stores it: the dependencies' `enabled` flags
    /// then say what this release rendered. `lock` stays `None` (the loader does not keep
    /// `Chart.lock`); set it with [`Lock::from_yaml`] when the chart has one.
    pub fn from_chart(chart: &eddy_helm::Chart) -> Self {
        ChartSnapshot {
            metadata: Metadata::from_loaded(&chart.metadata),
            lock: None,
            templates: chart.templates.iter().map(File::from_loaded).collect(),
            values: whole_floats_as_integers(&chart.values),
            schema: chart.schema.as_ref().map(|s| s.to_vec()),
            schema_mod_time: None,
            files: chart.files.iter().map(File::from_loaded).collect(),
            mod_time: None,
            extra: Map::new(),
        }
    }
}

/// `eddy_helm` holds YAML numbers as Go does, as floats; a record read back from JSON holds `1`
/// as an integer. Both encode to the same text (`1`); converting whole floats here makes a fresh
/// snapshot also compare equal to one read back.
fn whole_floats_as_integers(values: &Map<String, Value>) -> Map<String, Value> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), whole_float_as_integer(v)))
        .collect()
}

fn whole_float_as_integer(value: &Value) -> Value {
    // Beyond 2^53 a float no longer stands for one integer; leave those alone.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() <= EXACT => Value::from(f as i64),
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(whole_float_as_integer).collect()),
        Value::Object(map) => Value::Object(whole_floats_as_integers(map)),
        other => other.clone(),
    }
}

impl File {
    fn from_loaded(file: &eddy_helm::ChartFile) -> Self {
        File {
            name: file.name.clone(),
            data: file.data.to_vec(),
            mod_time: None,
            extra: Map::new(),
        }
    }
}

impl Metadata {
    fn from_loaded(md: &eddy_helm::Metadata) -> Self {
        Metadata {
            name: md.name.clone(),
            home: md.home.clone(),
            sources: md.sources.clone(),
            version: md.version.clone(),
            description: md.description.clone(),
            keywords: md.keywords.clone(),
            maintainers: md
                .maintainers
                .iter()
                .map(|m| Maintainer {
                    name: m.name.clone(),
                    email: m.email.clone(),
                    url: m.url.clone(),
                    extra: Map::new(),
                })
                .collect(),
            icon: md.icon.clone(),
            api_version: md.api_version.clone(),
            condition: md.condition.clone(),
            tags: md.tags.clone(),
            app_version: md.app_version.clone(),
            deprecated: md.deprecated,
            annotations: md.annotations.clone(),
            kube_version: md.kube_version.clone(),
            dependencies: md
                .dependencies
                .iter()
                .map(Dependency::from_loaded)
                .collect(),
            chart_type: md.chart_type.clone(),
            extra: Map::new(),
        }
    }
}

impl Dependency {
    fn from_loaded(dep: &eddy_helm::Dependency) -> Self {
        Dependency {
            name: dep.name.clone(),
            version: dep.version.clone(),
            repository: dep.repository.clone(),
            condition: dep.condition.clone(),
            tags: dep.tags.clone(),
            enabled: dep.enabled,
            import_values: dep.import_values.clone(),
            alias: dep.alias.clone(),
            extra: Map::new(),
        }
    }
}
