//! Benchmark driver for `cargo xtask bench gotemplate`: reads one case in the Go oracle's format
//! (`{"templates": [[name, text]…], "entry": …, "data": typed JSON, "missingkey": …}`) on stdin,
//! executes it `N` times in this process and prints the mean nanoseconds per execution — the same
//! measurement the oracle's `bench N` mode makes with Go's engine.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Instant;

use eddy_gotemplate::{FuncMap, IntKind, MissingKey, TemplateSet, UintKind, Value};

fn typed(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Object(map) if map.len() == 1 => {
            if let Some((key, serde_json::Value::Number(n))) = map.iter().next()
                && let Some(kind) = key.strip_prefix('$')
            {
                return match kind {
                    "int" => Value::Int(n.as_i64().unwrap_or(0), IntKind::Int),
                    "int64" => Value::Int(n.as_i64().unwrap_or(0), IntKind::Int64),
                    "uint" => Value::Uint(n.as_u64().unwrap_or(0), UintKind::Uint),
                    _ => Value::float(n.as_f64().unwrap_or(0.0)),
                };
            }
            Value::map(map.iter().map(|(k, v)| (k.clone(), typed(v))).collect())
        }
        serde_json::Value::Object(map) => Value::map(
            map.iter()
                .map(|(k, v)| (k.clone(), typed(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
        serde_json::Value::Array(items) => Value::list(items.iter().map(typed).collect()),
        other => Value::from_json(other),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let cases: serde_json::Value = serde_json::from_str(&input)?;
    let case = cases.get(0).ok_or("no case on stdin")?;
    let missing = match case.get("missingkey").and_then(|m| m.as_str()) {
        Some("zero") => MissingKey::Zero,
        Some("error") => MissingKey::Error,
        _ => MissingKey::Default,
    };
    let mut set = TemplateSet::new("gotpl", FuncMap::helm()).with_missing_key(missing);
    for pair in case["templates"].as_array().ok_or("templates")? {
        let name = pair[0].as_str().ok_or("template name")?;
        let text = pair[1].as_str().ok_or("template text")?;
        set.parse(name, text)?;
    }
    let entry = case["entry"].as_str().ok_or("entry")?;
    let data = typed(&case["data"]);
    let mut out = String::new();
    let start = Instant::now();
    for _ in 0..iterations {
        out.clear();
        set.execute_into(entry, data.clone(), &mut out)?;
    }
    let elapsed = start.elapsed();
    println!("{}", elapsed.as_nanos() / u128::from(iterations.max(1)));
    Ok(())
}
