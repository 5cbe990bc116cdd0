//! The public API: load restrictions, the resource list, and error reporting.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use eddy_kustomize::{BuildOptions, Error, LoadRestrictions};

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

const CONFIG_MAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  a: \"1\"\n";

fn options(load_restrictions: LoadRestrictions) -> BuildOptions {
    let mut options = BuildOptions::unconfined();
    options.load_restrictions = load_restrictions;
    options
}

#[test]
fn root_only_refuses_files_outside_the_kustomization_and_none_allows_them() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("shared/cm.yaml"), CONFIG_MAP);
    write(
        &dir.path().join("app/kustomization.yaml"),
        "resources:\n- ../shared/cm.yaml\n",
    );
    let app = dir.path().join("app");

    let error = eddy_kustomize::build(&app, &options(LoadRestrictions::RootOnly)).unwrap_err();
    assert!(matches!(error, Error::OutsideRoot { .. }), "{error}");
    assert!(error.to_string().contains("shared/cm.yaml"), "{error}");

    let output = eddy_kustomize::build(&app, &options(LoadRestrictions::None)).unwrap();
    assert_eq!(
        output,
        "apiVersion: v1\ndata:\n  a: \"1\"\nkind: ConfigMap\nmetadata:\n  name: shared\n"
    );
}

#[test]
fn bases_outside_the_root_are_allowed_under_root_only() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("base/cm.yaml"), CONFIG_MAP);
    write(
        &dir.path().join("base/kustomization.yaml"),
        "resources:\n- cm.yaml\n",
    );
    write(
        &dir.path().join("overlay/kustomization.yaml"),
        "resources:\n- ../base\nnamePrefix: p-\n",
    );
    let output =
        eddy_kustomize::build(&dir.path().join("overlay"), &BuildOptions::unconfined()).unwrap();
    assert!(output.contains("name: p-shared"), "{output}");
}

#[test]
fn build_resources_lists_objects_in_output_order() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("r.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n",
    );
    write(
        &dir.path().join("kustomization.yaml"),
        "resources:\n- r.yaml\nnamespace: team\n",
    );
    let resources =
        eddy_kustomize::build_resources(dir.path(), &BuildOptions::unconfined()).unwrap();
    let ids: Vec<(String, String, Option<String>)> = resources
        .iter()
        .map(|r| (r.kind.clone(), r.name.clone(), r.namespace.clone()))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("Namespace".to_string(), "team".to_string(), None),
            (
                "Deployment".to_string(),
                "d".to_string(),
                Some("team".to_string())
            ),
        ]
    );
    let text = eddy_kustomize::build(dir.path(), &BuildOptions::unconfined()).unwrap();
    let joined: Vec<String> = resources.iter().map(|r| r.to_yaml()).collect();
    assert_eq!(text, joined.join("---\n"));
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let missing = eddy_kustomize::build(dir.path(), &BuildOptions::unconfined()).unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("unable to find one of 'kustomization.yaml'"),
        "{missing}"
    );

    write(
        &dir.path().join("kustomization.yaml"),
        "resources:\n- r.yaml\nbogusField: 1\n",
    );
    let unknown = eddy_kustomize::build(dir.path(), &BuildOptions::unconfined()).unwrap_err();
    let text = unknown.to_string();
    assert!(
        text.contains("kustomization.yaml") && text.contains("bogusField"),
        "{text}"
    );

    write(
        &dir.path().join("kustomization.yaml"),
        "resources:\n- r.yaml\n",
    );
    write(
        &dir.path().join("r.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
    );
    let duplicate = eddy_kustomize::build(dir.path(), &BuildOptions::unconfined()).unwrap_err();
    let text = duplicate.to_string();
    assert!(
        text.contains("r.yaml") && text.contains("already defined"),
        "{text}"
    );
}

