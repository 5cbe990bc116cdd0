//! Rendering every template of a chart tree in one template set, as Helm's engine does: parse
//! deepest paths first (reverse lexical within a depth), one shared `.Values` tree, `.Template`
//! set per file, `<no value>` removed from each result.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use eddy_gotemplate::{
    ElemType, FuncError, FuncMap, Function, MapData, MapRef, MissingKey, Param, TemplateSet, Value,
};
use serde_json::Value as Json;

use crate::chart::{Chart, Dependency, Metadata};
use crate::error::Error;
use crate::objects::{Capabilities, FilesObject, ValuesObject};
use crate::values::Table;
use crate::{empty_tree, engine_errors};

/// What `.Release` holds.
#[derive(Debug, Clone)]
pub struct ReleaseOptions {
    pub name: String,
    pub namespace: String,
    pub revision: i64,
    pub is_install: bool,
    pub is_upgrade: bool,
}

struct Renderable {
    text: String,
    scope: MapRef,
    base_path: String,
}

/// Renders every template of `chart` (subcharts included) with the coalesced `values`.
/// Returns each rendered file by its full path (`chart/charts/sub/templates/x.yaml`);
/// partials (`_*`) are parsed but not in the result.
pub fn render_chart(
    chart: &Chart,
    values: &Table,
    release: &ReleaseOptions,
    capabilities: &Capabilities,
    extra_functions: &[(String, Function)],
) -> Result<BTreeMap<String, String>, Error> {
    let values = go_value(&Json::Object(values.clone()))
        .as_map()
        .unwrap_or_else(|| new_map(BTreeMap::new()));
    let top = TopLevel {
        release: release_value(release),
        capabilities: capabilities.value(),
    };
    let mut templates = BTreeMap::new();
    collect_templates(chart, None, chart.name(), &values, &top, &mut templates);

    let mut order: Vec<&String> = templates.keys().collect();
    order.sort_by(|a, b| depth(b).cmp(&depth(a)).then_with(|| b.cmp(a)));

    let mut funcs = helm_functions();
    for (name, function) in extra_functions {
        funcs.insert(name.clone(), function.clone());
    }
    let mut set = TemplateSet::new("gotpl", funcs).with_missing_key(MissingKey::Zero);
    for name in &order {
        set.parse(name, &templates[*name].text)
            .map_err(|e| Error::Template(engine_errors::parse_error(name, &e.to_string())))?;
    }
    let mut rendered = BTreeMap::new();
    for name in order {
        if base_name(name).starts_with('_') {
            continue;
        }
        let renderable = &templates[name];
        let mut template = BTreeMap::new();
        template.insert("Name".to_string(), Value::string(name.as_str()));
        template.insert(
            "BasePath".to_string(),
            Value::string(renderable.base_path.as_str()),
        );
        renderable.scope.entries.borrow_mut().insert(
            "Template".to_string(),
            ValuesObject::value(new_map(template)),
        );
        let out = set
            .execute(name, Value::Map(renderable.scope.clone()))
            .map_err(|e| Error::Template(engine_errors::exec_error(name, &e.to_string())))?;
        rendered.insert(name.clone(), out.replace("<no value>", ""));
    }
    Ok(rendered)
}

/// Helm's function map, with `tpl` rendering texts that parse to an empty tree itself (see
/// `empty_tree`: eddy-gotemplate would recurse on them inside a nested `tpl`) and `fromYaml`
/// keeping plain dates as text (see `values::restore_plain_dates`).
fn helm_functions() -> FuncMap {
    let mut funcs = FuncMap::helm();
    if let Some(tpl) = funcs.get("tpl").cloned() {
        funcs.insert(
            "tpl",
            Function::local(
                &[Param::String, Param::Any],
                None,
                move |context, args| match args[0].as_str() {
                    Some(text) if empty_tree::is_empty_tree(text) => {
                        empty_tree::render_empty_tree(text)
                            .map(Value::string)
                            .map_err(|e| FuncError::Nested(Box::new(e)))
                    }
                    _ => tpl.call(context, args),
                },
            ),
        );
    }
    for name in ["fromYaml", "fromYamlArray"] {
        if let Some(original) = funcs.get(name).cloned() {
            funcs.insert(
                name,
                Function::local(&[Param::String], None, move |context, args| {
                    let source = args[0].as_str().unwrap_or_default().to_string();
                    let parsed = original.call(context, args)?;
                    Ok(crate::values::restore_plain_dates_in_value(parsed, &source))
                }),
            );
        }
    }
    funcs
}

/// Values as templates see them: YAML and JSON numbers are float64, integers from `--set`
/// (held as JSON integers) are int64.
fn go_value(json: &Json) -> Value {
    match json {
        Json::Number(n) if !n.is_f64() => match n.as_i64() {
            Some(i) => Value::int64(i),
            None => Value::Uint(
                n.as_u64().unwrap_or_default(),
                eddy_gotemplate::UintKind::Uint64,
            ),
        },
        Json::Array(items) => Value::list(items.iter().map(go_value).collect()),
        Json::Object(map) => {
            Value::map(map.iter().map(|(k, v)| (k.clone(), go_value(v))).collect())
        }
        other => Value::from_json(other),
    }
}

struct TopLevel {
    release: Value,
    capabilities: Value,
}

