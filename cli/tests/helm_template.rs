//! `eddy helm template` against the real `helm template` (v4.3.2, the corpus oracle) on corpus
//! charts: the same arguments in the same directory, stdout compared byte for byte, the exit
//! status and the first line of stderr too.

// Test helpers may unwrap: a failure should stop the test right there, loudly.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn corpus() -> PathBuf {
    let shared = std::env::var_os("EDDY_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let corpus = shared.join("corpus/helm");
    assert!(
        corpus.is_dir(),
        "helm corpus not found at {}",
        corpus.display()
    );
    corpus
}

/// Runs `program args…` in `dir` with no kubeconfig and a private Helm home, so neither tool
/// sees a cluster or the user's settings.
fn run(program: &Path, dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(program)
        .current_dir(dir)
        .args(args)
        .env("KUBECONFIG", home.path().join("no-kubeconfig"))
        .env_remove("HELM_NAMESPACE")
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn eddy() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_eddy"))
}

fn helm() -> PathBuf {
    eddy_test_support::helm::oracle_binary().unwrap()
}

/// The `Error: …` line, skipping Helm's `level=…` log lines.
fn error_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or_default()
        .to_string()
}

/// Compares one invocation; returns a description of the difference, if any.
fn compare(dir: &Path, args: &[&str], stdin: Option<&str>) -> Option<String> {
    let theirs = run(&helm(), dir, &[&["template"], args].concat(), stdin);
    let ours = run(&eddy(), dir, &[&["helm", "template"], args].concat(), stdin);
    let label = format!("{} {}", dir.display(), args.join(" "));
    if theirs.status.code() != ours.status.code() {
        return Some(format!(
            "{label}: helm exited {:?}, eddy {:?}; eddy said {}",
            theirs.status.code(),
            ours.status.code(),
            String::from_utf8_lossy(&ours.stderr)
        ));
    }
    if theirs.stdout != ours.stdout {
        let (h, e) = (
            String::from_utf8_lossy(&theirs.stdout),
            String::from_utf8_lossy(&ours.stdout),
        );
        let line = h.lines().zip(e.lines()).position(|(a, b)| a != b);
        return Some(format!(
            "{label}: stdout differs (first at line {line:?}; {} vs {} bytes)",
            h.len(),
            e.len()
        ));
    }
    let (h, e) = (error_line(&theirs.stderr), error_line(&ours.stderr));
    if h != e {
        return Some(format!("{label}: stderr differs:\n  helm {h}\n  eddy {e}"));
    }
    None
}

fn assert_all_agree(runs: &[(&str, Vec<&str>)]) {
    let corpus = corpus();
    let differences: Vec<String> = runs
        .iter()
        .filter_map(|(case, args)| compare(&corpus.join(case), args, None))
        .collect();
    assert!(
        differences.is_empty(),
        "{} of {} invocations differ from helm template:\n{}",
        differences.len(),
        runs.len(),
        differences.join("\n")
    );
}

const PINNED: [&str; 6] = [
    "--namespace",
    "ns",
    "--kube-version",
    "v1.34.0",
    "rel",
    "chart",
];

#[test]
fn corpus_charts_with_the_oracle_flags_match_helm() {
    let mut runs = Vec::new();
    for case in [
        "alertmanager",
        "prometheus-node-exporter",
        "kube-state-metrics",
        "velero",
        "hooks-and-notes",
        "tpl-and-files",
        "capabilities-probe",
    ] {
        runs.push((case, [&PINNED[..], &["--skip-tests"]].concat()));
    }
    runs.push((
        "bitnami-postgresql",
        [&PINNED[..], &["-f", "values/fixed.yaml"]].concat(),
    ));
    assert_all_agree(&runs);
}

#[test]
fn defaults_without_name_namespace_or_kube_version_match_helm() {
    assert_all_agree(&[
        ("hooks-and-notes", vec!["chart"]),
        ("capabilities-probe", vec!["chart"]),
        ("prometheus-pushgateway", vec!["chart"]),
        ("tpl-and-files", vec!["my-release", "chart", "-n", "other"]),
    ]);
}

#[test]
fn hooks_tests_crds_and_upgrade_flags_match_helm() {
    assert_all_agree(&[
        ("hooks-and-notes", vec!["rel", "chart", "--no-hooks"]),
        (
            "hooks-and-notes",
            vec!["rel", "chart", "--is-upgrade", "--skip-tests"],
        ),
        (
            "hooks-and-notes",
            vec!["rel", "chart", "--is-upgrade=false", "--no-hooks=false"],
        ),
        (
            "velero",
            vec!["rel", "chart", "--include-crds", "--skip-crds"],
        ),
        ("velero", vec!["rel", "chart", "--skip-crds", "--no-hooks"]),
        (
            "sealed-secrets",
            vec!["rel", "chart", "--include-crds", "--is-upgrade"],
        ),
        ("alertmanager", vec!["rel", "chart"]),
        (
            "prometheus-node-exporter",
            vec!["rel", "chart", "--no-hooks", "--skip-tests"],
        ),
    ]);
}

#[test]
fn capabilities_flags_match_helm() {
    assert_all_agree(&[
        (
            "capabilities-probe",
            vec!["rel", "chart", "--kube-version", "1.29.3"],
        ),
        (
            "capabilities-probe",
            vec![
                "rel",
                "chart",
                "-a",
                "example.com/v1",
                "--api-versions",
                "a/v1,b/v2",
            ],
        ),
        (
            "capabilities-probe",
            vec!["rel", "chart", "--kube-version", "nope"],
        ),
        (
            "prometheus",
            vec!["rel", "chart", "--api-versions", "monitoring.coreos.com/v1"],
        ),
        (
            "kube-state-metrics",
            vec![
                "rel",
                "chart",
                "-a",
                "monitoring.coreos.com/v1",
                "--kube-version",
                "v1.25.0",
            ],
        ),
    ]);
}

