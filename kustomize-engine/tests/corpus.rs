//! The differential corpus: every case of `shared/corpus/kustomize` is built with RootOnly load
//! restrictions (kubectl's default) and compared with what `kubectl kustomize` (v5.5.0) printed.
//!
//! The test is a ratchet: the number of byte-identical cases must not drop below the count recorded in
//! `tests/corpus-baseline.txt`, and every case listed there must still pass. Run with
//! `EDDY_UPDATE_BASELINE=1` to rewrite the baseline after an improvement.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use eddy_kustomize::{BuildOptions, LoadRestrictions, Reorder, yaml};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    IdenticalBytes,
    IdenticalData,
    Mismatched,
    ErroredAsExpected,
    ShouldHaveFailed,
    UnexpectedError,
}

struct CaseResult {
    name: String,
    outcome: Outcome,
    detail: String,
}

fn baseline_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-baseline.txt")
}

fn run_case(case_dir: &Path) -> (Outcome, String) {
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case_dir.join("case.json")).unwrap())
            .unwrap();
    let target = case["target"].as_str().unwrap_or(".");
    let expect_error = case["expect"].as_str() == Some("error");
    let dir = case_dir.join("input").join(target);
    // Extra cases may ask for Flux's mode (kubectl --reorder none --load-restrictor None).
    // Every case builds confined to its own input tree, as the controllers build an artifact.
    let mut options = BuildOptions::new(&case_dir.join("input")).unwrap();
    if case["loadRestrictor"].as_str() == Some("none") {
        options.load_restrictions = LoadRestrictions::None;
    }
    if case["reorder"].as_str() == Some("none") {
        options.reorder = Reorder::None;
    }
    let result = std::panic::catch_unwind(|| eddy_kustomize::build(&dir, &options));
    let result = match result {
        Ok(result) => result,
        Err(_) => return (Outcome::UnexpectedError, "PANIC".to_string()),
    };
    match (expect_error, result) {
        (true, Err(_)) => (Outcome::ErroredAsExpected, String::new()),
        (true, Ok(_)) => (Outcome::ShouldHaveFailed, "built without error".to_string()),
        (false, Err(error)) => (Outcome::UnexpectedError, error.to_string()),
        (false, Ok(actual)) => {
            let expected = std::fs::read_to_string(case_dir.join("expected.yaml")).unwrap();
            if actual == expected {
                return (Outcome::IdenticalBytes, String::new());
            }
            let parsed_actual = yaml::parse_documents(&actual);
            let parsed_expected = yaml::parse_documents(&expected);
            let strip = |docs: Vec<yaml::Value>| -> Vec<yaml::Value> {
                docs.into_iter().filter(|d| !d.is_null()).collect()
            };
            match (parsed_actual, parsed_expected) {
                (Ok(a), Ok(e)) if strip(a.clone()) == strip(e.clone()) => (
                    Outcome::IdenticalData,
                    "same data, different bytes".to_string(),
                ),
                _ => (Outcome::Mismatched, first_difference(&actual, &expected)),
            }
        }
    }
}

fn first_difference(actual: &str, expected: &str) -> String {
    let mut actual_lines = actual.lines();
    let mut expected_lines = expected.lines();
    let mut line = 1;
    loop {
        match (actual_lines.next(), expected_lines.next()) {
            (Some(a), Some(e)) if a == e => line += 1,
            (None, None) => return "differs only in trailing newlines".to_string(),
            (a, e) => {
                return format!(
                    "line {line}: got {:?}, expected {:?}",
                    a.unwrap_or("<end>"),
                    e.unwrap_or("<end>")
                );
            }
        }
    }
}

/// Eddy's own cases (`tests/extra`, recorded with kubectl by `tests/extra/record.sh`): features the
/// shared corpus does not cover (components, replacements, generators, selectors, error paths). All
/// of them must pass.
#[test]
fn extra_cases_match_kubectl() {
    let extra = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/extra");
    let names = common::case_names(&extra);
    assert!(
        names.len() >= 10,
        "extra cases missing in {}",
        extra.display()
    );
    let mut failures = Vec::new();
    for name in &names {
        let (outcome, detail) = run_case(&extra.join(name));
        if !matches!(
            outcome,
            Outcome::IdenticalBytes | Outcome::ErroredAsExpected
        ) {
            failures.push(format!("{name}: {outcome:?} {detail}"));
        }
    }
    assert!(
        failures.is_empty(),
        "extra cases failing:\n{}",
        failures.join("\n")
    );
}

#[test]
fn kustomize_corpus_matches_kubectl() {
    let corpus = common::corpus_dir();
    let names = common::case_names(&corpus);
    assert!(!names.is_empty(), "no cases in {}", corpus.display());
    let results: Vec<CaseResult> = names
        .iter()
        .map(|name| {
            let (outcome, detail) = run_case(&corpus.join(name));
            CaseResult {
                name: name.clone(),
                outcome,
                detail,
            }
        })
        .collect();

    let count = |outcome: Outcome| results.iter().filter(|r| r.outcome == outcome).count();
    for result in &results {
        if !matches!(
            result.outcome,
            Outcome::IdenticalBytes | Outcome::ErroredAsExpected
        ) {
            println!("{:?} {}: {}", result.outcome, result.name, result.detail);
        }
    }
    let identical = count(Outcome::IdenticalBytes);
    println!(
        "corpus: {} cases; identical bytes {identical}, identical data {}, mismatched {}, \
         error expected and errored {}, should have failed {}, unexpected error {}",
        results.len(),
        count(Outcome::IdenticalData),
        count(Outcome::Mismatched),
        count(Outcome::ErroredAsExpected),
        count(Outcome::ShouldHaveFailed),
        count(Outcome::UnexpectedError),
    );

    let passing: BTreeSet<String> = results
        .iter()
        .filter(|r| {
            matches!(
                r.outcome,
                Outcome::IdenticalBytes | Outcome::ErroredAsExpected
            )
        })
        .map(|r| r.name.clone())
        .collect();
    if std::env::var_os("EDDY_UPDATE_BASELINE").is_some() {
        let mut text = format!(
            "# Corpus ratchet (tests/corpus.rs). Rewrite with EDDY_UPDATE_BASELINE=1.\nidentical-bytes: {identical}\n"
        );
        for name in &passing {
            text.push_str(name);
            text.push('\n');
        }
        std::fs::write(baseline_path(), text).unwrap();
        println!("baseline rewritten: {}", baseline_path().display());
        return;
    }

    let baseline = std::fs::read_to_string(baseline_path()).unwrap_or_default();
    let mut recorded_identical = 0usize;
    let mut regressions = Vec::new();
    for line in baseline.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(number) = line.strip_prefix("identical-bytes:") {
            recorded_identical = number.trim().parse().unwrap();
        } else if !passing.contains(line) {
            regressions.push(line.to_string());
        }
    }
    assert!(
        regressions.is_empty(),
        "cases that passed before and fail now: {regressions:?}"
    );
    assert!(
        identical >= recorded_identical,
        "identical-bytes count dropped: {identical} < baseline {recorded_identical}"
    );
}
