//! Host objects as the Helm layer will define them: a named map type whose methods shadow its
//! keys (`chartutil.Values`), a struct with fields and methods taking arguments
//! (`.Capabilities.APIVersions.Has`), and typed nil pointers. Expected results are what Go's
//! text/template gives for the same Go types.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::rc::Rc;

use eddy_gotemplate::{
    FuncError, FuncMap, Function, HostObject, List, MapRef, MissingKey, Param, TemplateSet, Value,
};

/// `chartutil.Values`: `map[string]interface{}` with methods.
struct Values(MapRef);

impl HostObject for Values {
    fn type_name(&self) -> &str {
        "chartutil.Values"
    }
    fn method(&self, name: &str) -> Option<Function> {
        let map = self.0.clone();
        match name {
            "AsMap" => Some(Function::local(&[], None, move |_, _| {
                Ok(Value::Map(map.clone()))
            })),
            "YAML" => Some(Function::local(&[], None, move |_, _| {
                eddy_gotemplate::yaml::marshal(&Value::Map(map.clone()))
                    .map(Value::string)
                    .map_err(FuncError::msg)
            })),
            _ => None,
        }
    }
    fn map_view(&self) -> Option<MapRef> {
        Some(self.0.clone())
    }
}

/// `chartutil.VersionSet`: `[]string` with a `Has` method.
struct VersionSet(Rc<List>);

impl HostObject for VersionSet {
    fn type_name(&self) -> &str {
        "chartutil.VersionSet"
    }
    fn method(&self, name: &str) -> Option<Function> {
        let list = self.0.clone();
        (name == "Has").then(|| {
            Function::local(&[Param::String], None, move |_, a| {
                let wanted = a[0].as_str().unwrap_or("");
                Ok(Value::Bool(
                    list.items.iter().any(|v| v.as_str() == Some(wanted)),
                ))
            })
        })
    }
    fn list_view(&self) -> Option<Rc<List>> {
        Some(self.0.clone())
    }
}

/// `*chartutil.Capabilities`, and a typed nil of it.
struct Capabilities {
    versions: Value,
    nil: bool,
}

impl HostObject for Capabilities {
    fn type_name(&self) -> &str {
        "*chartutil.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        (name == "APIVersions").then(|| self.versions.clone())
    }
    fn fields(&self) -> Vec<(String, Value)> {
        vec![("APIVersions".to_string(), self.versions.clone())]
    }
    fn is_nil(&self) -> bool {
        self.nil
    }
}

fn root() -> Value {
    let mut values = BTreeMap::new();
    values.insert("name".to_string(), Value::string("web"));
    values.insert("AsMap".to_string(), Value::string("shadowed key"));
    values.insert("port".to_string(), Value::float(8080.0));
    let values = Value::Object(Rc::new(Values(match Value::map(values) {
        Value::Map(m) => m,
        _ => unreachable!(),
    })));
    let versions = Value::Object(Rc::new(VersionSet(Rc::new(List {
        elem: eddy_gotemplate::ElemType::String,
        items: vec![Value::string("v1"), Value::string("apps/v1")],
    }))));
    let mut top = BTreeMap::new();
    top.insert("Values".to_string(), values);
    top.insert(
        "Capabilities".to_string(),
        Value::Object(Rc::new(Capabilities {
            versions,
            nil: false,
        })),
    );
    top.insert(
        "Nothing".to_string(),
        Value::Object(Rc::new(Capabilities {
            versions: Value::Nil,
            nil: true,
        })),
    );
    Value::map(top)
}

fn render(text: &str) -> Result<String, String> {
    let mut set = TemplateSet::new("gotpl", FuncMap::helm()).with_missing_key(MissingKey::Zero);
    set.parse("t", text).map_err(|e| e.to_string())?;
    set.execute("t", root()).map_err(|e| e.to_string())
}

#[test]
fn methods_of_a_named_map_shadow_its_keys() {
    assert_eq!(
        render("{{ .Values.name }} {{ .Values.port }}").unwrap(),
        "web 8080"
    );
    assert_eq!(
        render("{{ .Values.AsMap.name }} {{ index .Values \"AsMap\" }}").unwrap(),
        "web shadowed key"
    );
    assert_eq!(
        render("{{ typeOf .Values }} {{ typeOf .Values.AsMap }} {{ kindOf .Values }}").unwrap(),
        "chartutil.Values map[string]interface {} map"
    );
    assert_eq!(
        render("{{ .Values.YAML }}").unwrap(),
        "AsMap: shadowed key\nname: web\nport: 8080\n"
    );
}