#[test]
fn show_only_matches_helm() {
    assert_all_agree(&[
        (
            "hooks-and-notes",
            vec!["rel", "chart", "-s", "templates/configmap.yaml"],
        ),
        (
            "hooks-and-notes",
            vec!["rel", "chart", "--show-only", "templates/*"],
        ),
        (
            "alertmanager",
            vec![
                "rel",
                "chart",
                "-s",
                "templates/service*.yaml",
                "-s",
                "templates/statefulset.yaml",
            ],
        ),
        (
            "velero",
            vec!["rel", "chart", "--include-crds", "-s", "crds/*"],
        ),
        (
            "loki-stack",
            vec!["rel", "chart", "-s", "charts/loki/templates/service.yaml"],
        ),
        (
            "hooks-and-notes",
            vec!["rel", "chart", "-s", "templates/nope.yaml"],
        ),
    ]);
}

#[test]
fn set_flags_and_value_files_match_helm() {
    assert_all_agree(&[
        (
            "alertmanager",
            vec![
                "rel",
                "chart",
                "--set",
                "replicaCount=3,service.port=1234",
                "--set",
                "podLabels.a=b",
            ],
        ),
        (
            "alertmanager",
            vec![
                "rel",
                "chart",
                "--set-string",
                "replicaCount=3",
                "--set",
                "podAnnotations.x=true",
            ],
        ),
        (
            "alertmanager",
            vec![
                "rel",
                "chart",
                "--set-json",
                "podLabels={\"team\":\"a\",\"n\":1}",
                "--set-json",
                "{\"replicaCount\":2}",
            ],
        ),
        (
            "alertmanager",
            vec![
                "rel",
                "chart",
                "--set",
                "service.port=notanumber",
                "--set-string",
                "image.tag=1.0",
            ],
        ),
        (
            "alertmanager",
            vec![
                "rel",
                "chart",
                "-f",
                "values/ci-ingress-labels-values.yaml,values/ci-config-reload-values.yaml",
            ],
        ),
        ("alertmanager", vec!["rel", "chart", "-f", "missing.yaml"]),
        ("alertmanager", vec!["rel", "chart", "--set", "a[=b"]),
        ("error-required-value", vec!["rel", "chart"]),
        (
            "error-required-value",
            vec!["rel", "chart", "--set", "database.host=db"],
        ),
        ("error-schema", vec!["rel", "chart", "--set", "image.tag=x"]),
        (
            "error-schema",
            vec!["rel", "chart", "--skip-schema-validation"],
        ),
        ("error-fail", vec!["rel", "chart"]),
        ("bitnami-common", vec!["rel", "chart"]),
        ("library-chart-direct", vec!["rel", "chart"]),
        ("hooks-and-notes", vec!["Bad_Name", "chart"]),
        ("hooks-and-notes", vec!["rel", "chart", "extra"]),
        ("hooks-and-notes", vec!["rel", "no-such-dir"]),
    ]);
}

#[test]
fn values_from_stdin_match_helm() {
    let dir = corpus().join("hooks-and-notes");
    let stdin = "message: from stdin\nmigrations:\n  enabled: false\n";
    let difference = compare(&dir, &["rel", "chart", "-f", "-"], Some(stdin));
    assert!(difference.is_none(), "{difference:?}");
}

#[test]
fn packaged_charts_match_helm() {
    let corpus = corpus();
    let scratch = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for case in ["prometheus-node-exporter", "hooks-and-notes", "loki-stack"] {
        let out = run(
            &helm(),
            &corpus.join(case),
            &["package", "chart", "-d", scratch.path().to_str().unwrap()],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        runs.push(case);
    }
    let mut packages: Vec<String> = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    packages.sort();
    assert_eq!(packages.len(), runs.len());
    for package in &packages {
        for flags in [
            vec!["rel", package.as_str()],
            vec!["rel", package.as_str(), "--include-crds", "--skip-tests"],
        ] {
            let difference = compare(scratch.path(), &flags, None);
            assert!(difference.is_none(), "{difference:?}");
        }
    }
}

#[test]
fn flags_helm_has_but_eddy_does_not_are_refused_by_name() {
    let dir = corpus().join("hooks-and-notes");
    for args in [
        vec!["rel", "chart", "--output-dir", "out"],
        vec!["rel", "chart", "--post-renderer", "kustomize"],
        vec!["rel", "chart", "--set-file", "a=b.txt"],
        vec!["chart", "--generate-name"],
        vec!["chart", "-g"],
        vec!["rel", "chart", "--dry-run=server"],
        vec!["rel", "chart", "--version", "1.0.0"],
    ] {
        let out = run(
            &eddy(),
            &dir,
            &[&["helm", "template"], &args[..]].concat(),
            None,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed output");
        assert!(
            stderr.starts_with("Error: flag --") && stderr.contains("is not supported yet"),
            "{args:?}: {stderr}"
        );
    }
    // A flag neither knows: Helm's exit status, clap's wording.
    let out = run(
        &eddy(),
        &dir,
        &["helm", "template", "rel", "chart", "--bogus"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
}
