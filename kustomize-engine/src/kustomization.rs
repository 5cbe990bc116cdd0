//! The `Kustomization` / `Component` file: its fields, parsed strictly (unknown fields are an error,
//! as in kustomize), plus the rewrites of deprecated fields into their current spelling.

use indexmap::IndexMap;
use serde::Deserialize;

/// File names kustomize looks for in a directory, in order.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kustomization {
    // Parsed (so strict field checking accepts them) but not needed for the build.
    #[allow(dead_code)]
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[allow(dead_code)]
    pub metadata: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub bases: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
    pub namespace: Option<String>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    #[serde(default)]
    pub common_labels: IndexMap<String, ScalarString>,
    #[serde(default)]
    pub labels: Vec<LabelEntry>,
    #[serde(default)]
    pub common_annotations: IndexMap<String, ScalarString>,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub image_tags: Vec<Image>,
    #[serde(default)]
    pub replicas: Vec<Replica>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    #[serde(default)]
    pub patches_strategic_merge: Vec<String>,
    #[serde(default)]
    pub patches_json6902: Vec<Patch>,
    #[serde(default)]
    pub config_map_generator: Vec<GeneratorArgs>,
    #[serde(default)]
    pub secret_generator: Vec<GeneratorArgs>,
    pub generator_options: Option<GeneratorOptions>,
    #[serde(default)]
    pub replacements: Vec<crate::yaml::Value>,
    #[serde(default)]
    pub vars: Vec<Var>,
    #[serde(default)]
    pub crds: Vec<String>,
    #[serde(default)]
    pub openapi: IndexMap<String, String>,
    pub sort_options: Option<SortOptions>,
    pub build_metadata: Option<Vec<String>>,
    #[serde(default)]
    pub configurations: Vec<String>,
    #[serde(default)]
    pub generators: Vec<String>,
    #[serde(default)]
    pub transformers: Vec<String>,
    #[serde(default)]
    pub validators: Vec<String>,
    #[serde(default)]
    pub helm_charts: Vec<serde_yaml_ng::Value>,
    pub helm_globals: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub helm_chart_inflation_generator: Vec<serde_yaml_ng::Value>,
}

/// A string field of a kustomization (label and annotation values, image tags). kubectl refuses a
/// number or a boolean there (`newTag: 2` must be quoted); null is the empty string.
#[derive(Debug, Clone)]
pub struct ScalarString(pub String);

