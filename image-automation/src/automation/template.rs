//! The commit message: `spec.git.commit.messageTemplate` rendered with the workspace's Go
//! template engine (Sprig functions, as Flux) over Flux's template data:
//!
//! - `.AutomationObject` — `Name`, `Namespace` of the ImageUpdateAutomation;
//! - `.Changed` — `FileChanges` (file path relative to `update.path` → object → changes), and the
//!   methods `Changes` (every change) and `Objects` (object → changes, over all files); an object
//!   has `APIVersion`, `Kind`, `Name`, `Namespace`, a change `OldValue`, `NewValue`, `Setter`;
//! - `.Values` — `spec.git.commit.messageTemplateValues`.
//!
//! Flux removed the older `.Updated` field; a template still using it stalls the object with
//! `RemovedTemplateField` before anything is cloned.
//!
//! **One rule beyond Flux.** Go cannot `range` over a struct, so on Flux a template that ranges
//! over the root — the tutorial's `{{range $filename, $value := .}}…{{end}}` — fails at run time.
//! In Eddy the root ranges as the changed files: the key is the file path (relative to
//! `update.path`), the value prints as the file's new values joined by `, `. The tutorial's
//! template thus renders `Update image to apps/app.yaml: registry/app:1.0.1`. Every template that
//! works on Flux renders exactly as there, since the fields shadow this view.

use std::{collections::BTreeMap, rc::Rc};

use eddy_api::image::imageupdateautomation::DEFAULT_COMMIT_MESSAGE;
use eddy_gotemplate::{
    ElemType, FuncMap, Function, HostObject, List, MapData, MapRef, TemplateSet, Value,
};

use super::{
    files::FileChanges,
    setters::{Change, ObjectChanges, ObjectId},
};

/// Why the message could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error(
        "spec.git.commit.messageTemplate uses the removed field '.Updated': use '.Changed' instead (see Flux's ImageUpdateAutomation message template documentation)"
    )]
    RemovedField,
    #[error("spec.git.commit.messageTemplate cannot be parsed: {0}")]
    Parse(String),
    #[error("spec.git.commit.messageTemplate failed to render: {0}")]
    Execute(String),
}

/// What the template is rendered with.
pub struct MessageInput<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub changes: &'a FileChanges,
    pub values: &'a BTreeMap<String, String>,
}

/// Refuses a template that uses the removed `.Updated` field.
pub fn check_removed_field(template: &str) -> Result<(), TemplateError> {
    let uses_updated = template.match_indices(".Updated").any(|(index, found)| {
        template[index + found.len()..]
            .chars()
            .next()
            .is_none_or(|next| !(next.is_alphanumeric() || next == '_'))
    });
    if uses_updated {
        Err(TemplateError::RemovedField)
    } else {
        Ok(())
    }
}

/// Parses the template without rendering it (so a broken template is reported before cloning).
pub fn check_parses(template: &str) -> Result<(), TemplateError> {
    check_removed_field(template)?;
    template_set(template).map(|_| ())
}

/// The commit message for `input`; Flux's default message when `template` is unset or empty.
pub fn render(template: Option<&str>, input: &MessageInput<'_>) -> Result<String, TemplateError> {
    let template = template.filter(|text| !text.is_empty());
    let Some(template) = template else {
        return Ok(DEFAULT_COMMIT_MESSAGE.to_owned());
    };
    check_removed_field(template)?;
    let set = template_set(template)?;
    set.execute("commit message", root(input))
        .map_err(|error| TemplateError::Execute(error.to_string()))
}

fn template_set(template: &str) -> Result<TemplateSet, TemplateError> {
    let mut set = TemplateSet::new("commit message", FuncMap::sprig());
    set.parse("commit message", template)
        .map_err(|error| TemplateError::Parse(error.to_string()))?;
    Ok(set)
}

fn root(input: &MessageInput<'_>) -> Value {
    let values = input
        .values
        .iter()
        .map(|(key, value)| (key.clone(), Value::string(value.as_str())))
        .collect();
    Value::Object(Rc::new(TemplateData {
        automation: Value::Object(Rc::new(AutomationObject {
            name: input.name.to_owned(),
            namespace: input.namespace.to_owned(),
        })),
        changed: Value::Object(Rc::new(Changed {
            files: input.changes.clone(),
        })),
        values: Value::typed_map(ElemType::String, values),
        files: input.changes.clone(),
    }))
}

fn string_field(value: &str) -> Option<Value> {
    Some(Value::string(value))
}

struct TemplateData {
    automation: Value,
    changed: Value,
    values: Value,
    files: FileChanges,
}