#[test]
fn remote_resources_and_helm_charts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("kustomization.yaml"),
        "resources:\n- github.com/example/repo//deploy?ref=v1\n",
    );
    let remote = eddy_kustomize::build(dir.path(), &BuildOptions::unconfined()).unwrap_err();
    assert!(matches!(remote, Error::Unsupported { .. }), "{remote}");

    write(
        &dir.path().join("kustomization.yaml"),
        "helmCharts:\n- name: x\n",
    );
    let helm = eddy_kustomize::build(dir.path(), &BuildOptions::unconfined()).unwrap_err();
    assert!(helm.to_string().contains("helmCharts"), "{helm}");
}

/// Arbitrary bytes as a resource file must give an error or a result, never a panic.
#[test]
fn garbage_input_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("kustomization.yaml"),
        "resources:\n- r.yaml\n",
    );
    let samples: [&[u8]; 8] = [
        b"\xff\xfe\x00",
        b"- a\n- b\n",
        b"kind: X\n",
        b"apiVersion: v1\nkind: List\nitems: 3\n",
        b"{{{{",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: [1]\n",
        b"&a [*a]",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [1, 2]\n",
    ];
    for sample in samples {
        fs::write(dir.path().join("r.yaml"), sample).unwrap();
        let result = std::panic::catch_unwind(|| {
            eddy_kustomize::build(dir.path(), &BuildOptions::unconfined())
        });
        assert!(result.is_ok(), "panicked on {sample:?}");
    }
}

#[test]
fn reorder_none_keeps_input_order_unless_sort_options_say_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("r.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n",
    );
    write(
        &dir.path().join("kustomization.yaml"),
        "resources:\n- r.yaml\n",
    );
    let mut fifo = BuildOptions::unconfined();
    fifo.reorder = eddy_kustomize::Reorder::None;
    let kinds = |options: &BuildOptions| -> Vec<String> {
        eddy_kustomize::build_resources(dir.path(), options)
            .unwrap()
            .into_iter()
            .map(|r| r.kind)
            .collect()
    };
    assert_eq!(kinds(&fifo), vec!["Deployment", "Namespace"]);
    assert_eq!(
        kinds(&BuildOptions::unconfined()),
        vec!["Namespace", "Deployment"]
    );

    write(
        &dir.path().join("kustomization.yaml"),
        "resources:\n- r.yaml\nsortOptions:\n  order: legacy\n",
    );
    assert_eq!(kinds(&fifo), vec!["Namespace", "Deployment"]);
}

