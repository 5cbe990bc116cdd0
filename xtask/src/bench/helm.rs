//! `cargo xtask bench helm [--runs N] [--subcharts N]`: the release `eddy helm template` against
//! the real `helm template` (v4.3.2, the corpus oracle) on (a) the default value set of every
//! case of the shared Helm corpus and (b) a generated umbrella chart (N subcharts, several
//! templates each). Three views, each labelled: (1) one process per render for both tools,
//! start-up included; (2) start-up alone (a one-ConfigMap chart); (3) the rendering work alone:
//! Eddy times its own renders inside one process (the `template_timed` example), helm's is (1)
//! minus one start-up per render (an estimate: helm has no such mode). Wall time, the ratio and
//! peak RSS (GNU `/usr/bin/time -f %M`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// One render: where to run, and the arguments after `template`.
struct Render {
    dir: PathBuf,
    args: Vec<String>,
    /// The same render as a `template_timed` job.
    job: String,
}

#[derive(Clone, Copy)]
struct Measurement {
    wall: Duration,
    peak_kib: u64,
}

const STARTUP_SAMPLES: usize = 21;

fn parse(rest: &[String]) -> anyhow::Result<(usize, usize)> {
    let (mut runs, mut subcharts) = (3, 50);
    let mut iter = rest.iter();
    while let Some(flag) = iter.next() {
        let value = iter
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--runs" => runs = value.parse()?,
            "--subcharts" => subcharts = value.parse()?,
            other => bail!("unknown option {other} (known: --runs N, --subcharts N)"),
        }
    }
    Ok((runs, subcharts))
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let (runs, subcharts) = parse(rest)?;
    if !Path::new("/usr/bin/time").exists() {
        bail!("/usr/bin/time (GNU time) is needed to read the peak RSS of each render");
    }
    let (eddy, timed) = build()?;
    let helm = eddy_test_support::helm::oracle_binary()?;
    let temp = tempfile::tempdir()?;
    let corpus = corpus_renders()?;
    let umbrella = vec![write_umbrella(&temp.path().join("umbrella"), subcharts)?];
    let trivial = write_trivial(&temp.path().join("trivial"))?;
    let eddy_cmd = |r: &Render| {
        [
            vec![eddy.display().to_string(), "helm".into(), "template".into()],
            r.args.clone(),
        ]
        .concat()
    };
    let helm_cmd = |r: &Render| {
        [
            vec![helm.display().to_string(), "template".into()],
            r.args.clone(),
        ]
        .concat()
    };

    // (1) One process per render, as a user or a controller shelling out would see it.
    let corpus_eddy = measure_many(&corpus, &eddy_cmd, runs)?;
    let corpus_helm = measure_many(&corpus, &helm_cmd, runs)?;
    let umbrella_eddy = measure_many(&umbrella, &eddy_cmd, runs)?;
    let umbrella_helm = measure_many(&umbrella, &helm_cmd, runs)?;
    // (2) Start-up: the median of many renders of a one-ConfigMap chart.
    let startup_eddy = median_single(&trivial, &eddy_cmd)?;
    let startup_helm = median_single(&trivial, &helm_cmd)?;
    // (3) Rendering work only.
    let work_corpus = measure_in_process(&timed, &corpus, runs)?;
    let work_umbrella = measure_in_process(&timed, &umbrella, runs)?;
    let helm_work = |per_process: Measurement, renders: usize| Measurement {
        wall: per_process
            .wall
            .saturating_sub(startup_helm.wall * u32::try_from(renders).unwrap_or(u32::MAX)),
        peak_kib: per_process.peak_kib,
    };

    let header = || {
        println!(
            "  {:<52} {:>11} {:>11} {:>8} {:>11} {:>11} {:>7}",
            "workload", "eddy", "helm", "ratio", "eddy RSS", "helm RSS", "RSS"
        );
    };
    let row = |label: &str, ours: Measurement, theirs: Measurement| {
        println!(
            "  {:<52} {:>9.1}ms {:>9.1}ms {:>7.1}x {:>8.1}MiB {:>8.1}MiB {:>6.2}",
            label,
            ours.wall.as_secs_f64() * 1e3,
            theirs.wall.as_secs_f64() * 1e3,
            theirs.wall.as_secs_f64() / ours.wall.as_secs_f64().max(1e-9),
            ours.peak_kib as f64 / 1024.0,
            theirs.peak_kib as f64 / 1024.0,
            ours.peak_kib as f64 / (theirs.peak_kib as f64).max(1.0),
        );
    };
    let corpus_label = format!("corpus ({} default value sets, sum)", corpus.len());
    let umbrella_label = format!("umbrella chart ({subcharts} subcharts)");
    println!(
        "(1) per process: one `eddy helm template` / `helm template` process per render, start-up included"
    );
    header();
    row(&corpus_label, corpus_eddy, corpus_helm);
    row(&umbrella_label, umbrella_eddy, umbrella_helm);
    println!("(2) process start-up: a one-ConfigMap chart, median of {STARTUP_SAMPLES} processes");
    header();
    row("trivial chart (one render)", startup_eddy, startup_helm);
    println!(
        "(3) rendering work only (eddy: one process times its own renders; helm: (1) minus one start-up (2) per render, an estimate; eddy RSS = the one process)"
    );
    header();
    row(
        &corpus_label,
        work_corpus,
        helm_work(corpus_helm, corpus.len()),
    );
    row(&umbrella_label, work_umbrella, helm_work(umbrella_helm, 1));
    println!(
        "(best of {runs} runs for (1) and (3); time per row is the sum over its renders, RSS the largest process; RSS column = eddy/helm)"
    );
    Ok(())
}