impl HostObject for TemplateData {
    fn type_name(&self) -> &str {
        "update.TemplateData"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AutomationObject" => Some(self.automation.clone()),
            "Changed" => Some(self.changed.clone()),
            "Values" => Some(self.values.clone()),
            _ => None,
        }
    }
    /// Eddy's rule for ranging over the root: file → its new values (see the module docs).
    fn map_view(&self) -> Option<MapRef> {
        let entries = self
            .files
            .iter()
            .map(|(file, objects)| {
                let new_values: Vec<&str> = objects
                    .values()
                    .flatten()
                    .map(|change| change.new_value.as_str())
                    .collect();
                (file.clone(), Value::string(new_values.join(", ")))
            })
            .collect();
        Some(Rc::new(MapData {
            elem: ElemType::String,
            entries: std::cell::RefCell::new(entries),
        }))
    }
    fn fields(&self) -> Vec<(String, Value)> {
        vec![
            ("AutomationObject".into(), self.automation.clone()),
            ("Changed".into(), self.changed.clone()),
            ("Values".into(), self.values.clone()),
        ]
    }
}

struct AutomationObject {
    name: String,
    namespace: String,
}

impl HostObject for AutomationObject {
    fn type_name(&self) -> &str {
        "struct { Name string; Namespace string }"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Name" => string_field(&self.name),
            "Namespace" => string_field(&self.namespace),
            _ => None,
        }
    }
    fn display(&self) -> Option<String> {
        Some(format!("{{{} {}}}", self.name, self.namespace))
    }
    fn fields(&self) -> Vec<(String, Value)> {
        vec![
            ("Name".into(), Value::string(self.name.as_str())),
            ("Namespace".into(), Value::string(self.namespace.as_str())),
        ]
    }
}

/// Flux's `update.ResultV2`.
struct Changed {
    files: FileChanges,
}

impl HostObject for Changed {
    fn type_name(&self) -> &str {
        "update.ResultV2"
    }
    fn field(&self, name: &str) -> Option<Value> {
        (name == "FileChanges").then(|| {
            let files = self
                .files
                .iter()
                .map(|(file, objects)| (file.clone(), object_changes(objects.clone())))
                .collect();
            Value::typed_map(ElemType::Named("update.ObjectChanges".into()), files)
        })
    }
    fn method(&self, name: &str) -> Option<Function> {
        let files = self.files.clone();
        match name {
            "Changes" => Some(Function::local(&[], None, move |_, _| {
                let changes = files
                    .values()
                    .flat_map(|objects| objects.values().flatten())
                    .map(change_value)
                    .collect();
                Ok(Value::List(Rc::new(List {
                    elem: ElemType::Named("update.Change".into()),
                    items: changes,
                })))
            })),
            "Objects" => Some(Function::local(&[], None, move |_, _| {
                let mut merged = ObjectChanges::new();
                for objects in files.values() {
                    for (object, changes) in objects {
                        merged
                            .entry(object.clone())
                            .or_default()
                            .extend(changes.iter().cloned());
                    }
                }
                Ok(object_changes(merged))
            })),
            _ => None,
        }
    }
}

fn object_changes(objects: ObjectChanges) -> Value {
    Value::Object(Rc::new(ObjectChangesView(objects)))
}

/// Flux's `update.ObjectChanges`: a map keyed by object, which `range` walks as
/// (object, changes) pairs.
struct ObjectChangesView(ObjectChanges);

impl HostObject for ObjectChangesView {
    fn type_name(&self) -> &str {
        "update.ObjectChanges"
    }
    fn range_entries(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.0
                .iter()
                .map(|(object, changes)| {
                    let items = changes.iter().map(change_value).collect();
                    (
                        Value::Object(Rc::new(ObjectView(object.clone()))),
                        Value::List(Rc::new(List {
                            elem: ElemType::Named("update.Change".into()),
                            items,
                        })),
                    )
                })
                .collect(),
        )
    }
    fn display(&self) -> Option<String> {
        let entries: Vec<String> = self
            .0
            .iter()
            .map(|(object, changes)| {
                let changes: Vec<String> = changes.iter().map(change_display).collect();
                format!("{}:[{}]", object_display(object), changes.join(" "))
            })
            .collect();
        Some(format!("map[{}]", entries.join(" ")))
    }
}

struct ObjectView(ObjectId);

impl HostObject for ObjectView {
    fn type_name(&self) -> &str {
        "update.ObjectIdentifier"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "APIVersion" => string_field(&self.0.api_version),
            "Kind" => string_field(&self.0.kind),
            "Name" => string_field(&self.0.name),
            "Namespace" => string_field(&self.0.namespace),
            _ => None,
        }
    }
    fn display(&self) -> Option<String> {
        Some(object_display(&self.0))
    }
}

fn object_display(object: &ObjectId) -> String {
    format!(
        "{{{{{{{} {}}} {{{} {}}}}}}}",
        object.api_version, object.kind, object.name, object.namespace
    )
}

struct ChangeView(Change);

