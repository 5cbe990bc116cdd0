//! `cargo xtask bench gotemplate [--iterations N]`: the same template sets executed by
//! eddy-gotemplate (the release `gtbench` example) and by Go's text/template with Sprig and Helm's
//! functions (the `gotemplate/oracle` tools module). Each side times its own executions inside one
//! process (parsing excluded); peak RSS comes from GNU `/usr/bin/time -f %M`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde_json::json;

struct Workload {
    label: &'static str,
    case: serde_json::Value,
}

/// A chart's deployment template with the helpers most charts carry.
const HELPERS: &str = r#"{{- define "app.name" -}}{{ default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "app.fullname" -}}{{- if .Values.fullnameOverride -}}{{ .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name (include "app.name" .) | trunc 63 | trimSuffix "-" }}{{- end -}}{{- end -}}
{{- define "app.labels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "app.labels" . | nindent 6 }}
  template:
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          {{- with .Values.env }}
          env:
            {{- range $k, $v := . }}
            - name: {{ $k | upper }}
              value: {{ $v | quote }}
            {{- end }}
          {{- end }}
          ports:
            {{- range .Values.ports }}
            - containerPort: {{ .port }}
              name: {{ .name }}
            {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          {{- if semverCompare ">=1.19-0" .Capabilities.KubeVersion }}
          securityContext: {{ toJson .Values.securityContext }}
          {{- end }}
"#;

fn chart_values() -> serde_json::Value {
    let env: serde_json::Map<String, serde_json::Value> = (0..20)
        .map(|i| (format!("var_{i:02}"), json!(format!("value-{i}"))))
        .collect();
    let ports: Vec<serde_json::Value> = (0..8)
        .map(|i| json!({"name": format!("p{i}"), "port": 8000 + i}))
        .collect();
    json!({
        "Chart": {"Name": "web", "Version": "1.2.3+build", "AppVersion": "2.0.0"},
        "Release": {"Name": "prod"},
        "Capabilities": {"KubeVersion": "v1.31.0"},
        "Values": {
            "replicaCount": 3,
            "image": {"repository": "nginx", "tag": ""},
            "env": env,
            "ports": ports,
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": 0.25, "memory": "64Mi"}},
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "capabilities": {"drop": ["ALL"]}},
        }
    })
}

fn workloads() -> Vec<Workload> {
    let big: serde_json::Map<String, serde_json::Value> = (0..300)
        .map(|i| (format!("key{i:03}"), json!({"n": i, "f": f64::from(i) * 1.5, "s": format!("text {i}"), "l": [1, "two", null]})))
        .collect();
    vec![
        Workload {
            label: "chart deployment (include, nindent, toYaml, range)",
            case: json!({"templates": [["_helpers.tpl", HELPERS], ["deployment.yaml", DEPLOYMENT]], "entry": "deployment.yaml", "data": chart_values(), "missingkey": "zero"}),
        },
        Workload {
            label: "toYaml of a 300-entry values tree",
            case: json!({"templates": [["t", "{{ toYaml . }}"]], "entry": "t", "data": big, "missingkey": "zero"}),
        },
        Workload {
            label: "printf/quote/default loop (1,000 iterations)",
            case: json!({"templates": [["t", "{{ range $i := until 1000 }}{{ printf \"%05d %s %v\" $i (quote $i) (default \"x\" $.missing) }}\n{{ end }}"]], "entry": "t", "data": {}, "missingkey": "zero"}),
        },
        Workload {
            label: "tpl of a values string (100 times)",
            case: json!({"templates": [["t", "{{ range until 100 }}{{ tpl \"{{ .name }}-{{ .tag | default \\\"latest\\\" }}\" $ }}{{ end }}"]], "entry": "t", "data": {"name": "web"}, "missingkey": "zero"}),
        },
    ]
}

struct Sample {
    nanos_per_op: f64,
    peak_rss_kib: u64,
}

fn measure(program: &Path, iterations: usize, case: &serde_json::Value) -> anyhow::Result<Sample> {
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(program)
        .args(["bench", &iterations.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", program.display()))?;
    let input = serde_json::to_vec(&json!([case]))?;
    child.stdin.take().context("stdin")?.write_all(&input)?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "{} failed: {}",
            program.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    Ok(Sample {
        nanos_per_op: stdout
            .trim()
            .parse()
            .with_context(|| format!("bad timing output {stdout:?}"))?,
        peak_rss_kib: stderr
            .lines()
            .last()
            .unwrap_or("0")
            .trim()
            .parse()
            .unwrap_or(0),
    })
}

fn build_engine() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "eddy-gotemplate",
            "--example",
            "gtbench",
        ])
        .current_dir(crate::workspace::root())
        .status()?;
    if !status.success() {
        bail!("building the gtbench example failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace::root().join("target"));
    Ok(target.join("release/examples/gtbench"))
}

fn build_oracle() -> anyhow::Result<PathBuf> {
    let home = std::env::var("HOME").context("HOME is not set")?;
    let binary = PathBuf::from(home).join(".cache/eddy/gotemplate-oracle/bench/oracle");
    std::fs::create_dir_all(binary.parent().context("cache dir")?)?;
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(crate::workspace::root().join("gotemplate/oracle"))
        .status()
        .context("cannot run go (needed for the Go side of the benchmark)")?;
    if !status.success() {
        bail!("building the Go oracle failed");
    }
    Ok(binary)
}

/// The engine binary takes the iteration count as its first argument; the oracle as `bench N`.
fn engine_wrapper(engine: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let wrapper = dir.join("gtbench");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec {} \"$2\"\n", engine.display()),
    )?;
    let mut permissions = std::fs::metadata(&wrapper)?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&wrapper, permissions)?;
    Ok(wrapper)
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let mut iterations = 2000usize;
    let mut args = rest.iter();
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--iterations", Some(n)) => iterations = n.parse()?,
            _ => bail!("unknown option {flag} (known: --iterations N)"),
        }
    }
    if !Path::new("/usr/bin/time").exists() {
        bail!("/usr/bin/time (GNU time) is needed to read peak RSS");
    }
    let engine = build_engine()?;
    let oracle = build_oracle()?;
    let temp = tempfile::tempdir()?;
    let engine = engine_wrapper(&engine, temp.path())?;
    println!(
        "gotemplate: {iterations} executions per workload, timed inside each process (parse excluded)"
    );
    println!(
        "  {:<52} {:>12} {:>12} {:>7} {:>10} {:>10}",
        "workload", "eddy µs/op", "go µs/op", "go/eddy", "eddy RSS", "go RSS"
    );
    for workload in workloads() {
        let ours = measure(&engine, iterations, &workload.case)?;
        let theirs = measure(&oracle, iterations, &workload.case)?;
        println!(
            "  {:<52} {:>12.1} {:>12.1} {:>7.2} {:>7} MiB {:>6} MiB",
            workload.label,
            ours.nanos_per_op / 1000.0,
            theirs.nanos_per_op / 1000.0,
            theirs.nanos_per_op / ours.nanos_per_op.max(1.0),
            ours.peak_rss_kib / 1024,
            theirs.peak_rss_kib / 1024,
        );
    }
    Ok(())
}
