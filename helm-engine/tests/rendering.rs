//! Values coalescing, dependency processing and built-in objects, through `template()` on
//! small charts written here. Expected outputs follow Helm v4.3's documented behaviour.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use eddy_helm::{LoadLimits, Table, TemplateOptions, load_dir, parse_values, template};

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn render_with(
    files: &[(&str, &str)],
    user: &str,
    options: &TemplateOptions,
) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), files);
    let chart = load_dir(dir.path(), LoadLimits::default()).map_err(|e| e.to_string())?;
    let values: Table = parse_values(user).unwrap();
    template(chart, &values, options).map_err(|e| e.to_string())
}

fn options() -> TemplateOptions {
    TemplateOptions::new("rel", "ns", "v1.34.0").unwrap()
}

fn render(files: &[(&str, &str)], user: &str) -> Result<String, String> {
    render_with(files, user, &options())
}

const PARENT: &str = "apiVersion: v2\nname: parent\nversion: 1.0.0\n";

#[test]
fn user_values_override_null_deletes_and_globals_flow_down() {
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: parent\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 0.1.0\n",
        ),
        (
            "values.yaml",
            "keep: chart\ngone: chart\nglobal:\n  region: parent\n  shared: {a: parent}\nsub:\n  fromParent: p\n",
        ),
        (
            "templates/p.yaml",
            "keep: {{ .Values.keep }}\ngone: {{ hasKey .Values \"gone\" }}\n",
        ),
        (
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        (
            "charts/sub/values.yaml",
            "own: s\nfromParent: default\nglobal:\n  region: sub\n  shared: {a: sub, b: sub}\n",
        ),
        (
            "charts/sub/templates/s.yaml",
            "own: {{ .Values.own }}\nfromParent: {{ .Values.fromParent }}\nregion: {{ .Values.global.region }}\nshared: {{ toJson .Values.global.shared }}\n",
        ),
    ];
    let out = render(&files, "keep: user\ngone: null\n").unwrap();
    assert_eq!(
        out,
        "---\n# Source: parent/charts/sub/templates/s.yaml\nown: s\nfromParent: p\nregion: parent\nshared: {\"a\":\"parent\",\"b\":\"sub\"}\n\n---\n# Source: parent/templates/p.yaml\nkeep: user\ngone: false\n"
    );
}

fn with_dependencies(deps: &str, values: &str) -> Vec<(String, String)> {
    let mut files = vec![
        (
            "Chart.yaml".to_string(),
            format!("{PARENT}dependencies:\n{deps}"),
        ),
        ("values.yaml".to_string(), values.to_string()),
    ];
    for name in ["a", "b"] {
        files.push((
            format!("charts/{name}/Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
        ));
        files.push((
            format!("charts/{name}/templates/x.yaml"),
            "chart: {{ .Chart.Name }}\nroot: {{ .Chart.IsRoot }}\n".to_string(),
        ));
    }
    files
}

fn sources(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("# Source: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn conditions_tags_and_aliases() {
    let deps = "- name: a\n  version: 0.1.0\n  condition: a.enabled,other.enabled\n- name: b\n  version: \">=0.1\"\n  tags: [extra]\n- name: b\n  version: 0.1.0\n  alias: b2\n";
    let files = with_dependencies(deps, "a:\n  enabled: false\n");
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();

    let out = render(&files, "").unwrap();
    assert_eq!(
        sources(&out),
        [
            "parent/charts/b/templates/x.yaml",
            "parent/charts/b2/templates/x.yaml"
        ]
    );
    assert!(out.contains("chart: b2\nroot: false"), "{out}");

    let out = render(&files, "a: {enabled: true}\ntags: {extra: false}\n").unwrap();
    assert_eq!(
        sources(&out),
        [
            "parent/charts/a/templates/x.yaml",
            "parent/charts/b2/templates/x.yaml"
        ]
    );
    // A condition that is not a bool is skipped; the next one decides.
    let out = render(&files, "a: {enabled: maybe}\nother: {enabled: false}\n").unwrap();
    assert!(!sources(&out).contains(&"parent/charts/a/templates/x.yaml".to_string()));
}

#[test]
fn import_values_lift_child_exports() {
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: parent\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 0.1.0\n  import-values:\n  - data\n  - child: deep.table\n    parent: lifted\n",
        ),
        ("values.yaml", "port: 1\n"),
        (
            "templates/p.yaml",
            "port: {{ .Values.port }}\nfromExports: {{ .Values.fromExports }}\nlifted: {{ .Values.lifted.x }}\n",
        ),
        (
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        (
            "charts/sub/values.yaml",
            "exports:\n  data:\n    port: 2\n    fromExports: yes\ndeep:\n  table:\n    x: 3\n",
        ),
    ];
    let out = render(&files, "").unwrap();
    // The parent's own value wins over an imported one.
    assert!(
        out.ends_with("port: 1\nfromExports: true\nlifted: 3\n"),
        "{out}"
    );
}

#[test]
fn built_in_objects() {
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: objs\nversion: 1.0.0\nappVersion: \"2.0\"\nannotations:\n  a: b\n",
        ),
        ("files/one.txt", "line1\nline2\n"),
        ("files/two.cfg", "k=v"),
        (
            "templates/o.yaml",
            concat!(
                "release: {{ .Release.Name }} {{ .Release.Namespace }} {{ .Release.Revision }} {{ .Release.IsInstall }} {{ .Release.Service }}\n",
                "chart: {{ .Chart.Name }} {{ .Chart.AppVersion }} {{ .Chart.Annotations.a }} {{ typeOf .Chart.Annotations }}\n",
                "template: {{ .Template.Name }} {{ .Template.BasePath }}\n",
                "kube: {{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.KubeVersion.Minor }} {{ .Capabilities.APIVersions.Has \"apps/v1\" }}\n",
                "helm: {{ .Capabilities.HelmVersion.Version }}\n",
                "values: {{ typeOf .Values }}\n",
                "files: {{ .Files.Lines \"files/one.txt\" | len }} {{ len (.Files.Glob \"files/*\") }} {{ .Files.Get \"files/one.txt\" | trim | quote }}\n",
                "config: {{ (.Files.Glob \"files/*.cfg\").AsConfig | quote }}\n",
                "missing: {{ .Values.nothing }}\n",
            ),
        ),
    ];
    let out = render(&files, "").unwrap();
    assert_eq!(
        out,
        concat!(
            "---\n# Source: objs/templates/o.yaml\n",
            "release: rel ns 1 true Helm\n",
            "chart: objs 2.0 b map[string]string\n",
            "template: objs/templates/o.yaml objs/templates\n",
            "kube: v1.34.0 34 true\n",
            "helm: v4.3\n",
            "values: common.Values\n",
            "files: 2 2 \"line1\\nline2\"\n",
            "config: \"two.cfg: k=v\"\n",
            "missing:\n",
        )
    );
}

