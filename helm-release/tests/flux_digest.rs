//! The digest Flux's helm-controller would record for a release, checked against a value
//! computed once by Go: Helm v4's own `release.v1` types decoded the fixture, an observation
//! struct with Flux's field names and tags was filled from it (test hooks left out) and Go's
//! `json.Encoder` wrote it into SHA-256. The fixture is a record helm v4.2.2 wrote, plus a test
//! hook, another hook, a time in +05:30, floats (1.5, 1e21, 1.5e-7) and a dependency.
#![allow(clippy::unwrap_used)] // a test: a failure is a failed test

use eddy_helm_release::{Release, digest, to_go_json};

const GO_DIGEST: &str = "sha256:66921a7922f63ce8c608e04be7dba44cefa859f4bb2a317048bc1c236944dfc9";

fn fixture() -> Release {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/release-v4.json"
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn digest_matches_flux_computed_by_go() {
    assert_eq!(digest(&fixture()), GO_DIGEST);
}

#[test]
fn a_test_hook_run_does_not_change_it_but_a_status_does() {
    let mut release = fixture();
    let test_hook = release
        .hooks
        .iter_mut()
        .find(|h| h.is_for_event("test"))
        .unwrap();
    test_hook.last_run.phase = "Failed".into();
    assert_eq!(digest(&release), GO_DIGEST);
    release.info.status = eddy_helm_release::Status::Superseded;
    assert_ne!(digest(&release), GO_DIGEST);
}

#[test]
fn the_fixture_re_encodes_to_its_own_values() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/release-v4.json"
    ))
    .unwrap();
    let ours: serde_json::Value = serde_json::from_slice(&to_go_json(&fixture()).unwrap()).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ours, theirs);
}
