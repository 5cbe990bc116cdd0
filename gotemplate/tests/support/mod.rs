//! Shared by the differential tests: the case format the Go oracle reads, typed JSON data, and
//! running a case through eddy-gotemplate.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use eddy_gotemplate::{FuncMap, IntKind, MissingKey, TemplateSet, UintKind, Value};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub output: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub failed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub templates: Vec<(String, String)>,
    pub entry: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub missingkey: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub funcs: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Outcome>,
    /// Outputs that vary between runs (random, time): only the shape is compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<String>,
}

/// Typed JSON: plain numbers are float64, `{"$int": 3}` and friends are Go-typed numbers.
pub fn typed_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next().unwrap();
            if let (Some(kind), serde_json::Value::Number(n)) = (key.strip_prefix('$'), inner) {
                return typed_number(kind, n);
            }
            Value::map(
                map.iter()
                    .map(|(k, v)| (k.clone(), typed_value(v)))
                    .collect(),
            )
        }
        serde_json::Value::Object(map) => Value::map(
            map.iter()
                .map(|(k, v)| (k.clone(), typed_value(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
        serde_json::Value::Array(items) => Value::list(items.iter().map(typed_value).collect()),
        other => Value::from_json(other),
    }
}

fn typed_number(kind: &str, n: &serde_json::Number) -> Value {
    let int = || n.as_i64().unwrap();
    let uint = || n.as_u64().unwrap();
    match kind {
        "int" => Value::Int(int(), IntKind::Int),
        "int64" => Value::Int(int(), IntKind::Int64),
        "int32" => Value::Int(int(), IntKind::Int32),
        "int8" => Value::Int(int(), IntKind::Int8),
        "uint" => Value::Uint(uint(), UintKind::Uint),
        "uint64" => Value::Uint(uint(), UintKind::Uint64),
        "uint8" => Value::Uint(uint(), UintKind::Uint8),
        "float32" => Value::Float(n.as_f64().unwrap() as f32 as f64, true),
        "float64" => Value::float(n.as_f64().unwrap()),
        other => panic!("unknown typed number ${other}"),
    }
}

pub fn funcs_for(case: &Case) -> FuncMap {
    match case.funcs.as_str() {
        "" | "helm" => FuncMap::helm(),
        "sprig" => FuncMap::sprig(),
        "builtins" => FuncMap::go_builtins(),
        other => panic!("unknown function map {other}"),
    }
}

/// Runs a case the way the oracle does: templates parsed into a set named `gotpl`.
pub fn run_case(case: &Case) -> Outcome {
    let missing = match case.missingkey.as_str() {
        "zero" => MissingKey::Zero,
        "error" => MissingKey::Error,
        _ => MissingKey::Default,
    };
    let mut set = TemplateSet::new("gotpl", funcs_for(case)).with_missing_key(missing);
    for (name, text) in &case.templates {
        if let Err(e) = set.parse(name, text) {
            return Outcome {
                output: String::new(),
                error: Some(e.to_string()),
                failed: true,
            };
        }
    }
    let data = case.data.as_ref().map(typed_value).unwrap_or(Value::Nil);
    let mut out = String::new();
    match set.execute_into(&case.entry, data, &mut out) {
        Ok(()) => Outcome {
            output: out,
            error: None,
            failed: false,
        },
        Err(e) => Outcome {
            output: out,
            error: Some(e.to_string()),
            failed: true,
        },
    }
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn load_cases(file: &str) -> Vec<Case> {
    let path = data_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares one outcome with the expected one; a shape-only case matches its regex.
pub fn mismatch(case: &Case, got: &Outcome, expected: &Outcome) -> Option<String> {
    if let Some(shape) = &case.shape {
        let re = regex::Regex::new(shape).unwrap();
        if got.failed || !re.is_match(&got.output) {
            return Some(format!(
                "{}: output {:?} does not match shape {shape}",
                case.name, got
            ));
        }
        return None;
    }
    if got == expected {
        return None;
    }
    Some(format!(
        "case {:?} templates {:?}\n  data:     {}\n  expected: {:?}\n  got:      {:?}",
        case.name,
        case.templates,
        case.data
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_default(),
        expected,
        got
    ))
}

/// The oracle binary, built from `gotemplate/oracle` into `~/.cache/eddy/gotemplate-oracle/`
/// when Go is available. `None` when it cannot be had (the reason is printed).
pub fn oracle() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("EDDY_GOTEMPLATE_ORACLE") {
        return Some(PathBuf::from(path));
    }
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle");
    let mut sources = std::fs::read(module.join("go.sum")).ok()?;
    for file in ["go.mod", "main.go", "exectests.go"] {
        sources.extend(std::fs::read(module.join(file)).ok()?);
    }
    let key = fnv(&sources);
    let home = std::env::var("HOME").ok()?;
    let dir = Path::new(&home).join(format!(".cache/eddy/gotemplate-oracle/{key:016x}"));
    let binary = dir.join("oracle");
    // Test threads of one process build it once; other test processes use their own temporary
    // name and the atomic rename decides.
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = BUILD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if binary.exists() {
        return Some(binary);
    }
    std::fs::create_dir_all(&dir).ok()?;
    let temporary = dir.join(format!("oracle.partial.{}", std::process::id()));
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&temporary)
        .arg(".")
        .current_dir(&module)
        .stdout(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => {
            std::fs::rename(&temporary, &binary).ok()?;
            Some(binary)
        }
        other => {
            eprintln!("gotemplate oracle could not be built ({other:?}); live comparison not run");
            None
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Runs cases through the oracle.
pub fn run_oracle(binary: &Path, cases: &[Case]) -> Vec<Outcome> {
    use std::io::Write;
    let mut child = Command::new(binary)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("oracle starts");
    let input = serde_json::to_vec(cases).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut outcome: Outcome = serde_json::from_str(line).unwrap();
            if outcome.error.as_deref() == Some("") {
                outcome.error = None;
            }
            outcome
        })
        .collect()
}