#[test]
fn hooks_notes_tests_and_crds() {
    let files = [
        ("Chart.yaml", PARENT),
        ("crds/crd.yaml", "kind: CustomResourceDefinition\n"),
        ("templates/NOTES.txt", "notes {{ .Release.Name }}"),
        (
            "templates/job.yaml",
            "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n",
        ),
        (
            "templates/test.yaml",
            "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: test\n",
        ),
        (
            "templates/svc.yaml",
            "kind: Service\n---\n# empty\n---\nkind: ServiceAccount\n",
        ),
    ];
    let out = render(&files, "").unwrap();
    assert_eq!(
        out,
        "---\n# Source: parent/templates/svc.yaml\nkind: ServiceAccount\n\n---\n# Source: parent/templates/svc.yaml\nkind: Service\n\n---\n# Source: parent/templates/svc.yaml\n# empty\n---\n# Source: parent/templates/job.yaml\nkind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n\n"
    );
    let mut opts = options();
    opts.include_crds = true;
    opts.skip_tests = false;
    let out = render_with(&files, "", &opts).unwrap();
    assert!(
        out.starts_with("---\n# Source: parent/crds/crd.yaml\nkind: CustomResourceDefinition\n")
    );
    assert!(out.contains("# Source: parent/templates/test.yaml"));

    let mut broken = files.to_vec();
    broken[2] = ("templates/NOTES.txt", "{{ fail \"notes broke\" }}");
    let err = render(&broken, "").unwrap_err();
    assert!(err.contains("notes broke"), "{err}");
}

#[test]
fn library_charts_and_kube_version() {
    let library = [(
        "Chart.yaml",
        "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n",
    )];
    assert_eq!(
        render(&library, "").unwrap_err(),
        "library charts are not installable"
    );
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 1.0.0\nkubeVersion: \">=1.35.0-0\"\n",
        ),
        ("templates/a.yaml", "kind: A\n"),
    ];
    assert_eq!(
        render(&files, "").unwrap_err(),
        "chart requires kubeVersion: >=1.35.0-0 which is incompatible with Kubernetes v1.34.0"
    );
    let with_lib = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: 1.0.0\n",
        ),
        ("templates/a.yaml", "name: {{ include \"lib.name\" . }}\n"),
        (
            "charts/lib/Chart.yaml",
            "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n",
        ),
        (
            "charts/lib/templates/_h.tpl",
            "{{ define \"lib.name\" }}from-lib{{ end }}",
        ),
        ("charts/lib/templates/ignored.yaml", "kind: NotRendered\n"),
    ];
    assert_eq!(
        render(&with_lib, "").unwrap(),
        "---\n# Source: app/templates/a.yaml\nname: from-lib\n"
    );
    let missing = [(
        "Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: gone\n  version: 1.0.0\n",
    )];
    assert_eq!(
        render(&missing, "").unwrap_err(),
        "found in Chart.yaml, but missing in charts/ directory: gone"
    );
}