fn build() -> anyhow::Result<(PathBuf, PathBuf)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "eddy-cli",
            // Naming the example alone would build only the example.
            "--bin",
            "eddy",
            "-p",
            "eddy-helm",
            "--example",
            "template_timed",
        ])
        .current_dir(crate::workspace::root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building eddy and the template_timed example failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace::root().join("target"));
    Ok((
        target.join("release/eddy"),
        target.join("release/examples/template_timed"),
    ))
}

const PINNED: [&str; 8] = [
    "rel",
    "chart",
    "--namespace",
    "ns",
    "--kube-version",
    "v1.34.0",
    "--skip-tests",
    "",
];

/// Every corpus case's `default` value set that helm renders, with the oracle's arguments.
fn corpus_renders() -> anyhow::Result<Vec<Render>> {
    let corpus = crate::workspace::root().join("../shared/corpus/helm");
    let mut renders = Vec::new();
    for entry in std::fs::read_dir(&corpus).with_context(|| corpus.display().to_string())? {
        let dir = entry?.path();
        let Ok(text) = std::fs::read_to_string(dir.join("case.json")) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_str(&text)?;
        let Some(set) = meta["valueSets"].as_array().and_then(|sets| {
            sets.iter()
                .find(|s| s["name"] == "default" && s["expect"] == "success")
        }) else {
            continue;
        };
        if !dir.join(set["stdout"].as_str().unwrap_or("-")).is_file() {
            continue;
        }
        let files: Vec<String> = set["valuesFiles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect();
        let mut args: Vec<String> = PINNED[..7].iter().map(|s| s.to_string()).collect();
        let mut job = dir.join("chart").display().to_string();
        for file in &files {
            args.extend(["-f".to_string(), file.clone()]);
            job.push_str(&format!(",{}", dir.join(file).display()));
        }
        renders.push(Render { dir, args, job });
    }
    renders.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(renders)
}

fn write(root: &Path, relative: &str, content: &str) -> anyhow::Result<()> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, content).with_context(|| path.display().to_string())
}

fn plain_render(root: &Path) -> Render {
    Render {
        dir: root.to_path_buf(),
        args: PINNED[..7].iter().map(|s| s.to_string()).collect(),
        job: root.join("chart").display().to_string(),
    }
}

