//! Chart loading: directories and archives, `.helmignore`, subcharts, size caps, paths that
//! try to leave the chart, `Chart.yaml` v1/v2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;

use eddy_helm::{Error, LoadLimits, load, load_archive, load_dir};

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A gzipped tar with the given members, names written raw (so `..` can be tested).
fn tgz(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        let raw = &mut header.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

const CHART_V2: &str = "apiVersion: v2\nname: app\nversion: 1.2.3\nappVersion: 1.10\n";

#[test]
fn directory_with_helmignore_partials_crds_and_subcharts() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("Chart.yaml", CHART_V2),
            (".helmignore", "*.bak\nci/\n"),
            ("values.yaml", "a: 1\n"),
            ("templates/_helpers.tpl", "{{ define \"x\" }}x{{ end }}"),
            ("templates/cm.yaml", "kind: ConfigMap\n"),
            ("templates/.hidden.yaml", "ignored by Helm's default rule"),
            ("templates/old.yaml.bak", "ignored"),
            ("ci/test-values.yaml", "ignored"),
            ("crds/crd.yaml", "kind: CustomResourceDefinition\n"),
            ("files/conf.txt", "hello\n"),
            (
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            ),
            ("charts/sub/templates/s.yaml", "kind: Service\n"),
            ("charts/_skipped/Chart.yaml", "not a chart"),
        ],
    );
    let chart = load_dir(dir.path(), LoadLimits::default()).unwrap();
    assert_eq!(chart.name(), "app");
    // sigs.k8s.io/yaml keeps the text of a number decoded into a string field.
    assert_eq!(chart.metadata.app_version, "1.10");
    let templates: Vec<&str> = chart.templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(templates, ["templates/_helpers.tpl", "templates/cm.yaml"]);
    let files: Vec<&str> = chart.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(files, [".helmignore", "crds/crd.yaml", "files/conf.txt"]);
    assert_eq!(chart.dependencies.len(), 1);
    assert_eq!(chart.dependencies[0].name(), "sub");
    assert_eq!(chart.crd_files("app")[0].0, "app/crds/crd.yaml");
}

#[test]
fn archive_and_archived_subchart() {
    let sub = tgz(&[
        (
            "sub/Chart.yaml",
            b"apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        ("sub/templates/s.yaml", b"kind: Service\n"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("Chart.yaml", CHART_V2)]);
    std::fs::create_dir_all(dir.path().join("charts")).unwrap();
    std::fs::write(dir.path().join("charts/sub-0.1.0.tgz"), &sub).unwrap();
    let chart = load(dir.path(), LoadLimits::default()).unwrap();
    assert_eq!(chart.dependencies[0].name(), "sub");
    assert_eq!(chart.dependencies[0].templates[0].name, "templates/s.yaml");

    let archive = dir.path().join("sub.tgz");
    std::fs::write(&archive, &sub).unwrap();
    assert_eq!(load(&archive, LoadLimits::default()).unwrap().name(), "sub");
}

#[test]
fn archive_members_outside_the_chart_are_refused() {
    for name in ["app/../../etc/passwd", "/abs/Chart.yaml", "Chart.yaml"] {
        let data = tgz(&[
            ("app/Chart.yaml", CHART_V2.as_bytes()),
            (name, b"x".as_slice()),
        ]);
        let err = load_archive(&data, LoadLimits::default()).unwrap_err();
        assert!(matches!(err, Error::Archive(_)), "{name}: {err}");
    }
}

#[test]
fn size_caps() {
    let limits = LoadLimits {
        max_chart_bytes: 300,
        max_file_bytes: 100,
    };
    let big = "x".repeat(150);
    let data = tgz(&[
        ("app/Chart.yaml", CHART_V2.as_bytes()),
        ("app/big.txt", big.as_bytes()),
    ]);
    assert!(matches!(
        load_archive(&data, limits).unwrap_err(),
        Error::FileTooLarge { .. }
    ));
    let data = tgz(&[
        ("app/Chart.yaml", CHART_V2.as_bytes()),
        ("app/a.txt", &[b'a'; 90]),
        ("app/b.txt", &[b'b'; 90]),
        ("app/c.txt", &[b'c'; 90]),
    ]);
    assert!(matches!(
        load_archive(&data, limits).unwrap_err(),
        Error::ChartTooLarge { .. }
    ));
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("Chart.yaml", CHART_V2), ("big.txt", &big)]);
    assert!(matches!(
        load_dir(dir.path(), limits).unwrap_err(),
        Error::FileTooLarge { .. }
    ));
}

#[cfg(unix)]
#[test]
fn symlinks_leaving_the_chart_directory_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "s").unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("Chart.yaml", CHART_V2), ("real.txt", "r")]);
    std::os::unix::fs::symlink(dir.path().join("real.txt"), dir.path().join("inside.txt")).unwrap();
    assert_eq!(
        load_dir(dir.path(), LoadLimits::default())
            .unwrap()
            .files
            .len(),
        2
    );
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("sub/loop")).unwrap();
    assert!(matches!(
        load_dir(dir.path(), LoadLimits::default()).unwrap_err(),
        Error::LinkCycle { .. }
    ));
    std::fs::remove_file(dir.path().join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("leak")).unwrap();
    assert!(matches!(
        load_dir(dir.path(), LoadLimits::default()).unwrap_err(),
        Error::LinkEscapes { .. }
    ));
}

#[test]
fn chart_yaml_v1_with_requirements_and_validation() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "Chart.yaml",
                "name: old\nversion: 0.1.0\nAppVersion: \"2\"\n",
            ),
            (
                "requirements.yaml",
                "dependencies:\n- name: db\n  version: 1.x\n  condition: db.enabled\n",
            ),
        ],
    );
    let chart = load_dir(dir.path(), LoadLimits::default()).unwrap();
    assert_eq!(chart.metadata.api_version, "v1");
    // Keys match fields case-insensitively, as with Go's encoding/json.
    assert_eq!(chart.metadata.app_version, "2");
    assert_eq!(chart.metadata.dependencies[0].condition, "db.enabled");
    // A v1 chart's requirements file stays visible to `.Files`.
    assert_eq!(chart.files[0].name, "requirements.yaml");

    let bad = tempfile::tempdir().unwrap();
    write_tree(
        bad.path(),
        &[("Chart.yaml", "apiVersion: v2\nname: x\nversion: one\n")],
    );
    let err = load_dir(bad.path(), LoadLimits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "validation: chart.metadata.version \"one\" is invalid"
    );
    let none = tempfile::tempdir().unwrap();
    write_tree(none.path(), &[("values.yaml", "a: 1\n")]);
    assert!(matches!(
        load_dir(none.path(), LoadLimits::default()).unwrap_err(),
        Error::MissingChartYaml
    ));
}
