//! The committed differential table: cases whose expected results the Go oracle produced
//! (`gotemplate/oracle/regen.sh` regenerates them); when the oracle can be built, the same cases
//! are also compared live.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Case, load_cases, mismatch, oracle, run_case, run_oracle};

const TABLES: &[&str] = &[
    "semantics.json",
    "fmt.json",
    "sprig.json",
    "sprig_tests.json",
    "helm_funcs_tests.json",
    "to_yaml_pretty.json",
];

fn all_cases() -> Vec<Case> {
    TABLES
        .iter()
        .filter(|f| support::data_dir().join(f).exists())
        .flat_map(|f| load_cases(f))
        .collect()
}

#[test]
fn committed_table_matches_go() {
    let cases = all_cases();
    assert!(cases.len() > 50, "the table has only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let expected = case
            .expected
            .as_ref()
            .expect("every committed case has an expected result");
        let got = run_case(case);
        if let Some(m) = mismatch(case, &got, expected) {
            failures.push(m);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Go:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn committed_table_is_what_the_oracle_says_today() {
    let Some(binary) = oracle() else {
        return;
    };
    let cases = all_cases();
    let live = run_oracle(&binary, &cases);
    let mut stale = Vec::new();
    for (case, live) in cases.iter().zip(&live) {
        if case.shape.is_none() && case.expected.as_ref() != Some(live) {
            stale.push(format!(
                "{}: committed {:?}, oracle {:?}",
                case.name, case.expected, live
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "regenerate the table:\n{}",
        stale.join("\n")
    );
}
