//! The Go types templates see under `.Values`, `.Files` and `.Capabilities`, as host objects
//! with Helm v4's type names, methods and printed forms.

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;
use eddy_gotemplate::{ElemType, FuncError, Function, HostObject, List, MapRef, Param, Value};

use crate::chart::ChartFile;
use crate::glob::FilesGlob;

/// `common.Values`: a map whose methods (`AsMap`, `YAML`, `Table`, `PathValue`) shadow keys.
pub struct ValuesObject(pub MapRef);

impl ValuesObject {
    pub fn value(map: MapRef) -> Value {
        Value::Object(Rc::new(ValuesObject(map)))
    }
}

impl HostObject for ValuesObject {
    fn type_name(&self) -> &str {
        "common.Values"
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
            "Table" => Some(Function::local(&[Param::String], None, move |_, args| {
                let path = args[0].as_str().unwrap_or_default().to_string();
                table(&map, &path)
                    .map(ValuesObject::value)
                    .ok_or_else(|| FuncError::msg(format!("{path:?} is not a table")))
            })),
            "PathValue" => Some(Function::local(&[Param::String], None, move |_, args| {
                let path = args[0].as_str().unwrap_or_default().to_string();
                path_value(&map, &path)
            })),
            _ => None,
        }
    }
    fn map_view(&self) -> Option<MapRef> {
        Some(self.0.clone())
    }
}

fn table(map: &MapRef, path: &str) -> Option<MapRef> {
    let mut current = map.clone();
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let next = current.entries.borrow().get(segment)?.as_map()?;
        current = next;
    }
    Some(current)
}

fn path_value(map: &MapRef, path: &str) -> Result<Value, FuncError> {
    if path.is_empty() {
        return Err(FuncError::msg("YAML path cannot be empty"));
    }
    let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
    let no_value = || FuncError::msg(format!("{key:?} is not a value"));
    let holder = table(map, parent).ok_or_else(no_value)?;
    let value = holder.entries.borrow().get(key).cloned();
    match value {
        Some(v) if v.as_map().is_none() => Ok(v),
        _ => Err(no_value()),
    }
}

/// `engine.files`: the chart's non-template files by name, with Helm's accessors.
pub struct FilesObject {
    files: BTreeMap<String, Rc<[u8]>>,
}

impl FilesObject {
    pub fn value(files: &[ChartFile]) -> Value {
        let files = files
            .iter()
            .map(|f| (f.name.clone(), f.data.clone()))
            .collect();
        Value::Object(Rc::new(FilesObject { files }))
    }

    fn bytes(&self, name: &str) -> Rc<[u8]> {
        self.files
            .get(name)
            .cloned()
            .unwrap_or_else(|| Rc::from(&[][..]))
    }

    fn by_base_name(&self, encode: impl Fn(&[u8]) -> String) -> String {
        let entries = self
            .files
            .iter()
            .map(|(name, data)| {
                let base = name.rsplit('/').next().unwrap_or(name).to_string();
                (base, Value::string(encode(data)))
            })
            .collect();
        let text = eddy_gotemplate::yaml::marshal(&Value::typed_map(ElemType::String, entries))
            .unwrap_or_default();
        text.strip_suffix('\n').unwrap_or(&text).to_string()
    }
}

impl HostObject for FilesObject {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn method(&self, name: &str) -> Option<Function> {
        let files = self.files.clone();
        let this = move || FilesObject {
            files: files.clone(),
        };
        let one_string = |f: fn(&FilesObject, &str) -> Value| -> Function {
            let this = this.clone();
            Function::local(&[Param::String], None, move |_, args| {
                Ok(f(&this(), args[0].as_str().unwrap_or_default()))
            })
        };
        Some(match name {
            "Get" => one_string(|f, n| Value::string(lossy(&f.bytes(n)))),
            "GetBytes" => one_string(|f, n| Value::Bytes(f.bytes(n))),
            "Lines" => one_string(|f, n| {
                let Some(data) = f.files.get(n) else {
                    return Value::string_list(Vec::new());
                };
                let s = lossy(data);
                let s = s.strip_suffix('\n').unwrap_or(&s);
                Value::string_list(s.split('\n').map(str::to_string))
            }),
            "Glob" => one_string(|f, pattern| {
                let glob = FilesGlob::compile(pattern)
                    .or_else(|_| FilesGlob::compile("**"))
                    .ok();
                let files = f
                    .files
                    .iter()
                    .filter(|(name, _)| glob.as_ref().is_some_and(|g| g.is_match(name)))
                    .map(|(n, d)| (n.clone(), d.clone()))
                    .collect();
                Value::Object(Rc::new(FilesObject { files }))
            }),
            "AsConfig" => Function::local(&[], None, move |_, _| {
                Ok(Value::string(this().by_base_name(lossy)))
            }),
            "AsSecrets" => Function::local(&[], None, move |_, _| {
                Ok(Value::string(this().by_base_name(|d| {
                    base64::engine::general_purpose::STANDARD.encode(d)
                })))
            }),
            _ => return None,
        })
    }
    fn map_view(&self) -> Option<MapRef> {
        let entries = self
            .files
            .iter()
            .map(|(n, d)| (n.clone(), Value::Bytes(d.clone())))
            .collect();
        Value::typed_map(ElemType::Named("[]uint8".into()), entries).as_map()
    }
}

fn lossy(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// `.Capabilities`: what the engine tells charts about the cluster and itself.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// As given (`v1.34.0`); `GitVersion` and `Version`.
    pub kube_version: String,
    /// Normalised (`v1.34.0`), what `String()` and `kubeVersion` checks use.
    pub kube_version_normalized: String,
    pub kube_major: String,
    pub kube_minor: String,
    pub api_versions: Vec<String>,
    pub helm_version: String,
    pub helm_git_commit: String,
    pub helm_git_tree_state: String,
    pub go_version: String,
    pub kube_client_version: String,
}

