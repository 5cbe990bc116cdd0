//! Loading the chart from the unpacked artifact and rendering a release: no API calls, so the
//! whole step is unit-tested.

use std::path::Path;

use eddy_api::helm::{
    HelmRelease,
    constants::{NAME_LABEL, NAMESPACE_LABEL},
};
use eddy_helm::{Chart, Manifest, Table, TemplateOptions};
use kube::ResourceExt;
use serde_json::Value;

/// What one render gives the release step.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The chart's `crds/` objects, applied first when the CRD policy says so.
    pub crds: Vec<Value>,
    /// The release's objects, labelled, in Helm's install order.
    pub objects: Vec<Value>,
    /// The release manifest as Helm stores it (`---\n# Source: …` per document).
    pub manifest: String,
    pub notes: String,
}

/// Why a render failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// The chart or values are wrong: the engine's message (naming the template and line).
    Chart(String),
    /// The chart has hooks that would run in this action and hooks are not disabled.
    Hooks(Vec<String>),
}

/// Loads the chart an unpacked chart artifact holds: the archive's single top directory.
pub fn load_chart(unpacked: &Path) -> Result<Chart, String> {
    let mut dirs = std::fs::read_dir(unpacked)
        .map_err(|e| format!("cannot read the unpacked artifact: {e}"))?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Chart.yaml").is_file())
        .map(|entry| entry.path())
        .collect::<Vec<_>>();
    let dir = match dirs.len() {
        1 => dirs.remove(0),
        0 if unpacked.join("Chart.yaml").is_file() => unpacked.to_path_buf(),
        0 => return Err("the artifact holds no chart (no Chart.yaml)".to_owned()),
        _ => return Err("the artifact holds more than one chart".to_owned()),
    };
    eddy_helm::load_dir(&dir, eddy_helm::LoadLimits::default()).map_err(|e| e.to_string())
}

/// Renders `chart` for `hr` with the composed `values`.
pub fn render(
    chart: Chart,
    values: &Table,
    options: &TemplateOptions,
    hr: &HelmRelease,
    hooks_disabled: bool,
) -> Result<Rendered, RenderError> {
    let rendered = eddy_helm::render_release(chart, values, options)
        .map_err(|e| RenderError::Chart(e.to_string()))?;
    let active_hooks: Vec<String> = rendered
        .hooks
        .iter()
        .filter(|hook| !is_test_hook(hook))
        .map(hook_name)
        .collect();
    if !hooks_disabled && !active_hooks.is_empty() {
        return Err(RenderError::Hooks(active_hooks));
    }
    let labels = [
        (NAME_LABEL, hr.name_any()),
        (NAMESPACE_LABEL, hr.namespace().unwrap_or_default()),
    ];
    let mut objects = Vec::new();
    let mut manifest = String::new();
    for document in &rendered.manifests {
        let Some(mut object) = parse(document)? else {
            continue;
        };
        add_labels(&mut object, &labels);
        let text = serde_yaml_ng::to_string(&object)
            .map_err(|e| RenderError::Chart(format!("{}: {e}", document.source)))?;
        manifest.push_str(&format!("---\n# Source: {}\n{}", document.source, text));
        objects.push(object);
    }
    let mut crds = Vec::new();
    for (name, text) in &rendered.crds {
        for document in eddy_helm::split_manifests(text) {
            let parsed: Value = serde_yaml_ng::from_str(&document)
                .map_err(|e| RenderError::Chart(format!("YAML parse error on {name}: {e}")))?;
            if parsed.is_object() {
                let mut crd = parsed;
                add_labels(&mut crd, &labels);
                crds.push(crd);
            }
        }
    }
    Ok(Rendered {
        crds,
        objects,
        manifest,
        notes: rendered.notes.unwrap_or_default(),
    })
}

fn is_test_hook(hook: &Manifest) -> bool {
    hook.hook_events
        .iter()
        .all(|e| e == "test" || e == "test-success")
}

fn hook_name(hook: &Manifest) -> String {
    format!("{} ({})", hook.source, hook.hook_events.join(","))
}

fn parse(document: &Manifest) -> Result<Option<Value>, RenderError> {
    let value: Value = serde_yaml_ng::from_str(&document.content)
        .map_err(|e| RenderError::Chart(format!("YAML parse error on {}: {e}", document.source)))?;
    Ok(value.is_object().then_some(value))
}

