//! `cargo xtask bench kustomize [--runs N] [--apps N] [--views all|scaling] [--kubectl-max-apps N]`:
//! Eddy's native engine (release `kbuild` example) against `kubectl kustomize` on (a) every case of
//! the shared corpus and (b) a large synthetic overlay tree, then (4) a scaling table (see
//! [`scaling`]). Three views, each labelled in the output: (1) one process per build for
//! both tools, start-up included; (2) the start-up alone (a one-object kustomization); (3) the build
//! work alone: Eddy times its own builds inside one process, kubectl's is (1) minus one start-up per
//! build. Reports wall time, the ratio and peak RSS (GNU `/usr/bin/time -f %M`, the child's rusage).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

mod scaling;

struct Settings {
    runs: usize,
    apps: usize,
    /// Only the scaling table (4).
    scaling_only: bool,
    /// The largest tree of the scaling table kubectl builds.
    kubectl_max_apps: usize,
}

fn parse(rest: &[String]) -> anyhow::Result<Settings> {
    let mut settings = Settings {
        runs: 3,
        apps: 400,
        scaling_only: false,
        kubectl_max_apps: 400,
    };
    let mut iter = rest.iter();
    while let Some(flag) = iter.next() {
        let value = iter
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--runs" => settings.runs = value.parse()?,
            "--apps" => settings.apps = value.parse()?,
            "--kubectl-max-apps" => settings.kubectl_max_apps = value.parse()?,
            "--views" => settings.scaling_only = value == "scaling",
            other => bail!(
                "unknown option {other} (known: --runs N, --apps N, --views all|scaling, --kubectl-max-apps N)"
            ),
        }
    }
    Ok(settings)
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let settings = parse(rest)?;
    if !Path::new("/usr/bin/time").exists() {
        bail!("/usr/bin/time (GNU time) is needed to read the peak RSS of each build");
    }
    let kbuild = build_kbuild()?;
    let eddy = |dir: &Path| vec![kbuild.display().to_string(), dir.display().to_string()];
    let kubectl = |dir: &Path| {
        vec![
            "kubectl".to_string(),
            "kustomize".to_string(),
            dir.display().to_string(),
        ]
    };

    let temp = tempfile::tempdir()?;
    if settings.scaling_only {
        return scaling::run(
            temp.path(),
            &eddy,
            &kubectl,
            settings.runs,
            settings.kubectl_max_apps,
        );
    }
    let cases = corpus_targets()?;
    let target = write_synthetic_tree(&temp.path().join("synthetic"), settings.apps)?;
    let probe = run_once(&eddy(&target))?;
    let synthetic = std::slice::from_ref(&target);
    let trivial = write_trivial_kustomization(&temp.path().join("trivial"))?;

    // (1) One process per build, as a user or a controller shelling out would see it.
    let corpus_eddy = measure_many(&cases, &eddy, settings.runs)?;
    let corpus_kubectl = measure_many(&cases, &kubectl, settings.runs)?;
    let synthetic_eddy = measure_many(synthetic, &eddy, settings.runs)?;
    let synthetic_kubectl = measure_many(synthetic, &kubectl, settings.runs)?;
    // (2) Process start-up: the median of many builds of a one-object kustomization.
    let startup_eddy = median_single(&trivial, &eddy, STARTUP_SAMPLES)?;
    let startup_kubectl = median_single(&trivial, &kubectl, STARTUP_SAMPLES)?;
    // (3) Build work only. Eddy: one process builds every directory and times itself. kubectl has
    // no such mode: its figure is the per-process time minus one start-up per build (an estimate).
    let inprocess_corpus = measure_in_process(&kbuild, &cases, settings.runs)?;
    let inprocess_synthetic = measure_in_process(&kbuild, synthetic, settings.runs)?;
    let kubectl_work = |per_process: Duration, builds: usize| {
        per_process.saturating_sub(startup_kubectl.wall * u32::try_from(builds).unwrap_or(u32::MAX))
    };

    let header = || {
        println!(
            "  {:<58} {:>11} {:>11} {:>8} {:>11} {:>11}",
            "workload", "eddy", "kubectl", "ratio", "eddy RSS", "kubectl RSS"
        );
    };
    let row = |label: &str, ours: Measurement, theirs: Measurement| {
        println!(
            "  {:<58} {:>9.1}ms {:>9.1}ms {:>7.1}x {:>8.1}MiB {:>8.1}MiB",
            label,
            ours.wall.as_secs_f64() * 1e3,
            theirs.wall.as_secs_f64() * 1e3,
            theirs.wall.as_secs_f64() / ours.wall.as_secs_f64().max(1e-9),
            ours.peak_kib as f64 / 1024.0,
            theirs.peak_kib as f64 / 1024.0,
        );
    };
    println!(
        "(1) per process: one `kbuild DIR` / `kubectl kustomize DIR` process per build, start-up included"
    );
    header();
    row(
        &format!("corpus ({} cases, sum)", cases.len()),
        corpus_eddy,
        corpus_kubectl,
    );
    row(
        &format!("synthetic ({} resources)", probe.documents),
        synthetic_eddy,
        synthetic_kubectl,
    );
    println!(
        "(2) process start-up: building a one-ConfigMap kustomization, median of {STARTUP_SAMPLES} processes"
    );
    header();
    row(
        "trivial kustomization (one build)",
        startup_eddy,
        startup_kubectl,
    );
    println!(
        "(3) build work only, start-up excluded (eddy: one process times its own builds; kubectl: (1) minus one start-up (2) per build, an estimate)"
    );
    header();
    row(
        &format!("corpus ({} cases; eddy RSS = the one process)", cases.len()),
        inprocess_corpus,
        Measurement {
            wall: kubectl_work(corpus_kubectl.wall, cases.len()),
            peak_kib: corpus_kubectl.peak_kib,
        },
    );
    row(
        &format!("synthetic ({} resources)", probe.documents),
        inprocess_synthetic,
        Measurement {
            wall: kubectl_work(synthetic_kubectl.wall, 1),
            peak_kib: synthetic_kubectl.peak_kib,
        },
    );
    println!(
        "(best of {} runs for (1) and (3); time per row is the sum over its builds, RSS the largest process)",
        settings.runs
    );
    scaling::run(
        temp.path(),
        &eddy,
        &kubectl,
        settings.runs,
        settings.kubectl_max_apps,
    )
}