/// The 57 group/versions Helm v4.3 built with client-go v0.37 reports offline, in its order.
pub const DEFAULT_API_VERSIONS: &str = include_str!("api_versions.txt");

impl Capabilities {
    /// The capabilities of the corpus oracle (`helm` v4.3 built from its module with go1.26.8)
    /// for a Kubernetes version such as `v1.34.0`; `None` when the version does not parse.
    pub fn for_kube_version(kube_version: &str) -> Option<Capabilities> {
        let trimmed = kube_version.strip_prefix('v').unwrap_or(kube_version);
        let parsed = eddy_semver::Version::parse(trimmed).ok()?;
        Some(Capabilities {
            kube_version: format!("v{trimmed}"),
            kube_version_normalized: format!(
                "v{}.{}.{}",
                parsed.major(),
                parsed.minor(),
                parsed.patch()
            ),
            kube_major: parsed.major().to_string(),
            kube_minor: parsed.minor().to_string(),
            api_versions: DEFAULT_API_VERSIONS.lines().map(str::to_string).collect(),
            helm_version: "v4.3".into(),
            helm_git_commit: String::new(),
            helm_git_tree_state: String::new(),
            go_version: "go1.26.8".into(),
            kube_client_version: "v1.37".into(),
        })
    }

    pub fn value(&self) -> Value {
        Value::Object(Rc::new(CapabilitiesObject(Rc::new(self.clone()))))
    }
}

struct CapabilitiesObject(Rc<Capabilities>);

impl HostObject for CapabilitiesObject {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let caps = self.0.clone();
        Some(match name {
            "KubeVersion" => Value::Object(Rc::new(KubeVersionObject(caps))),
            "APIVersions" => Value::Object(Rc::new(VersionSetObject(Rc::new(List {
                elem: ElemType::String,
                items: caps
                    .api_versions
                    .iter()
                    .cloned()
                    .map(Value::string)
                    .collect(),
            })))),
            "HelmVersion" => Value::Object(Rc::new(BuildInfoObject(caps))),
            _ => return None,
        })
    }
    fn display(&self) -> Option<String> {
        let c = &self.0;
        Some(format!(
            "&{{{{{} {} {} {}}} [{}] {{{} {} {} {} {}}}}}",
            c.kube_version,
            c.kube_version_normalized,
            c.kube_major,
            c.kube_minor,
            c.api_versions.join(" "),
            c.helm_version,
            c.helm_git_commit,
            c.helm_git_tree_state,
            c.go_version,
            c.kube_client_version
        ))
    }
    fn fields(&self) -> Vec<(String, Value)> {
        ["KubeVersion", "APIVersions", "HelmVersion"]
            .iter()
            .filter_map(|n| Some((n.to_string(), self.field(n)?)))
            .collect()
    }
}

struct KubeVersionObject(Rc<Capabilities>);

impl HostObject for KubeVersionObject {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn method(&self, name: &str) -> Option<Function> {
        let value = match name {
            "String" => self.0.kube_version_normalized.clone(),
            "GitVersion" => self.0.kube_version.clone(),
            _ => return None,
        };
        Some(Function::local(&[], None, move |_, _| {
            Ok(Value::string(value.as_str()))
        }))
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(Value::string(match name {
            "Version" => self.0.kube_version.as_str(),
            "Major" => self.0.kube_major.as_str(),
            "Minor" => self.0.kube_minor.as_str(),
            _ => return None,
        }))
    }
    fn display(&self) -> Option<String> {
        Some(self.0.kube_version_normalized.clone())
    }
    fn fields(&self) -> Vec<(String, Value)> {
        ["Version", "Major", "Minor"]
            .iter()
            .filter_map(|n| Some((n.to_string(), self.field(n)?)))
            .collect()
    }
}

struct VersionSetObject(Rc<List>);

impl HostObject for VersionSetObject {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn method(&self, name: &str) -> Option<Function> {
        let list = self.0.clone();
        (name == "Has").then(|| {
            Function::local(&[Param::String], None, move |_, args| {
                let wanted = args[0].as_str().unwrap_or_default();
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

struct BuildInfoObject(Rc<Capabilities>);

impl HostObject for BuildInfoObject {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let c = &self.0;
        Some(Value::string(match name {
            "Version" => c.helm_version.as_str(),
            "GitCommit" => c.helm_git_commit.as_str(),
            "GitTreeState" => c.helm_git_tree_state.as_str(),
            "GoVersion" => c.go_version.as_str(),
            "KubeClientVersion" => c.kube_client_version.as_str(),
            _ => return None,
        }))
    }
    fn display(&self) -> Option<String> {
        let c = &self.0;
        Some(format!(
            "{{{} {} {} {} {}}}",
            c.helm_version,
            c.helm_git_commit,
            c.helm_git_tree_state,
            c.go_version,
            c.kube_client_version
        ))
    }
    fn fields(&self) -> Vec<(String, Value)> {
        // The JSON names of its tags, as toYaml/toJson print them.
        let c = &self.0;
        let mut out = Vec::new();
        for (key, value) in [
            ("version", &c.helm_version),
            ("git_commit", &c.helm_git_commit),
            ("git_tree_state", &c.helm_git_tree_state),
            ("go_version", &c.go_version),
        ] {
            if !value.is_empty() {
                out.push((key.to_string(), Value::string(value.as_str())));
            }
        }
        out.push((
            "kube_client_version".into(),
            Value::string(c.kube_client_version.as_str()),
        ));
        out
    }
}