fn change_value(change: &Change) -> Value {
    Value::Object(Rc::new(ChangeView(change.clone())))
}

fn change_display(change: &Change) -> String {
    format!(
        "{{{} {} {}}}",
        change.old_value, change.new_value, change.setter
    )
}

impl HostObject for ChangeView {
    fn type_name(&self) -> &str {
        "update.Change"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "OldValue" => string_field(&self.0.old_value),
            "NewValue" => string_field(&self.0.new_value),
            "Setter" => string_field(&self.0.setter),
            _ => None,
        }
    }
    fn display(&self) -> Option<String> {
        Some(change_display(&self.0))
    }
    fn fields(&self) -> Vec<(String, Value)> {
        vec![
            ("OldValue".into(), Value::string(self.0.old_value.as_str())),
            ("NewValue".into(), Value::string(self.0.new_value.as_str())),
            ("Setter".into(), Value::string(self.0.setter.as_str())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes() -> FileChanges {
        let deployment = ObjectId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "app".into(),
            namespace: "apps".into(),
        };
        let change = |old: &str, new: &str, setter: &str| Change {
            old_value: old.into(),
            new_value: new.into(),
            setter: setter.into(),
        };
        let mut files = FileChanges::new();
        files.insert(
            "app/deploy.yaml".into(),
            ObjectChanges::from([(
                deployment,
                vec![change("reg/app:1.0.0", "reg/app:1.0.1", "flux-system:app")],
            )]),
        );
        files.insert(
            "values.yaml".into(),
            ObjectChanges::from([(
                ObjectId::default(),
                vec![change("1.0.0", "1.0.1", "flux-system:app:tag")],
            )]),
        );
        files
    }

    fn render_with(template: &str) -> Result<String, TemplateError> {
        let changes = changes();
        let values = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
        render(
            Some(template),
            &MessageInput {
                name: "auto",
                namespace: "flux-system",
                changes: &changes,
                values: &values,
            },
        )
    }

    #[test]
    fn default_message_when_unset() {
        let changes = FileChanges::new();
        let values = BTreeMap::new();
        let input = MessageInput {
            name: "a",
            namespace: "b",
            changes: &changes,
            values: &values,
        };
        assert_eq!(render(None, &input).unwrap(), DEFAULT_COMMIT_MESSAGE);
        assert_eq!(render(Some(""), &input).unwrap(), DEFAULT_COMMIT_MESSAGE);
    }

    #[test]
    fn flux_documented_template_renders() {
        let template = "\
Automated image update by {{ .AutomationObject.Name }} in {{ .AutomationObject.Namespace }} ({{ .Values.env }})

Files:
{{ range $filename, $_ := .Changed.FileChanges -}}
- {{ $filename }}
{{ end -}}

Objects:
{{ range $resource, $changes := .Changed.Objects -}}
- {{ $resource.Kind }} {{ $resource.Name }}
  Changes:
{{- range $_, $change := $changes }}
    - {{ $change.OldValue }} -> {{ $change.NewValue }}
{{ end -}}
{{ end -}}
Count: {{ len .Changed.Changes }}";
        assert_eq!(
            render_with(template).unwrap(),
            "\
Automated image update by auto in flux-system (prod)

Files:
- app/deploy.yaml
- values.yaml
Objects:
-  
  Changes:
    - 1.0.0 -> 1.0.1
- Deployment app
  Changes:
    - reg/app:1.0.0 -> reg/app:1.0.1
Count: 2"
        );
    }

    #[test]
    fn tutorial_template_ranges_over_the_root_as_files() {
        let template =
            "Update image to {{range $filename, $value := .}}{{ $filename }}: {{ $value }} {{end}}";
        assert_eq!(
            render_with(template).unwrap(),
            "Update image to app/deploy.yaml: reg/app:1.0.1 values.yaml: 1.0.1 "
        );
    }

    #[test]
    fn removed_updated_field_is_refused() {
        assert_eq!(
            render_with("{{ range .Updated.Images }}{{ . }}{{ end }}"),
            Err(TemplateError::RemovedField)
        );
        assert_eq!(check_removed_field("{{ .UpdatedAt }}"), Ok(()));
        assert_eq!(
            check_parses("{{ .Updated }}"),
            Err(TemplateError::RemovedField)
        );
    }

    #[test]
    fn parse_and_run_time_failures_are_told_apart() {
        assert!(matches!(
            check_parses("{{ range }"),
            Err(TemplateError::Parse(_))
        ));
        assert!(matches!(
            render_with("{{ .Changed.Nope }}"),
            Err(TemplateError::Execute(_))
        ));
        assert!(matches!(
            render_with("{{ template \"missing\" }}"),
            Err(TemplateError::Execute(_)) | Err(TemplateError::Parse(_))
        ));
    }
}
