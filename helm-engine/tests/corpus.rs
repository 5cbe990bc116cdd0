//! The differential corpus: every value set of every case in `shared/corpus/helm` is rendered
//! as `helm template rel chart --namespace ns --kube-version v1.34.0 --skip-tests [-f …]
//! [--include-crds]` would render it, and stdout is compared byte for byte with what helm v4.3.2
//! printed. A value set that helm refused (`expect: error`) counts as identical when the engine
//! fails too (the wording is not compared).
//!
//! A second test packs every chart as `helm package` would (`.helmignore` applied) and renders
//! its `default` value set from the `.tgz`, against the same expected output.
//!
//! The test prints each differing value set with its first differing line, and fails when
//! fewer value sets are identical than [`IDENTICAL_FLOOR`]. Set `EDDY_HELM_CORPUS_CASE=name`
//! to run one case, `EDDY_HELM_CORPUS_DUMP=dir` to
//! write each rendered output there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use std::io::Write;

use eddy_helm::{
    Chart, IgnoreRules, LoadLimits, Table, TemplateOptions, load_archive, load_dir, merge_maps,
    parse_values,
};
use serde_json::Value as Json;

/// The number of identical value sets reached so far. Raise it when the engine improves; a
/// lower count is a regression.
const IDENTICAL_FLOOR: usize = 123;

