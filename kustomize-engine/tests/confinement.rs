//! Every file a confined build reads must resolve inside the build root (issue #12): each field
//! that names a file, written as an absolute path, a `..` chain, a symlink in the tree pointing
//! out, and `/proc/self/environ`, fails the build naming the kustomization and the entry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use eddy_kustomize::{BuildOptions, Error, LoadRestrictions};

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

const CONFIG_MAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  a: \"1\"\n";
const DEPLOYMENT: &str =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 1\n";

/// What lies outside the build root: one file of each shape a field reads, and a base directory.
struct Outside {
    dir: PathBuf,
}

impl Outside {
    fn create(parent: &Path) -> Outside {
        let dir = parent.join("outside");
        write(&dir.join("object.yaml"), CONFIG_MAP);
        write(
            &dir.join("smp.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 9\n",
        );
        write(
            &dir.join("json.yaml"),
            "- op: replace\n  path: /spec/replicas\n  value: 9\n",
        );
        write(&dir.join("secret.env"), "TOKEN=host-secret\n");
        write(&dir.join("secret.txt"), "host-secret\n");
        write(
            &dir.join("replacements.yaml"),
            "- source: {kind: Deployment, name: app, fieldPath: metadata.name}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [metadata.labels.x]\n    options: {create: true}\n",
        );
        write(&dir.join("schema.json"), "{\"definitions\": {}}\n");
        write(
            &dir.join("configuration.yaml"),
            "namePrefix:\n- path: metadata/name\n",
        );
        write(&dir.join("crd.json"), "{}\n");
        write(
            &dir.join("plugin.yaml"),
            "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l\nlabels:\n  leaked: \"yes\"\nfieldSpecs:\n- path: metadata/labels\n  create: true\n",
        );
        write(
            &dir.join("generator.yaml"),
            "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: leak\nliterals:\n- a=b\n",
        );
        write(
            &dir.join("base/kustomization.yaml"),
            "resources:\n- object.yaml\n",
        );
        write(
            &dir.join("plugins/kustomization.yaml"),
            "resources:\n- plugin.yaml\n",
        );
        write(
            &dir.join("plugins/plugin.yaml"),
            &fs::read_to_string(dir.join("plugin.yaml")).unwrap(),
        );
        write(&dir.join("base/object.yaml"), CONFIG_MAP);
        write(
            &dir.join("component/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: leaked-\n",
        );
        Outside {
            dir: dir.canonicalize().unwrap(),
        }
    }
}

/// One field naming a file: the kustomization written with `{}` standing for the entry, and the
/// file (or directory) under [`Outside`] it points at.
struct Field {
    label: &'static str,
    /// The field as the error names it.
    error_field: &'static str,
    template: &'static str,
    target: &'static str,
}

const FIELDS: &[Field] = &[
    Field {
        label: "resources file",
        error_field: "resources",
        template: "resources:\n- '{}'\n",
        target: "object.yaml",
    },
    Field {
        label: "resources directory (base)",
        error_field: "resources",
        template: "resources:\n- '{}'\n",
        target: "base",
    },
    Field {
        label: "components",
        error_field: "components",
        template: "resources:\n- app.yaml\ncomponents:\n- '{}'\n",
        target: "component",
    },
    Field {
        label: "patches path",
        error_field: "patches path",
        template: "resources:\n- app.yaml\npatches:\n- path: '{}'\n",
        target: "smp.yaml",
    },
    Field {
        label: "patches path with a target (JSON 6902)",
        error_field: "patches path",
        template: "resources:\n- app.yaml\npatches:\n- path: '{}'\n  target: {kind: Deployment}\n",
        target: "json.yaml",
    },
    Field {
        label: "patchesStrategicMerge",
        error_field: "patchesStrategicMerge",
        template: "resources:\n- app.yaml\npatchesStrategicMerge:\n- '{}'\n",
        target: "smp.yaml",
    },
    Field {
        label: "patchesJson6902 path",
        error_field: "patchesJson6902 path",
        template: "resources:\n- app.yaml\npatchesJson6902:\n- path: '{}'\n  target: {group: apps, version: v1, kind: Deployment, name: app}\n",
        target: "json.yaml",
    },
    Field {
        label: "configMapGenerator files",
        error_field: "configMapGenerator files",
        template: "configMapGenerator:\n- name: leak\n  files:\n  - '{}'\n",
        target: "secret.txt",
    },
    Field {
        label: "configMapGenerator files with a key",
        error_field: "configMapGenerator files",
        template: "configMapGenerator:\n- name: leak\n  files:\n  - 'key={}'\n",
        target: "secret.txt",
    },
    Field {
        label: "configMapGenerator envs",
        error_field: "configMapGenerator envs",
        template: "configMapGenerator:\n- name: leak\n  envs:\n  - '{}'\n",
        target: "secret.env",
    },
    Field {
        label: "configMapGenerator env",
        error_field: "configMapGenerator envs",
        template: "configMapGenerator:\n- name: leak\n  env: '{}'\n",
        target: "secret.env",
    },
    Field {
        label: "secretGenerator files",
        error_field: "secretGenerator files",
        template: "secretGenerator:\n- name: leak\n  files:\n  - '{}'\n",
        target: "secret.txt",
    },
    Field {
        label: "secretGenerator envs",
        error_field: "secretGenerator envs",
        template: "secretGenerator:\n- name: leak\n  envs:\n  - '{}'\n",
        target: "secret.env",
    },
    Field {
        label: "secretGenerator env",
        error_field: "secretGenerator envs",
        template: "secretGenerator:\n- name: leak\n  env: '{}'\n",
        target: "secret.env",
    },
    Field {
        label: "replacements path",
        error_field: "replacements path",
        template: "resources:\n- app.yaml\nreplacements:\n- path: '{}'\n",
        target: "replacements.yaml",
    },
    Field {
        label: "openapi path",
        error_field: "openapi path",
        template: "resources:\n- app.yaml\nopenapi:\n  path: '{}'\n",
        target: "schema.json",
    },
    Field {
        label: "configurations",
        error_field: "configurations",
        template: "resources:\n- app.yaml\nconfigurations:\n- '{}'\n",
        target: "configuration.yaml",
    },
    Field {
        label: "crds",
        error_field: "crds",
        template: "resources:\n- app.yaml\ncrds:\n- '{}'\n",
        target: "crd.json",
    },
    Field {
        label: "transformers file",
        error_field: "transformers",
        template: "resources:\n- app.yaml\ntransformers:\n- '{}'\n",
        target: "plugin.yaml",
    },
    Field {
        label: "transformers directory",
        error_field: "transformers",
        template: "resources:\n- app.yaml\ntransformers:\n- '{}'\n",
        target: "plugins",
    },
    Field {
        label: "generators file",
        error_field: "generators",
        template: "generators:\n- '{}'\n",
        target: "generator.yaml",
    },
    Field {
        label: "PatchTransformer path (inline transformer config)",
        error_field: "PatchTransformer path",
        template: "resources:\n- app.yaml\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata:\n    name: p\n  path: '{}'\n",
        target: "smp.yaml",
    },
    Field {
        label: "PatchStrategicMergeTransformer paths (inline transformer config)",
        error_field: "patchesStrategicMerge",
        template: "resources:\n- app.yaml\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PatchStrategicMergeTransformer\n  metadata:\n    name: p\n  paths:\n  - '{}'\n",
        target: "smp.yaml",
    },
    Field {
        label: "PatchJson6902Transformer path (inline transformer config)",
        error_field: "patchesJson6902 path",
        template: "resources:\n- app.yaml\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PatchJson6902Transformer\n  metadata:\n    name: p\n  target: {kind: Deployment}\n  path: '{}'\n",
        target: "json.yaml",
    },
    Field {
        label: "ConfigMapGenerator files (inline generator config)",
        error_field: "configMapGenerator files",
        template: "generators:\n- |\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata:\n    name: leak\n  files:\n  - '{}'\n",
        target: "secret.txt",
    },
    Field {
        label: "ReplacementTransformer path (inline transformer config)",
        error_field: "replacements path",
        template: "resources:\n- app.yaml\ntransformers:\n- |\n  apiVersion: builtin\n  kind: ReplacementTransformer\n  metadata:\n    name: r\n  replacements:\n  - path: '{}'\n",
        target: "replacements.yaml",
    },
];

#[derive(Clone, Copy, Debug)]
enum Escape {
    Absolute,
    DotDotChain,
    SymlinkInTree,
    ProcSelfEnviron,
}

const ESCAPES: [Escape; 4] = [
    Escape::Absolute,
    Escape::DotDotChain,
    Escape::SymlinkInTree,
    Escape::ProcSelfEnviron,
];

/// Writes `root/app` with the field pointing out of `root` the way `escape` does; returns the
/// entry as written.
fn write_escaping_app(root: &Path, outside: &Outside, field: &Field, escape: Escape) -> String {
    let app = root.join("app");
    write(&app.join("app.yaml"), DEPLOYMENT);
    let target = outside.dir.join(field.target);
    let entry = match escape {
        Escape::Absolute => target.display().to_string(),
        Escape::DotDotChain => {
            let up = "../".repeat(app.components().count() + 2);
            format!("{up}{}", target.strip_prefix("/").unwrap().display())
        }
        Escape::SymlinkInTree => {
            std::os::unix::fs::symlink(&target, app.join("innocent")).unwrap();
            "innocent".to_string()
        }
        Escape::ProcSelfEnviron => "/proc/self/environ".to_string(),
    };
    write(
        &app.join("kustomization.yaml"),
        &field.template.replace("{}", &entry),
    );
    entry
}

fn confined(root: &Path, restrictions: LoadRestrictions) -> BuildOptions {
    let mut options = BuildOptions::new(root).unwrap();
    options.load_restrictions = restrictions;
    options
}

#[test]
fn every_field_naming_a_file_is_confined_to_the_build_root() {
    let mut checked = 0;
    for restrictions in [LoadRestrictions::None, LoadRestrictions::RootOnly] {
        for field in FIELDS {
            for escape in ESCAPES {
                let temp = tempfile::tempdir().unwrap();
                let outside = Outside::create(temp.path());
                let root = temp.path().join("root");
                let entry = write_escaping_app(&root, &outside, field, escape);
                let case = format!("{} / {escape:?} / {restrictions:?}", field.label);
                let result =
                    eddy_kustomize::build(&root.join("app"), &confined(&root, restrictions));
                let error = match result {
                    Err(error) => error,
                    Ok(output) => panic!("{case}: built outside the root:\n{output}"),
                };
                if !matches!(escape, Escape::ProcSelfEnviron) {
                    // The same tree unconfined does read the file: the refusal is the root's.
                    let mut unconfined = BuildOptions::unconfined();
                    unconfined.load_restrictions = LoadRestrictions::None;
                    let built = eddy_kustomize::build(&root.join("app"), &unconfined);
                    assert!(built.is_ok(), "{case}: unconfined build failed: {built:?}");
                }
                match &error {
                    Error::OutsideBuildRoot {
                        kustomization,
                        field: named_field,
                        entry: named_entry,
                    } => {
                        assert!(
                            kustomization.ends_with("app/kustomization.yaml"),
                            "{case}: {error}"
                        );
                        assert_eq!(named_field, field.error_field, "{case}");
                        let written = entry.strip_prefix("key=").unwrap_or(&entry);
                        assert!(
                            named_entry == written || named_entry == &entry,
                            "{case}: {named_entry} vs {entry}"
                        );
                    }
                    other => panic!("{case}: expected OutsideBuildRoot, got {other:?}"),
                }
                let message = error.to_string();
                assert!(
                    message.contains("resolves outside the build root")
                        && message.contains(&format!("{} entry \"", field.error_field)),
                    "{case}: {message}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, FIELDS.len() * ESCAPES.len() * 2);
}

#[test]
fn the_message_names_the_kustomization_the_field_and_the_entry() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("root");
    write(
        &root.join("kustomization.yaml"),
        "configMapGenerator:\n- name: leak\n  files: [/etc/passwd]\n",
    );
    let error = eddy_kustomize::build(&root, &confined(&root, LoadRestrictions::None)).unwrap_err();
    let root = root.canonicalize().unwrap();
    assert_eq!(
        error.to_string(),
        format!(
            "{}/kustomization.yaml: configMapGenerator files entry \"/etc/passwd\": resolves outside the build root",
            root.display()
        )
    );
}

#[test]
fn a_missing_file_outside_the_root_is_refused_as_outside_not_reported_missing() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("root");
    write(
        &root.join("kustomization.yaml"),
        "resources:\n- ../../../../../../../../no/such/file.yaml\n",
    );
    let error = eddy_kustomize::build(&root, &confined(&root, LoadRestrictions::None)).unwrap_err();
    assert!(matches!(error, Error::OutsideBuildRoot { .. }), "{error}");
}

#[test]
fn a_symlinked_directory_or_kustomization_file_pointing_out_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let outside = Outside::create(temp.path());
    let root = temp.path().join("root");
    // A base directory inside the root whose kustomization file is a symlink out of it.
    write(&root.join("base/object.yaml"), CONFIG_MAP);
    std::os::unix::fs::symlink(
        outside.dir.join("base/kustomization.yaml"),
        root.join("base/kustomization.yaml"),
    )
    .unwrap();
    // A directory symlink out of the root, used as a path prefix.
    std::os::unix::fs::symlink(&outside.dir, root.join("escape")).unwrap();
    write(
        &root.join("via-base/kustomization.yaml"),
        "resources:\n- ../base\n",
    );
    write(
        &root.join("via-prefix/kustomization.yaml"),
        "resources:\n- ../escape/object.yaml\n",
    );
    let options = confined(&root, LoadRestrictions::None);
    for (dir, field) in [
        ("via-base", "kustomization file"),
        ("via-prefix", "resources"),
    ] {
        let error = eddy_kustomize::build(&root.join(dir), &options).unwrap_err();
        match &error {
            Error::OutsideBuildRoot { field: named, .. } => assert_eq!(named, field, "{dir}"),
            other => panic!("{dir}: expected OutsideBuildRoot, got {other:?}"),
        }
    }
    // Building the root itself, whose kustomization file is a symlink out of it.
    let root_link = temp.path().join("root-link");
    fs::create_dir_all(&root_link).unwrap();
    std::os::unix::fs::symlink(
        outside.dir.join("base/kustomization.yaml"),
        root_link.join("kustomization.yaml"),
    )
    .unwrap();
    let error = eddy_kustomize::build(&root_link, &confined(&root_link, LoadRestrictions::None))
        .unwrap_err();
    assert!(matches!(error, Error::OutsideBuildRoot { .. }), "{error}");
}

/// Reads across directories of the root (Flux's `LoadRestrictionsNone`) still work, through
/// relative paths and symlinks that stay inside.
#[test]
fn reads_across_directories_inside_the_root_work_without_load_restrictions() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("root");
    write(&root.join("shared/app.yaml"), DEPLOYMENT);
    write(
        &root.join("shared/smp.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 3\n",
    );
    write(&root.join("shared/settings.env"), "MODE=prod\n");
    write(&root.join("shared/motd.txt"), "hello\n");
    write(
        &root.join("base/kustomization.yaml"),
        "resources:\n- ../shared/app.yaml\n",
    );
    write(
        &root.join("component/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  c: \"1\"\n",
    );
    std::os::unix::fs::symlink(root.join("shared"), root.join("linked-shared")).unwrap();
    write(
        &root.join("apps/prod/kustomization.yaml"),
        "resources:\n- ../../base\ncomponents:\n- ../../component\npatches:\n- path: ../../linked-shared/smp.yaml\nconfigMapGenerator:\n- name: settings\n  envs:\n  - ../../shared/settings.env\n  files:\n  - ../../linked-shared/motd.txt\n",
    );
    let output = eddy_kustomize::build(
        &root.join("apps/prod"),
        &confined(&root, LoadRestrictions::None),
    )
    .unwrap();
    assert!(output.contains("replicas: 3"), "{output}");
    assert!(output.contains("MODE: prod"), "{output}");
    assert!(output.contains("motd.txt: |\n    hello"), "{output}");
    assert!(output.contains("c: \"1\""), "{output}");
}

/// A kustomization the caller generated outside the root (kustomize-controller's wrapper) may point
/// into the root, and nowhere else.
#[test]
fn a_build_directory_outside_the_root_may_name_files_inside_it_only() {
    let temp = tempfile::tempdir().unwrap();
    let outside = Outside::create(temp.path());
    let root = temp.path().join("artifact");
    write(&root.join("app.yaml"), DEPLOYMENT);
    write(&root.join("kustomization.yaml"), "resources:\n- app.yaml\n");
    write(
        &temp.path().join("wrapper/kustomization.yaml"),
        "resources:\n- ../artifact\nnamespace: team\n",
    );
    let options = confined(&root, LoadRestrictions::None);
    let output = eddy_kustomize::build(&temp.path().join("wrapper"), &options).unwrap();
    assert!(output.contains("namespace: team"), "{output}");

    write(
        &temp.path().join("wrapper/kustomization.yaml"),
        &format!(
            "resources:\n- ../artifact\n- {}\n",
            outside.dir.join("object.yaml").display()
        ),
    );
    let error = eddy_kustomize::build(&temp.path().join("wrapper"), &options).unwrap_err();
    assert!(matches!(error, Error::OutsideBuildRoot { .. }), "{error}");
}

#[test]
fn a_missing_build_root_is_an_error_and_unconfined_reads_anywhere() {
    let temp = tempfile::tempdir().unwrap();
    assert!(BuildOptions::new(&temp.path().join("missing")).is_err());
    let outside = Outside::create(temp.path());
    let root = temp.path().join("root");
    write(
        &root.join("kustomization.yaml"),
        &format!(
            "resources:\n- {}\n",
            outside.dir.join("object.yaml").display()
        ),
    );
    let mut options = BuildOptions::unconfined();
    options.load_restrictions = LoadRestrictions::None;
    let output = eddy_kustomize::build(&root, &options).unwrap();
    assert!(output.contains("name: leak"), "{output}");
}