#[test]
fn shallowest_define_wins_and_values_are_shared_across_files() {
    let files = [
        (
            "Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 0.1.0\n",
        ),
        ("templates/_a.tpl", "{{ define \"who\" }}parent{{ end }}"),
        // Executed after b.yaml (reverse lexical order), so it sees b.yaml's change.
        (
            "templates/a.yaml",
            "who: {{ include \"who\" . }}\nmutated: {{ .Values.mutated }}\n",
        ),
        (
            "templates/b.yaml",
            "{{ $_ := set .Values \"mutated\" \"yes\" }}",
        ),
        (
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        (
            "charts/sub/templates/_a.tpl",
            "{{ define \"who\" }}sub{{ end }}",
        ),
    ];
    assert_eq!(
        render(&files, "").unwrap(),
        "---\n# Source: app/templates/a.yaml\nwho: parent\nmutated: yes\n"
    );
}

#[test]
fn set_values_are_typed_as_helm_types_them() {
    let files = [
        ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n"),
        ("values.yaml", "replicas: 1\nimage: {tag: old}\n"),
        (
            "templates/a.yaml",
            "r: {{ typeOf .Values.replicas }} {{ printf \"%d\" .Values.replicas }}\nfile: {{ typeOf .Values.fromFile }}\ntag: {{ .Values.image.tag }}\n",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &files);
    let chart = load_dir(dir.path(), LoadLimits::default()).unwrap();
    // -f first, then --set, as Helm merges them.
    let mut values = parse_values("fromFile: 2\nimage: {tag: file}\n").unwrap();
    eddy_helm::parse_set_into("replicas=3,image.tag=set", &mut values).unwrap();
    assert_eq!(
        template(chart, &values, &options()).unwrap(),
        "---\n# Source: app/templates/a.yaml\nr: int64 3\nfile: float64\ntag: set\n"
    );
}

#[test]
fn callers_can_connect_lookup() {
    use eddy_gotemplate::{Function, Param, Value};
    let files = [
        ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n"),
        (
            "templates/a.yaml",
            "offline: {{ len (lookup \"v1\" \"Secret\" \"ns\" \"s\") }}\n",
        ),
    ];
    assert!(render(&files, "").unwrap().ends_with("offline: 0\n"));
    let mut opts = options();
    opts.extra_functions.push((
        "lookup".to_string(),
        Function::new(&[Param::String; 4], None, |_, args| {
            let mut found = std::collections::BTreeMap::new();
            found.insert("kind".to_string(), args[1].clone());
            Ok(Value::map(found))
        }),
    ));
    assert!(
        render_with(&files, "", &opts)
            .unwrap()
            .ends_with("offline: 1\n")
    );
}

#[test]
fn nested_tpl_of_an_empty_template_renders_its_whitespace() {
    // Go's text/template (checked with the eddy-gotemplate oracle) prints "xy" and "m n".
    let files = [
        ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n"),
        (
            "values.yaml",
            "a: 'x{{ tpl .Values.b . }}y'\nb: '{{/* c */}}'\nc: 'm{{ tpl .Values.d . }}n'\nd: '{{ define \"q\" }}Q{{ end }} '\ne: '{{ tpl \"  \" . }}'\n",
        ),
        (
            "templates/a.yaml",
            "a: {{ tpl .Values.a . }}\nc: {{ tpl .Values.c . | quote }}\ne: {{ tpl .Values.e . | quote }}\n",
        ),
    ];
    assert!(
        render(&files, "")
            .unwrap()
            .ends_with("a: xy\nc: \"m n\"\ne: \"  \"\n"),
        "{:?}",
        render(&files, "")
    );
}

#[test]
fn plain_dates_stay_text_in_values_and_from_yaml() {
    // Go (go-yaml v2 into interface{}) keeps both as "2020-10-24".
    let files = [
        ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n"),
        ("values.yaml", "day: 2020-10-24\n"),
        (
            "templates/a.yaml",
            "v: {{ .Values.day }}\nf: {{ (fromYaml \"d: 2020-10-24\").d }}\nl: {{ index (fromYamlArray \"[2020-10-24]\") 0 }}\n",
        ),
    ];
    assert!(
        render(&files, "")
            .unwrap()
            .ends_with("v: 2020-10-24\nf: 2020-10-24\nl: 2020-10-24\n"),
        "{:?}",
        render(&files, "")
    );
}