impl<'de> Deserialize<'de> for ScalarString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = serde_yaml_ng::Value::deserialize(deserializer)?;
        match raw {
            serde_yaml_ng::Value::String(s) => Ok(ScalarString(s)),
            serde_yaml_ng::Value::Null => Ok(ScalarString(String::new())),
            serde_yaml_ng::Value::Number(n) => Err(serde::de::Error::custom(format!(
                "expected a string, found the number {n} (quote it)"
            ))),
            serde_yaml_ng::Value::Bool(b) => Err(serde::de::Error::custom(format!(
                "expected a string, found the boolean {b} (quote it)"
            ))),
            _ => Err(serde::de::Error::custom("expected a string value")),
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelEntry {
    #[serde(default)]
    pub pairs: IndexMap<String, ScalarString>,
    #[serde(default)]
    pub include_selectors: bool,
    #[serde(default)]
    pub include_templates: bool,
    #[serde(default)]
    pub fields: Vec<crate::fieldspec::FieldSpec>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Image {
    #[serde(default)]
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<ScalarString>,
    pub digest: Option<String>,
    pub tag_suffix: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replica {
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Patch {
    pub path: Option<String>,
    pub patch: Option<String>,
    pub target: Option<Selector>,
    #[serde(default)]
    pub options: PatchOptions,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchOptions {
    #[serde(default)]
    pub allow_name_change: bool,
    #[serde(default)]
    #[allow(dead_code)]
    pub allow_kind_change: bool,
}

/// A resource selector; string fields are anchored regular expressions.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub annotation_selector: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorArgs {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub behavior: Option<String>,
    #[serde(default)]
    pub literals: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub envs: Vec<String>,
    pub env: Option<String>,
    pub options: Option<GeneratorOptions>,
    #[serde(rename = "type")]
    pub secret_type: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorOptions {
    #[serde(default)]
    pub labels: IndexMap<String, ScalarString>,
    #[serde(default)]
    pub annotations: IndexMap<String, ScalarString>,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Var {
    pub name: String,
    pub objref: VarObjRef,
    pub fieldref: Option<VarFieldRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VarObjRef {
    pub api_version: Option<String>,
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VarFieldRef {
    pub field_path: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SortOptions {
    pub order: Option<String>,
    pub legacy_sort_options: Option<LegacySortOptions>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacySortOptions {
    #[serde(default)]
    pub order_first: Vec<String>,
    #[serde(default)]
    pub order_last: Vec<String>,
}

impl Kustomization {
    /// Parses the file text; an empty file is an empty kustomization.
    /// Parses the file text. A file without any field besides `apiVersion`/`kind`/`metadata` is an
    /// error, as in kustomize ("kustomization.yaml is empty").
    pub fn parse(text: &str) -> Result<Kustomization, String> {
        const EMPTY: &str = "the kustomization file is empty";
        // kustomize decodes through JSON: a repeated key keeps its last value and field names match
        // case-insensitively.
        let mut documents = crate::yaml::parse::parse_documents_last_key_wins(text)?;
        let mut document = match documents.len() {
            0 => return Err(EMPTY.to_string()),
            1 => documents.remove(0),
            _ => return Err("a kustomization file must hold exactly one YAML document".to_string()),
        };
        normalize_field_names(&mut document);
        let has_content = document.as_map().is_some_and(|map| {
            map.iter().any(|(key, value)| {
                !matches!(key.as_str(), "apiVersion" | "kind" | "metadata")
                    && !is_empty_value(value)
            })
        });
        if !has_content {
            return Err(EMPTY.to_string());
        }
        // kustomize decodes through Go's JSON decoder, for which a null field is an absent one
        // (`patches:` with every item commented out, as scaffolding tools write it).
        drop_null_fields(&mut document);
        let mut kustomization: Kustomization = serde_json::from_value(document.to_json())
            .map_err(|e| format!("invalid Kustomization: {e}"))?;
        kustomization.fix_deprecated_fields();
        Ok(kustomization)
    }

    /// Folds deprecated spellings into the current fields, the way kustomize does before building.
    fn fix_deprecated_fields(&mut self) {
        self.resources.append(&mut self.bases);
        self.images.append(&mut self.image_tags);
        if !self.common_labels.is_empty() {
            // Applied after the `labels` entries, so its values win on a shared key.
            self.labels.push(LabelEntry {
                pairs: std::mem::take(&mut self.common_labels),
                include_selectors: true,
                include_templates: false,
                fields: Vec::new(),
            });
        }
        for args in self
            .config_map_generator
            .iter_mut()
            .chain(self.secret_generator.iter_mut())
        {
            if let Some(env) = args.env.take() {
                args.envs.insert(0, env);
            }
        }
    }

    pub fn is_component(&self) -> bool {
        self.kind.as_deref() == Some("Component")
    }
}

/// Every field name of the kustomization schema, in its canonical spelling.
const FIELD_NAMES: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "imageTags",
    "replicas",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "replacements",
    "vars",
    "crds",
    "openapi",
    "sortOptions",
    "buildMetadata",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "helmCharts",
    "helmGlobals",
    "helmChartInflationGenerator",
    "pairs",
    "includeSelectors",
    "includeTemplates",
    "fields",
    "group",
    "version",
    "path",
    "create",
    "name",
    "newName",
    "newTag",
    "digest",
    "tagSuffix",
    "count",
    "patch",
    "target",
    "options",
    "allowNameChange",
    "allowKindChange",
    "labelSelector",
    "annotationSelector",
    "behavior",
    "literals",
    "files",
    "envs",
    "env",
    "type",
    "disableNameSuffixHash",
    "immutable",
    "annotations",
    "objref",
    "fieldref",
    "fieldPath",
    "order",
    "legacySortOptions",
    "orderFirst",
    "orderLast",
];

/// Keys whose values are free-form maps (label values, annotations): their keys are data.
const FREE_FORM_FIELDS: &[&str] = &[
    "commonLabels",
    "commonAnnotations",
    "pairs",
    "labels",
    "annotations",
    "metadata",
];

/// Renames keys that match a schema field name case-insensitively to the canonical spelling.
fn normalize_field_names(value: &mut crate::yaml::Value) {
    use crate::yaml::Value;
    match value {
        Value::Map(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let canonical = if FIELD_NAMES.contains(&key.as_str()) {
                    None
                } else {
                    FIELD_NAMES
                        .iter()
                        .find(|name| name.eq_ignore_ascii_case(&key))
                };
                let key = match canonical {
                    Some(canonical) => {
                        let Some(entry) = map.shift_remove(&key) else {
                            continue;
                        };
                        map.insert((*canonical).to_string(), entry);
                        (*canonical).to_string()
                    }
                    None => key,
                };
                if FREE_FORM_FIELDS.contains(&key.as_str())
                    && !matches!(map.get(&key), Some(Value::Seq(_)))
                {
                    continue;
                }
                if key == "replacements" {
                    continue;
                }
                if let Some(child) = map.get_mut(&key) {
                    normalize_field_names(child);
                }
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(normalize_field_names),
        _ => {}
    }
}

/// Removes every map entry whose value is null, at any depth.
fn drop_null_fields(value: &mut crate::yaml::Value) {
    use crate::yaml::Value;
    match value {
        Value::Map(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_null_fields);
        }
        Value::Seq(items) => items.iter_mut().for_each(drop_null_fields),
        _ => {}
    }
}

fn is_empty_value(value: &crate::yaml::Value) -> bool {
    use crate::yaml::Value;
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Seq(items) => items.is_empty(),
        Value::Map(map) => map.is_empty(),
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => false,
    }
}