/// How many processes the start-up median is taken over.
const STARTUP_SAMPLES: usize = 21;

/// The median wall time (and largest RSS) of `samples` single builds of `dir`.
fn median_single(
    dir: &Path,
    command: &dyn Fn(&Path) -> Vec<String>,
    samples: usize,
) -> anyhow::Result<Measurement> {
    let mut walls = Vec::with_capacity(samples);
    let mut peak_kib = 0;
    for _ in 0..samples.max(1) {
        let single = run_once(&command(dir))?;
        walls.push(single.wall);
        peak_kib = peak_kib.max(single.peak_kib);
    }
    walls.sort();
    Ok(Measurement {
        wall: walls[walls.len() / 2],
        peak_kib,
    })
}

/// `kbuild --time DIR...`: the builds' own time as the process reports it (best of `runs`), and
/// the peak RSS of that one process.
fn measure_in_process(kbuild: &Path, dirs: &[PathBuf], runs: usize) -> anyhow::Result<Measurement> {
    let mut best: Option<Measurement> = None;
    for _ in 0..runs.max(1) {
        let report = tempfile::NamedTempFile::new()?;
        let output = Command::new("/usr/bin/time")
            .args(["-f", "%M", "-o"])
            .arg(report.path())
            .arg(kbuild)
            .arg("--time")
            .args(dirs)
            .stderr(Stdio::null())
            .output()
            .context("cannot run kbuild --time")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let nanos: u64 = stdout
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("kbuild --time printed {stdout:?}"))?;
        let measurement = Measurement {
            wall: Duration::from_nanos(nanos),
            peak_kib: read_peak_kib(report.path())?,
        };
        if best.is_none_or(|b| measurement.wall < b.wall) {
            best = Some(measurement);
        }
    }
    best.context("no runs")
}

/// A kustomization with one ConfigMap: building it is almost only process start-up.
fn write_trivial_kustomization(root: &Path) -> anyhow::Result<PathBuf> {
    write(root, "kustomization.yaml", "resources:\n- config.yaml\n")?;
    write(
        root,
        "config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: trivial\ndata:\n  key: value\n",
    )?;
    Ok(root.to_path_buf())
}

fn read_peak_kib(report: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::read_to_string(report)?
        .lines()
        .last()
        .unwrap_or("0")
        .trim()
        .parse()
        .unwrap_or(0))
}

fn build_kbuild() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "eddy-kustomize",
            "--example",
            "kbuild",
        ])
        .current_dir(crate::workspace::root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the kbuild example failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace::root().join("target"));
    Ok(target.join("release/examples/kbuild"))
}

