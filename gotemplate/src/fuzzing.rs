//! Entry points for the fuzz target (`gotemplate/fuzz`) and for the tests that replay the crashes
//! it found (`tests/fuzz_crashes/`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::{FuncMap, Limits, MissingKey, TemplateSet, Value};

/// Splits `data` at NUL bytes into templates named `t0`, `t1`, …, parses them into one Helm-style
/// set and executes `t0` with a small chart-like value under tight limits.
pub fn parse_and_execute(data: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(data);
    let limits = Limits {
        max_depth: 200,
        max_include_depth: 50,
        max_output_bytes: 1 << 20,
        timeout: Some(Duration::from_secs(2)),
    };
    let mut set = TemplateSet::new("gotpl", FuncMap::helm())
        .with_missing_key(MissingKey::Zero)
        .with_limits(limits);
    for (i, part) in text.split('\0').take(8).enumerate() {
        set.parse(&format!("t{i}"), part)
            .map_err(|e| e.to_string())?;
    }
    set.execute("t0", sample_values())
        .map_err(|e| e.to_string())
}

fn sample_values() -> Value {
    let mut labels = BTreeMap::new();
    labels.insert("app".to_string(), Value::string("web"));
    labels.insert("tier".to_string(), Value::Nil);
    let mut values = BTreeMap::new();
    values.insert("name".to_string(), Value::string("release"));
    values.insert("replicas".to_string(), Value::float(3.0));
    values.insert("big".to_string(), Value::float(1e6));
    values.insert("port".to_string(), Value::int(8080));
    values.insert("enabled".to_string(), Value::Bool(true));
    values.insert("labels".to_string(), Value::map(labels));
    values.insert(
        "list".to_string(),
        Value::list(vec![Value::float(1.0), Value::string("two"), Value::Nil]),
    );
    Value::map(values)
}