fn depth(path: &str) -> usize {
    path.matches('/').count()
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn release_value(release: &ReleaseOptions) -> Value {
    let mut map = BTreeMap::new();
    map.insert("Name".into(), Value::string(release.name.as_str()));
    map.insert(
        "Namespace".into(),
        Value::string(release.namespace.as_str()),
    );
    map.insert("IsUpgrade".into(), Value::Bool(release.is_upgrade));
    map.insert("IsInstall".into(), Value::Bool(release.is_install));
    map.insert("Revision".into(), Value::int(release.revision));
    map.insert("Service".into(), Value::string("Helm"));
    Value::map(map)
}

/// A `map[string]interface {}` shared by reference, as Go maps are.
fn new_map(entries: BTreeMap<String, Value>) -> MapRef {
    Rc::new(MapData {
        elem: ElemType::Any,
        entries: RefCell::new(entries),
    })
}

/// Builds the scope (`.`) of one chart's templates, registers its templates, and returns the
/// scope (what the parent sees under `.Subcharts.<name>`). A subchart's `.Values` is its table
/// inside the parent's values: the same map, so changes made by one template are seen by all.
fn collect_templates(
    chart: &Chart,
    parent_values: Option<&MapRef>,
    chart_path: &str,
    root_values: &MapRef,
    top: &TopLevel,
    out: &mut BTreeMap<String, Renderable>,
) -> MapRef {
    let own_values = match parent_values {
        None => root_values.clone(),
        Some(parent) => {
            let table = parent
                .entries
                .borrow()
                .get(chart.name())
                .and_then(Value::as_map);
            table.unwrap_or_else(|| new_map(BTreeMap::new()))
        }
    };
    let subcharts = new_map(BTreeMap::new());
    let scope = new_map(BTreeMap::from([
        (
            "Chart".to_string(),
            metadata_value(&chart.metadata, parent_values.is_none()),
        ),
        ("Files".to_string(), FilesObject::value(&chart.files)),
        ("Release".to_string(), top.release.clone()),
        ("Capabilities".to_string(), top.capabilities.clone()),
        (
            "Values".to_string(),
            ValuesObject::value(own_values.clone()),
        ),
        ("Subcharts".to_string(), Value::Map(subcharts.clone())),
    ]));
    for sub in &chart.dependencies {
        let sub_path = format!("{chart_path}/charts/{}", sub.name());
        let sub_scope = collect_templates(sub, Some(&own_values), &sub_path, root_values, top, out);
        subcharts
            .entries
            .borrow_mut()
            .insert(sub.name().to_string(), Value::Map(sub_scope));
    }
    for template in &chart.templates {
        if chart.is_library() && !base_name(&template.name).starts_with('_') {
            continue;
        }
        out.insert(
            format!("{chart_path}/{}", template.name),
            Renderable {
                text: String::from_utf8_lossy(&template.data).into_owned(),
                scope: scope.clone(),
                base_path: format!("{chart_path}/templates"),
            },
        );
    }
    scope
}

fn strings(items: &[String]) -> Value {
    Value::list(items.iter().map(|s| Value::string(s.as_str())).collect())
}

fn string_map(entries: &BTreeMap<String, String>) -> Value {
    Value::typed_map(
        ElemType::String,
        entries
            .iter()
            .map(|(k, v)| (k.clone(), Value::string(v.as_str())))
            .collect(),
    )
}

/// `.Chart`: Helm v4 converts the metadata struct to a map keyed by Go field names.
fn metadata_value(md: &Metadata, is_root: bool) -> Value {
    let s = |text: &str| Value::string(text);
    let mut map = BTreeMap::new();
    map.insert("Name".to_string(), s(&md.name));
    map.insert("Home".to_string(), s(&md.home));
    map.insert("Sources".to_string(), strings(&md.sources));
    map.insert("Version".to_string(), s(&md.version));
    map.insert("Description".to_string(), s(&md.description));
    map.insert("Keywords".to_string(), strings(&md.keywords));
    let maintainers = md
        .maintainers
        .iter()
        .map(|m| {
            let mut entry = BTreeMap::new();
            entry.insert("Name".to_string(), s(&m.name));
            entry.insert("Email".to_string(), s(&m.email));
            entry.insert("URL".to_string(), s(&m.url));
            Value::map(entry)
        })
        .collect();
    map.insert("Maintainers".to_string(), Value::list(maintainers));
    map.insert("Icon".to_string(), s(&md.icon));
    map.insert("APIVersion".to_string(), s(&md.api_version));
    map.insert("Condition".to_string(), s(&md.condition));
    map.insert("Tags".to_string(), s(&md.tags));
    map.insert("AppVersion".to_string(), s(&md.app_version));
    map.insert("Deprecated".to_string(), Value::Bool(md.deprecated));
    map.insert("Annotations".to_string(), string_map(&md.annotations));
    map.insert("KubeVersion".to_string(), s(&md.kube_version));
    let deps = md.dependencies.iter().map(dependency_value).collect();
    map.insert("Dependencies".to_string(), Value::list(deps));
    map.insert("Type".to_string(), s(&md.chart_type));
    map.insert("IsRoot".to_string(), Value::Bool(is_root));
    Value::map(map)
}

fn dependency_value(dep: &Dependency) -> Value {
    let s = |text: &str| Value::string(text);
    let mut map = BTreeMap::new();
    map.insert("Name".to_string(), s(&dep.name));
    map.insert("Version".to_string(), s(&dep.version));
    map.insert("Repository".to_string(), s(&dep.repository));
    map.insert("Condition".to_string(), s(&dep.condition));
    map.insert("Tags".to_string(), strings(&dep.tags));
    map.insert("Enabled".to_string(), Value::Bool(dep.enabled));
    let imports = dep.import_values.iter().map(Value::from_json).collect();
    map.insert("ImportValues".to_string(), Value::list(imports));
    map.insert("Alias".to_string(), s(&dep.alias));
    Value::map(map)
}