fn write_trivial(root: &Path) -> anyhow::Result<Vec<Render>> {
    write(
        root,
        "chart/Chart.yaml",
        "apiVersion: v2\nname: trivial\nversion: 0.1.0\n",
    )?;
    write(
        root,
        "chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  key: value\n",
    )?;
    Ok(vec![plain_render(root)])
}

/// A parent with `subcharts` dependencies (a few disabled by condition), each with helpers,
/// a Deployment, Service, ConfigMap, ServiceAccount and a hook Job, fed by parent values and
/// globals.
fn write_umbrella(root: &Path, subcharts: usize) -> anyhow::Result<Render> {
    let mut deps = String::from("apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n");
    let mut values =
        String::from("global:\n  registry: mirror.local\n  labels:\n    team: platform\n");
    for i in 0..subcharts {
        let name = format!("svc{i:02}");
        deps.push_str(&format!(
            "- name: {name}\n  version: 0.1.0\n  condition: {name}.enabled\n"
        ));
        values.push_str(&format!(
            "{name}:\n  enabled: {}\n  replicas: {}\n  env:\n    INDEX: \"{i}\"\n    MODE: umbrella\n",
            i % 10 != 9,
            1 + i % 3
        ));
        write_subchart(&root.join("chart/charts").join(&name), &name)?;
    }
    write(root, "chart/Chart.yaml", &deps)?;
    write(root, "chart/values.yaml", &values)?;
    write(
        root,
        "chart/templates/namespace-config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-umbrella\ndata:\n  charts: {{ len .Subcharts | quote }}\n",
    )?;
    Ok(plain_render(root))
}

fn write_subchart(dir: &Path, name: &str) -> anyhow::Result<()> {
    write(
        dir,
        "Chart.yaml",
        &format!(
            "apiVersion: v2\nname: {name}\nversion: 0.1.0\nappVersion: \"1.{}\"\n",
            name.len()
        ),
    )?;
    write(
        dir,
        "values.yaml",
        "enabled: true\nreplicas: 1\nimage:\n  repository: app\n  tag: \"\"\nservice:\n  port: 80\nenv: {}\nresources:\n  limits:\n    memory: 128Mi\n",
    )?;
    write(
        dir,
        "templates/_helpers.tpl",
        "{{- define \"sub.fullname\" -}}\n{{- printf \"%s-%s\" .Release.Name .Chart.Name | trunc 63 | trimSuffix \"-\" -}}\n{{- end -}}\n{{- define \"sub.labels\" -}}\napp.kubernetes.io/name: {{ .Chart.Name }}\napp.kubernetes.io/instance: {{ .Release.Name }}\nhelm.sh/chart: {{ printf \"%s-%s\" .Chart.Name .Chart.Version }}\n{{- with .Values.global.labels }}\n{{ toYaml . }}\n{{- end }}\n{{- end -}}\n",
    )?;
    write(
        dir,
        "templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"sub.fullname\" . }}\n  labels:\n    {{- include \"sub.labels\" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels:\n      app: {{ include \"sub.fullname\" . }}\n  template:\n    metadata:\n      labels:\n        app: {{ include \"sub.fullname\" . }}\n      annotations:\n        checksum/config: {{ include (print $.Template.BasePath \"/configmap.yaml\") . | sha256sum }}\n    spec:\n      serviceAccountName: {{ include \"sub.fullname\" . }}\n      containers:\n      - name: main\n        image: \"{{ .Values.global.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}\"\n        env:\n        {{- range $k, $v := .Values.env }}\n        - name: {{ $k }}\n          value: {{ $v | quote }}\n        {{- end }}\n        resources:\n          {{- toYaml .Values.resources | nindent 10 }}\n",
    )?;
    write(
        dir,
        "templates/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include \"sub.fullname\" . }}\n  labels:\n    {{- include \"sub.labels\" . | nindent 4 }}\nspec:\n  ports:\n  - port: {{ .Values.service.port }}\n    targetPort: 8080\n  selector:\n    app: {{ include \"sub.fullname\" . }}\n",
    )?;
    write(
        dir,
        "templates/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"sub.fullname\" . }}\ndata:\n  {{- range $k, $v := .Values.env }}\n  {{ $k | lower }}: {{ $v | upper | quote }}\n  {{- end }}\n  config.json: {{ dict \"name\" .Chart.Name \"replicas\" .Values.replicas | toJson | quote }}\n",
    )?;
    write(
        dir,
        "templates/serviceaccount.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ include \"sub.fullname\" . }}\n  labels:\n    {{- include \"sub.labels\" . | nindent 4 }}\n",
    )?;
    write(
        dir,
        "templates/job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ include \"sub.fullname\" . }}-migrate\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"{{ len .Chart.Name }}\"\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: migrate\n        image: \"{{ .Values.global.registry }}/{{ .Values.image.repository }}-migrate\"\n",
    )?;
    Ok(())
}