#[test]
fn a_named_map_is_accepted_where_a_map_is_expected() {
    assert_eq!(
        render("{{ hasKey .Values \"name\" }} {{ toJson .Values }} {{ len .Values }}").unwrap(),
        "true {\"AsMap\":\"shadowed key\",\"name\":\"web\",\"port\":8080} 3"
    );
    assert_eq!(
        render("{{ range $k, $v := .Values }}{{ $k }};{{ end }}").unwrap(),
        "AsMap;name;port;"
    );
    assert_eq!(
        render("{{ toYaml .Values | nindent 2 }}").unwrap(),
        "\n  AsMap: shadowed key\n  name: web\n  port: 8080"
    );
}

#[test]
fn methods_with_arguments_on_struct_fields() {
    // Positions and the `interface {}` type follow Go: a chained field is located at its second
    // segment, and a value taken from a map[string]interface{} has the static type interface {}.
    assert_eq!(render("{{ .Capabilities.APIVersions.Has \"apps/v1\" }} {{ .Capabilities.APIVersions.Has \"x/v9\" }}").unwrap(), "true false");
    assert_eq!(
        render("{{ .Capabilities.APIVersions }} {{ len .Capabilities.APIVersions }}").unwrap(),
        "[v1 apps/v1] 2"
    );
    assert_eq!(
        render("{{ .Capabilities.APIVersions.Has }}").unwrap_err(),
        "template: t:1:16: executing \"t\" at <.Capabilities.APIVersions.Has>: wrong number of args for Has: want 1 got 0"
    );
    assert_eq!(
        render("{{ .Capabilities.Missing }}").unwrap_err(),
        "template: t:1:16: executing \"t\" at <.Capabilities.Missing>: can't evaluate field Missing in type interface {}"
    );
}

#[test]
fn typed_nil_pointers() {
    assert_eq!(
        render("{{ .Nothing }}|{{ if .Nothing }}y{{ else }}n{{ end }}").unwrap(),
        "<nil>|n"
    );
    assert_eq!(
        render("{{ .Nothing.APIVersions }}").unwrap_err(),
        "template: t:1:11: executing \"t\" at <.Nothing.APIVersions>: nil pointer evaluating *chartutil.Capabilities.APIVersions"
    );
}

#[test]
fn to_yaml_pretty_of_host_types() {
    // Go's go-yaml v3 encoder (indent 2) on the same Go types: a named map, a named slice, a
    // typed nil pointer and a struct without yaml tags (fields under lower-cased names).
    assert_eq!(
        render(
            "{{ toYamlPretty .Values }}|{{ toYamlPretty .Capabilities.APIVersions }}|\
             {{- toYamlPretty .Nothing }}|{{ toYamlPretty .Capabilities }}"
        )
        .unwrap(),
        "AsMap: shadowed key\nname: web\nport: 8080|- v1\n- apps/v1|null|apiversions:\n  - v1\n  - apps/v1"
    );
}

/// A map keyed by structs (Flux's `map[ObjectIdentifier][]Change`): `range` hands out the
/// struct keys, whose fields the body reads.
struct KeyedByStruct;

struct Key(&'static str);

impl HostObject for Key {
    fn type_name(&self) -> &str {
        "update.ObjectIdentifier"
    }
    fn field(&self, name: &str) -> Option<Value> {
        (name == "Name").then(|| Value::string(self.0))
    }
}

impl HostObject for KeyedByStruct {
    fn type_name(&self) -> &str {
        "update.ObjectChanges"
    }
    fn range_entries(&self) -> Option<Vec<(Value, Value)>> {
        Some(vec![
            (Value::Object(Rc::new(Key("a"))), Value::int(1)),
            (Value::Object(Rc::new(Key("b"))), Value::int(2)),
        ])
    }
}

#[test]
fn range_over_a_map_with_struct_keys() {
    let mut set = TemplateSet::new("t", FuncMap::go_builtins());
    set.parse(
        "t",
        "{{ range $k, $v := . }}{{ $k.Name }}={{ $v }};{{ end }}{{ range . }}[{{ . }}]{{ end }}",
    )
    .unwrap();
    let out = set
        .execute("t", Value::Object(Rc::new(KeyedByStruct)))
        .unwrap();
    assert_eq!(out, "a=1;b=2;[1][2]");
}