/// The directory each corpus case builds (`input/<target>`).
fn corpus_targets() -> anyhow::Result<Vec<PathBuf>> {
    let corpus = crate::workspace::root().join("../shared/corpus/kustomize");
    let mut targets = Vec::new();
    for entry in std::fs::read_dir(&corpus).with_context(|| corpus.display().to_string())? {
        let case = entry?.path();
        let Ok(text) = std::fs::read_to_string(case.join("case.json")) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_str(&text)?;
        let target = meta["target"].as_str().unwrap_or(".");
        targets.push(case.join("input").join(target));
    }
    targets.sort();
    Ok(targets)
}

#[derive(Clone, Copy)]
struct Measurement {
    wall: Duration,
    peak_kib: u64,
}

struct Single {
    wall: Duration,
    peak_kib: u64,
    documents: usize,
}

/// Runs `command` under GNU time; a failing build (expected for error cases) still counts.
fn run_once(command: &[String]) -> anyhow::Result<Single> {
    let report = tempfile::NamedTempFile::new()?;
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(report.path())
        .args(command)
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", command.join(" ")))?;
    let wall = started.elapsed();
    let peak_kib = read_peak_kib(report.path())?;
    let documents = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with("kind:"))
        .count();
    Ok(Single {
        wall,
        peak_kib,
        documents,
    })
}

/// Best total wall time over `runs` passes across all directories.
fn measure_many(
    dirs: &[PathBuf],
    command: &dyn Fn(&Path) -> Vec<String>,
    runs: usize,
) -> anyhow::Result<Measurement> {
    let mut best: Option<Measurement> = None;
    for _ in 0..runs.max(1) {
        let mut total = Measurement {
            wall: Duration::ZERO,
            peak_kib: 0,
        };
        for dir in dirs {
            let single = run_once(&command(dir))?;
            total.wall += single.wall;
            total.peak_kib = total.peak_kib.max(single.peak_kib);
        }
        if best.is_none_or(|b| total.wall < b.wall) {
            best = Some(total);
        }
    }
    best.context("no runs")
}

fn write(root: &Path, relative: &str, content: &str) -> anyhow::Result<()> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, content).with_context(|| path.display().to_string())
}

/// Four bases of `apps / 4` apps (Deployment, Service, ConfigMap each, plus a generated ConfigMap
/// per base) under three overlays that prefix, relabel, patch, merge generators and namespace them.
fn write_synthetic_tree(root: &Path, apps: usize) -> anyhow::Result<PathBuf> {
    const BASES: usize = 4;
    for base in 0..BASES {
        let mut documents = Vec::new();
        for app in 0..apps.div_ceil(BASES) {
            let name = format!("app-{base}-{app}");
            documents.push(format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: main\n        image: nginx:1.{app}\n        envFrom:\n        - configMapRef:\n            name: {name}-config\n        - configMapRef:\n            name: shared-{base}\n"
            ));
            documents.push(format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
            ));
            documents.push(format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\ndata:\n  index: \"{app}\"\n"
            ));
        }
        write(
            root,
            &format!("base{base}/resources.yaml"),
            &documents.join("---\n"),
        )?;
        write(
            root,
            &format!("base{base}/kustomization.yaml"),
            &format!(
                "resources:\n- resources.yaml\nconfigMapGenerator:\n- name: shared-{base}\n  literals:\n  - region=eu\n  - base={base}\n"
            ),
        )?;
    }
    let bases: String = (0..BASES).map(|b| format!("- ../base{b}\n")).collect();
    write(
        root,
        "overlay1/kustomization.yaml",
        &format!(
            "resources:\n{bases}namePrefix: team-\nlabels:\n- pairs:\n    team: platform\n  includeSelectors: true\nimages:\n- name: nginx\n  newName: mirror.local/nginx\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: any\n    spec:\n      template:\n        spec:\n          containers:\n          - name: main\n            resources:\n              limits:\n                memory: 128Mi\n"
        ),
    )?;
    write(
        root,
        "overlay2/kustomization.yaml",
        "resources:\n- ../overlay1\nnamespace: production\ncommonAnnotations:\n  owner: sre\nconfigMapGenerator:\n- name: shared-0\n  behavior: merge\n  literals:\n  - region=us\npatches:\n- target:\n    kind: Service\n  patch: |-\n    - op: add\n      path: /metadata/labels/exposed\n      value: \"true\"\n",
    )?;
    write(
        root,
        "overlay3/kustomization.yaml",
        "resources:\n- ../overlay2\nnameSuffix: -v2\nreplicas:\n- name: app-0-0\n  count: 3\nimages:\n- name: mirror.local/nginx\n  newTag: stable\n",
    )?;
    Ok(root.join("overlay3"))
}