fn read_peak_kib(report: &Path) -> u64 {
    std::fs::read_to_string(report)
        .ok()
        .and_then(|text| text.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0)
}

/// Runs `command` in `dir` under GNU time; a failing render still counts.
fn run_once(dir: &Path, command: &[String]) -> anyhow::Result<Measurement> {
    let report = tempfile::NamedTempFile::new()?;
    let home = tempfile::tempdir()?;
    let started = Instant::now();
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(report.path())
        .args(command)
        .current_dir(dir)
        .env("KUBECONFIG", home.path().join("none"))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", command.join(" ")))?;
    let wall = started.elapsed();
    if !status.success() {
        // Every workload renders with helm; a failure here means the figures are not comparable.
        eprintln!("warning: {} failed in {}", command.join(" "), dir.display());
    }
    Ok(Measurement {
        wall,
        peak_kib: read_peak_kib(report.path()),
    })
}

/// Best total wall time over `runs` passes across all renders.
fn measure_many(
    renders: &[Render],
    command: &dyn Fn(&Render) -> Vec<String>,
    runs: usize,
) -> anyhow::Result<Measurement> {
    let mut best: Option<Measurement> = None;
    for _ in 0..runs.max(1) {
        let mut total = Measurement {
            wall: Duration::ZERO,
            peak_kib: 0,
        };
        for render in renders {
            let single = run_once(&render.dir, &command(render))?;
            total.wall += single.wall;
            total.peak_kib = total.peak_kib.max(single.peak_kib);
        }
        if best.is_none_or(|b| total.wall < b.wall) {
            best = Some(total);
        }
    }
    best.context("no runs")
}

fn median_single(
    renders: &[Render],
    command: &dyn Fn(&Render) -> Vec<String>,
) -> anyhow::Result<Measurement> {
    let render = renders.first().context("no render")?;
    let mut walls = Vec::new();
    let mut peak_kib = 0;
    for _ in 0..STARTUP_SAMPLES {
        let single = run_once(&render.dir, &command(render))?;
        walls.push(single.wall);
        peak_kib = peak_kib.max(single.peak_kib);
    }
    walls.sort();
    Ok(Measurement {
        wall: walls[walls.len() / 2],
        peak_kib,
    })
}

/// `template_timed JOB...`: the renders' own time as the process reports it (best of `runs`)
/// and the peak RSS of that one process.
fn measure_in_process(
    timed: &Path,
    renders: &[Render],
    runs: usize,
) -> anyhow::Result<Measurement> {
    let mut best: Option<Measurement> = None;
    for _ in 0..runs.max(1) {
        let report = tempfile::NamedTempFile::new()?;
        let output = Command::new("/usr/bin/time")
            .args(["-f", "%M", "-o"])
            .arg(report.path())
            .arg(timed)
            .args(renders.iter().map(|r| &r.job))
            .stderr(Stdio::null())
            .output()
            .context("cannot run template_timed")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let nanos: u64 = stdout
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("template_timed printed {stdout:?}"))?;
        let measurement = Measurement {
            wall: Duration::from_nanos(nanos),
            peak_kib: read_peak_kib(report.path()),
        };
        if best.is_none_or(|b| measurement.wall < b.wall) {
            best = Some(measurement);
        }
    }
    best.context("no runs")
}