fn corpus_dir() -> PathBuf {
    let shared = std::env::var_os("EDDY_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let corpus = shared.join("corpus").join("helm");
    assert!(
        corpus.is_dir(),
        "helm corpus not found at {} (set EDDY_SHARED_DIR to the shared/ directory)",
        corpus.display()
    );
    corpus
}

fn case_names(corpus: &Path) -> Vec<String> {
    let only = std::env::var("EDDY_HELM_CORPUS_CASE").ok();
    let mut names: Vec<String> = std::fs::read_dir(corpus)
        .expect("corpus directory is readable")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("case.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| only.as_ref().is_none_or(|o| o == n))
        .collect();
    names.sort();
    names
}

enum Outcome {
    Identical,
    Differs(String),
}

fn user_values(case: &Path, set: &Json) -> Result<Table, String> {
    let mut values = Table::new();
    for file in set["valuesFiles"].as_array().into_iter().flatten() {
        let path = case.join(file.as_str().unwrap_or_default());
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        values = merge_maps(values, parse_values(&text)?);
    }
    Ok(values)
}

fn from_directory(case: &Path) -> Result<Chart, String> {
    load_dir(&case.join("chart"), LoadLimits::default()).map_err(|e| e.to_string())
}

fn run_value_set(
    case: &Path,
    set: &Json,
    load: &dyn Fn(&Path) -> Result<Chart, String>,
) -> Outcome {
    let expect_error = set["expect"] == "error";
    let flags: Vec<&str> = set["flags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    let mut options = TemplateOptions::new("rel", "ns", "v1.34.0").expect("valid kube version");
    options.include_crds = flags.contains(&"--include-crds");
    let result = user_values(case, set).and_then(|values| {
        eddy_helm::template(load(case)?, &values, &options).map_err(|e| e.to_string())
    });
    match (result, expect_error) {
        (Err(e), true) => {
            report_error_wording(case, set, &e);
            Outcome::Identical
        }
        (Ok(_), true) => Outcome::Differs("rendered, but helm failed".to_string()),
        (Err(e), false) => Outcome::Differs(format!("failed: {}", first_line(&e))),
        (Ok(out), false) => {
            if let Some(dir) = std::env::var_os("EDDY_HELM_CORPUS_DUMP") {
                let name = format!(
                    "{}--{}.yaml",
                    case.file_name().unwrap_or_default().to_string_lossy(),
                    set["name"].as_str().unwrap_or_default()
                );
                std::fs::write(Path::new(&dir).join(name), &out).expect("dump written");
            }
            let stdout = set["stdout"].as_str().unwrap_or_default();
            let expected = std::fs::read_to_string(case.join(stdout)).expect("expected output");
            match first_difference(&expected, &out) {
                None => Outcome::Identical,
                Some(diff) => Outcome::Differs(diff),
            }
        }
    }
}

/// Helm's wording is not part of the comparison, but a different first line is worth seeing.
fn report_error_wording(case: &Path, set: &Json, actual: &str) {
    let Some(stderr) = set["stderr"].as_str() else {
        return;
    };
    let expected = std::fs::read_to_string(case.join(stderr)).unwrap_or_default();
    let expected = expected.strip_prefix("Error: ").unwrap_or(&expected);
    if first_line(expected) != first_line(actual) {
        println!(
            "ERROR WORDING {}/{}: helm {:?}, engine {:?}",
            case.file_name().unwrap_or_default().to_string_lossy(),
            set["name"].as_str().unwrap_or_default(),
            first_line(expected),
            first_line(actual)
        );
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(300).collect()
}

fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let mut expected_lines = expected.split('\n');
    let mut actual_lines = actual.split('\n');
    let mut number = 1;
    loop {
        match (expected_lines.next(), actual_lines.next()) {
            (Some(e), Some(a)) if e == a => number += 1,
            (e, a) => {
                return Some(format!(
                    "line {number}: expected {:?}, got {:?}",
                    e.map(first_line),
                    a.map(first_line)
                ));
            }
        }
    }
}

#[test]
fn helm_corpus_matches_helm_template() {
    let corpus = corpus_dir();
    let mut identical = 0;
    let mut total = 0;
    let mut report = Vec::new();
    for name in case_names(&corpus) {
        let case = corpus.join(&name);
        let text = std::fs::read_to_string(case.join("case.json")).expect("case.json");
        let description: Json = serde_json::from_str(&text).expect("case.json parses");
        for set in description["valueSets"].as_array().into_iter().flatten() {
            total += 1;
            let set_name = set["name"].as_str().unwrap_or_default();
            match run_value_set(&case, set, &from_directory) {
                Outcome::Identical => identical += 1,
                Outcome::Differs(detail) => report.push(format!("{name}/{set_name}: {detail}")),
            }
        }
    }
    for line in &report {
        println!("DIFF {line}");
    }
    println!("helm corpus: {identical} of {total} value sets identical");
    if std::env::var_os("EDDY_HELM_CORPUS_CASE").is_some() {
        return;
    }
    assert!(
        identical >= IDENTICAL_FLOOR,
        "only {identical} value sets identical, the floor is {IDENTICAL_FLOOR}"
    );
}

/// Packs a chart directory as `helm package` would (`.helmignore` applied, one top-level
/// directory named after the chart) into an in-memory `.tgz`.
fn pack(chart_dir: &Path, top: &str) -> Vec<u8> {
    let rules = std::fs::read_to_string(chart_dir.join(".helmignore"))
        .map(|text| IgnoreRules::parse(&text).expect("valid .helmignore"))
        .unwrap_or_else(|_| IgnoreRules::defaults());
    let mut builder = tar::Builder::new(Vec::new());
    let mut pending = vec![(chart_dir.to_path_buf(), String::new())];
    while let Some((dir, relative)) = pending.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let meta = std::fs::metadata(entry.path()).unwrap();
            if rules.ignores(&rel, meta.is_dir()) {
                continue;
            }
            if meta.is_dir() {
                pending.push((entry.path(), rel));
            } else {
                let data = std::fs::read(entry.path()).unwrap();
                let mut header = tar::Header::new_gnu();
                header.set_size(data.len() as u64);
                header.set_mode(0o644);
                header.set_cksum();
                builder
                    .append_data(&mut header, format!("{top}/{rel}"), data.as_slice())
                    .unwrap();
            }
        }
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// The `default` value sets identical when each chart is first packaged as a `.tgz` (all but
/// `kube-prometheus-stack`, whose vendored subcharts are missing from the shared corpus).
const ARCHIVE_IDENTICAL_FLOOR: usize = 57;

/// Every `default` value set rendered from the chart packaged as `helm package` would.
#[test]
fn helm_corpus_from_archives() {
    let corpus = corpus_dir();
    let mut identical = 0;
    for name in case_names(&corpus) {
        let case = corpus.join(&name);
        let text = std::fs::read_to_string(case.join("case.json")).expect("case.json");
        let description: Json = serde_json::from_str(&text).expect("case.json parses");
        let Some(set) = description["valueSets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == "default")
        else {
            continue;
        };
        let from_archive = |case: &Path| {
            let archive = pack(&case.join("chart"), &name);
            load_archive(&archive, LoadLimits::default()).map_err(|e| e.to_string())
        };
        match run_value_set(&case, set, &from_archive) {
            Outcome::Identical => identical += 1,
            Outcome::Differs(detail) => println!("ARCHIVE DIFF {name}/default: {detail}"),
        }
    }
    println!("helm corpus from archives: {identical} default value sets identical");
    if std::env::var_os("EDDY_HELM_CORPUS_CASE").is_some() {
        return;
    }
    assert!(
        identical >= ARCHIVE_IDENTICAL_FLOOR,
        "only {identical} default value sets identical from archives, the floor is {ARCHIVE_IDENTICAL_FLOOR}"
    );
}