/// Flux's origin labels, which take precedence over the chart's own.
fn add_labels(object: &mut Value, labels: &[(&str, String)]) {
    let Some(object) = object.as_object_mut() else {
        return;
    };
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    let existing = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if !existing.is_object() {
        *existing = Value::Object(Default::default());
    }
    if let Some(map) = existing.as_object_mut() {
        for (key, value) in labels {
            map.insert((*key).to_owned(), Value::String(value.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn chart(files: &[(&str, &str)]) -> (tempfile::TempDir, Chart) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("myapp");
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let chart = load_chart(dir.path()).unwrap();
        (dir, chart)
    }

    const CHART_YAML: &str = "apiVersion: v2\nname: myapp\nversion: 1.0.0\nappVersion: \"1.0\"\n";

    fn hr() -> HelmRelease {
        serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "myapp", "namespace": "production"},
            "spec": {"interval": "5m", "chartRef": {"kind": "HelmChart", "name": "c"}},
        }))
        .unwrap()
    }

    fn options() -> TemplateOptions {
        TemplateOptions::new("myapp", "production", "v1.34.0").unwrap()
    }

    #[test]
    fn objects_are_labelled_and_the_manifest_is_helm_shaped() {
        let (_dir, chart) = chart(&[
            ("Chart.yaml", CHART_YAML),
            ("values.yaml", "replicaCount: 1\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n    app: x\ndata:\n  replicas: {{ .Values.replicaCount | quote }}\n",
            ),
            ("templates/NOTES.txt", "Installed {{ .Release.Name }}"),
        ]);
        let values = json!({"replicaCount": 3}).as_object().unwrap().clone();
        let rendered = render(chart, &values, &options(), &hr(), false).unwrap();
        assert_eq!(rendered.objects.len(), 1);
        let cm = &rendered.objects[0];
        assert_eq!(cm["data"]["replicas"], "3");
        assert_eq!(cm["metadata"]["labels"]["app"], "x");
        assert_eq!(cm["metadata"]["labels"][NAME_LABEL], "myapp");
        assert_eq!(cm["metadata"]["labels"][NAMESPACE_LABEL], "production");
        assert!(
            rendered
                .manifest
                .starts_with("---\n# Source: myapp/templates/cm.yaml\napiVersion: v1\n"),
            "{}",
            rendered.manifest
        );
        assert_eq!(rendered.notes, "Installed myapp");
    }

    #[test]
    fn a_template_error_names_the_template() {
        let (_dir, chart) = chart(&[
            ("Chart.yaml", CHART_YAML),
            (
                "templates/bad.yaml",
                "a: {{ .Values.x | nosuchfunction }}\n",
            ),
        ]);
        let error = render(chart, &Table::new(), &options(), &hr(), false).unwrap_err();
        let RenderError::Chart(message) = error else {
            panic!("expected a chart error, got {error:?}")
        };
        assert!(message.contains("myapp/templates/bad.yaml"), "{message}");
    }

    #[test]
    fn hooks_are_refused_unless_disabled_and_test_hooks_are_left_alone() {
        let files = [
            ("Chart.yaml", CHART_YAML),
            (
                "templates/job.yaml",
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\n",
            ),
            (
                "templates/tests/t.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test\n",
            ),
        ];
        let (_dir, loaded) = chart(&files);
        let error = render(loaded.clone(), &Table::new(), &options(), &hr(), false).unwrap_err();
        assert_eq!(
            error,
            RenderError::Hooks(vec!["myapp/templates/job.yaml (pre-install)".into()])
        );
        let rendered = render(loaded, &Table::new(), &options(), &hr(), true).unwrap();
        assert!(rendered.objects.is_empty());
    }

    #[test]
    fn crds_are_returned_apart() {
        let (_dir, chart) = chart(&[
            ("Chart.yaml", CHART_YAML),
            (
                "crds/widget.yaml",
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
            ),
        ]);
        let rendered = render(chart, &Table::new(), &options(), &hr(), false).unwrap();
        assert_eq!(rendered.crds.len(), 1);
        assert_eq!(rendered.crds[0]["metadata"]["name"], "widgets.example.com");
        assert!(rendered.manifest.is_empty());
    }
}