/// The fuzzing entry points survive pseudo-random and mutated inputs, and emitting is idempotent:
/// printing what was printed gives the same text.
#[test]
fn fuzzing_entry_points_never_panic_and_emit_is_idempotent() {
    let seeds: [&[u8]; 4] = [
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"1\"\n  b: |\n    line\n",
        b"a: [1, 2, {b: c}]\nd: 'e'\n---\nf: 0644\ng: 2001-12-14\n",
        b"resources:\n- a.yaml\nnamePrefix: p-\npatches:\n- patch: |\n    x: y\n",
        b"k: &a {x: 1}\nl: *a\nm:\n  <<: *a\n  y: 2\n",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for seed in seeds {
        for _ in 0..200 {
            let mut data = seed.to_vec();
            for _ in 0..(next() % 4) {
                let position = (next() as usize) % data.len();
                let alphabet = b" :-[]{}\n'\"#&*!|>0aZ";
                data[position] = alphabet[(next() as usize) % alphabet.len()];
            }
            let printed =
                std::panic::catch_unwind(|| eddy_kustomize::fuzzing::parse_and_emit(&data));
            assert!(
                printed.is_ok(),
                "panic on {:?}",
                String::from_utf8_lossy(&data)
            );
            let parsed =
                std::panic::catch_unwind(|| eddy_kustomize::fuzzing::parse_kustomization(&data));
            assert!(
                parsed.is_ok(),
                "panic on {:?}",
                String::from_utf8_lossy(&data)
            );
            if let Ok(Ok(text)) = printed {
                let again = eddy_kustomize::fuzzing::parse_and_emit(text.as_bytes());
                assert_eq!(
                    again.as_deref(),
                    Ok(text.as_str()),
                    "not idempotent for {text:?}"
                );
            }
        }
    }
}

/// Found by the `parse_and_emit` fuzz target: a document that is only a block scalar starting with
/// spaces was printed with the `|2` indentation indicator but unindented lines, which no parser
/// reads back.
/// The second crash: a root block scalar with a `...` line, which ended the document when printed
/// at column 0 (root scalars now print their continuation lines two columns in).
#[test]
fn a_root_block_scalar_prints_back_readable() {
    let folded = format!("\"{}... y\"\n", "a ".repeat(41));
    let crashes: [&[u8]; 3] = [
        b"!apiVerestCs: |2\n\n     nag+bt\n  namespace: o~erlay\n",
        b"!ap\t\t...\t\n\nm;s witaceA- \nNN&\n\n...\ne\n\n./ Co\n",
        // The same for a long string folded at 80 columns just before a `...` word.
        folded.as_bytes(),
    ];
    for crash in crashes {
        let printed = eddy_kustomize::fuzzing::parse_and_emit(crash).unwrap();
        let again = eddy_kustomize::fuzzing::parse_and_emit(printed.as_bytes())
            .unwrap_or_else(|e| panic!("printed YAML does not parse again: {e}\n{printed}"));
        assert_eq!(again, printed);
    }
    // The whole second crash input, as the fuzzer found it.
    let found = include_bytes!("fixtures/fuzz-crash-root-literal-document-end.yaml");
    let printed = eddy_kustomize::fuzzing::parse_and_emit(found).unwrap();
    assert_eq!(
        eddy_kustomize::fuzzing::parse_and_emit(printed.as_bytes()).as_deref(),
        Ok(printed.as_str())
    );
}

#[test]
fn the_read_filter_sees_resources_patches_and_generator_sources_and_can_fail_the_build() {
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("kustomization.yaml"),
        "resources:\n- cm.yaml\npatches:\n- path: patch.yaml\nsecretGenerator:\n- name: creds\n  envs:\n  - creds.env\n",
    );
    write(
        &dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: SEALED\n",
    );
    write(
        &dir.path().join("patch.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  b: SEALED\n",
    );
    write(&dir.path().join("creds.env"), "password=SEALED\n");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let unseal = eddy_kustomize::ReadFilter::new(move |path, bytes| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        record.lock().unwrap().push(name);
        let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
        Ok(text.replace("SEALED", "open").into_bytes())
    });
    let options = options(LoadRestrictions::RootOnly);
    let resources =
        eddy_kustomize::build_resources_with_filter(dir.path(), &options, Some(unseal)).unwrap();
    let objects: Vec<_> = resources.iter().map(|r| r.value.to_json()).collect();
    let config_map = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(config_map["data"]["a"], "open");
    assert_eq!(config_map["data"]["b"], "open");
    let secret = objects.iter().find(|o| o["kind"] == "Secret").unwrap();
    // base64("open")
    assert_eq!(secret["data"]["password"], "b3Blbg==");
    let seen = seen.lock().unwrap().clone();
    for file in ["cm.yaml", "patch.yaml", "creds.env"] {
        assert!(
            seen.iter().any(|s| s == file),
            "{file} not filtered: {seen:?}"
        );
    }

    let refuse = eddy_kustomize::ReadFilter::new(|path, bytes| {
        if path.ends_with("creds.env") {
            Err("cannot decrypt".to_owned())
        } else {
            Ok(bytes)
        }
    });
    let error = eddy_kustomize::build_resources_with_filter(dir.path(), &options, Some(refuse))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("creds.env") && error.contains("cannot decrypt"),
        "{error}"
    );
}
